"""The one rule for names read from a CSV or a metadata file: they must stay inside their folder."""
from pathlib import PurePosixPath


def is_safe_relative(path_text):
    """True for a relative path that stays inside its root: not empty, not absolute, no '..', no
    drive letter, no NUL byte (Windows separators count as separators)."""
    text = str(path_text).replace("\\", "/")
    if not text or "\0" in text:
        return False
    p = PurePosixPath(text)
    return not p.is_absolute() and ".." not in p.parts and ":" not in p.parts[0]
