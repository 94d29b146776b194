"""Atomic file writes: a reader (or a crash) never sees a half-written file.

Every writer of the project goes through atomic_path: checkpoints, tables, plots, the face cache,
predict's outputs. A killed process can leave only a hidden `.<name>.*.tmp` beside the target,
which is_temp_file recognises and the next run removes.
"""
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; on success it replaces `path` in one step.

    On any failure (a full disk, an exception, Ctrl-C) the temporary file is removed and the
    previous `path`, if any, is left untouched. The file gets the user's umask, like any other
    tool's output (mkstemp alone would leave it readable by its owner only).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb") as fh:  # flush to disk before the rename makes it visible
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def is_temp_file(name):
    return name.startswith(".") and name.endswith(".tmp")


def remove_temp_files(folder, recursive=False):
    """Leftovers of killed writers in `folder` (never read as results); returns how many went."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    found = [p for p in (folder.rglob(".*.tmp") if recursive else folder.glob(".*.tmp")) if is_temp_file(p.name)]
    for tmp in found:
        tmp.unlink(missing_ok=True)
    return len(found)


def write_text_atomic(path, text):
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)


def link_atomic(source, path):
    """Make `path` a hard link to `source` (a copy where links are not possible), atomically."""
    with atomic_path(path) as tmp:
        tmp.unlink()
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)
