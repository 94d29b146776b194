"""What predict.py scores: video files, folders of videos, DFDC parts, or a labelled CSV.

Each input becomes VideoInput rows (name for the submission, path, label 0/1 or None). A folder
with a metadata.json is a DFDC part: its labels become known. A name from a metadata.json or a
CSV that would leave its folder is never opened: its row has path None, and scoring gives it the
fallback with reason "unsafe_path" (as prepare.py drops it), so one bad entry cannot stop a run.
Problems with the inputs themselves (malformed metadata, no videos) are UserErrors; problems
with one video (missing, corrupt) are left to scoring.
"""
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from datasets.preparation.dfdc import parse_entry, read_metadata_json
from datasets.videos_csv import LABEL_WORDS
from utils.errors import UserError
from utils.paths import is_safe_relative

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"}
NAME_COLUMNS = ("filename", "name", "path")  # submission format, videos CSV, samples/labels.csv


@dataclass(frozen=True)
class VideoInput:
    name: str  # the submission's filename: relative to the input folder, or the file's name
    path: Path  # None: an unsafe name, never opened
    label: int = None  # 1 = FAKE, 0 = REAL, None = unknown


def _label(value, where):
    label = LABEL_WORDS.get(str(value).strip().lower())
    if label is None:
        raise UserError(f"{where}: label {str(value)[:40]!r} is not one of 0, 1, REAL, FAKE")
    return label


def _inside(root, name):
    return None if not is_safe_relative(str(name)) else root / name


def dfdc_part(folder, prefix=""):
    """A DFDC part: every video in metadata.json (labelled), then unlisted videos (unlabelled)."""
    meta_path = folder / "metadata.json"
    rows = [VideoInput(prefix + name, _inside(folder, name), parse_entry(meta_path, name, entry)[0])
            for name, entry in read_metadata_json(meta_path).items()]
    listed = {row.path for row in rows}
    return rows + [VideoInput(prefix + p.name, p) for p in _videos_in(folder) if p not in listed]


def _videos_in(folder):
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)


def video_folder(folder):
    """A DFDC part, or the videos in a folder plus the DFDC parts directly below it."""
    if (folder / "metadata.json").is_file():
        return dfdc_part(folder)
    rows = [VideoInput(p.name, p) for p in _videos_in(folder)]
    for sub in sorted(p for p in folder.iterdir() if (p / "metadata.json").is_file()):
        rows += dfdc_part(sub, prefix=f"{sub.name}/")
    return rows


def labelled_csv(path):
    """A CSV naming videos (column filename, name or path, relative to the CSV) with optional labels."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError) as err:
        raise UserError(f"{path} is not a readable CSV ({type(err).__name__})") from None
    column = next((c for c in NAME_COLUMNS if c in df.columns), None)
    if column is None:
        raise UserError(f"{path} has no video column; name one of {', '.join(NAME_COLUMNS)}")
    labels = df["label"] if "label" in df.columns else [None] * len(df)
    return [VideoInput(name, _inside(path.parent, name), None if lab is None else _label(lab, path))
            for name, lab in zip(df[column], labels)]


def _resolved(path):
    return path and path.resolve()


def find_videos(inputs):
    """All the videos named by the inputs, in order, each once; a UserError when there are none."""
    rows = []
    for text in inputs:
        path = Path(text)
        if path.is_dir():
            rows += video_folder(path)
        elif path.suffix.lower() == ".csv" and path.is_file():
            rows += labelled_csv(path)
        elif path.name == "metadata.json" and path.is_file():
            rows += dfdc_part(path.parent)
        elif path.is_file():
            rows.append(VideoInput(path.name, path))
        else:
            raise UserError(f"input {text} does not exist; pass a video, a folder of videos, a DFDC part or a CSV")
    unique = {}
    for row in rows:
        seen = unique.setdefault(row.name, row)
        if _resolved(seen.path) != _resolved(row.path):
            raise UserError(f"two different videos are both named {row.name!r} ({seen.path} and {row.path}); score them in separate runs")
    if not unique:
        raise UserError(f"no videos found in {', '.join(map(str, inputs))} (looked for {', '.join(sorted(VIDEO_SUFFIXES))})")
    return list(unique.values())
