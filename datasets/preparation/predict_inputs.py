"""What predict.py scores: video files, folders of videos, DFDC parts, or a labelled CSV.

Each input becomes VideoInput rows (name for the submission, path, label 0/1 or None). A folder
with a metadata.json is a DFDC part: its labels become known. A name from a metadata.json or a
CSV that would leave its folder is never opened: its row has path None, and scoring gives it the
fallback with reason "unsafe_path" (as prepare.py drops it), so one bad entry cannot stop a run.
Problems with the inputs themselves (malformed metadata, no videos, a CSV none of whose videos
exist) are UserErrors; problems with one video (missing, corrupt) are left to scoring.

A bad label on one row (a CSV label other than 0/1/REAL/FAKE, empty or NaN included; a metadata
entry with no label, a label such as "MAYBE", or that is not an object) does not stop the run:
the video is still scored, its label is unknown (left out of the metrics) and its `problem` is
"bad_label", which predict.py lists in the reason column and counts. One file named twice (by
two rows, two spellings such as "./videos/x.mp4", or two inputs) is one row; if its labels
disagree, its label is unknown and its problem "conflicting_labels".

prepare.py's own videos CSV (it has both cache_path and source_path) is read through its
absolute source_path column; in any other CSV, names are relative to the CSV's folder.
"""
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from datasets.preparation.dfdc import read_metadata_json
from datasets.preparation.table import is_file, normalise_relpath
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
    problem: str = ""  # why a listed label is unknown: "bad_label" or "conflicting_labels"


def _labelled(name, path, value):
    """A row with the label word `value`: None = no label given; a bad word = unknown, bad_label."""
    if value is None:
        return VideoInput(name, path)
    label = LABEL_WORDS.get(str(value).strip().lower())
    return VideoInput(name, path, label, "" if label is not None else "bad_label")


def _entry_label(entry):
    """A metadata entry's label word, or "" when it has none (predict needs no other key)."""
    label = entry.get("label") if isinstance(entry, dict) else None
    return label if isinstance(label, str) and label.upper() in ("REAL", "FAKE") else ""


def _inside(root, name):
    return None if not is_safe_relative(str(name)) else root / name


def _safe_name(name):
    """One spelling per file: a safe relative name normalised; an unsafe one kept as written."""
    return normalise_relpath(name) if is_safe_relative(str(name)) else name


def dfdc_part(folder, prefix=""):
    """A DFDC part: every video in metadata.json (labelled), then unlisted videos (unlabelled)."""
    meta_path = folder / "metadata.json"
    rows = [_labelled(prefix + name, _inside(folder, name), _entry_label(entry))
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
    names = [_safe_name(name) for name in df[column]]
    if {"cache_path", "source_path"} <= set(df.columns):  # prepare.py's CSV: its absolute paths are trusted
        paths = [Path(src) if os.path.isabs(src) else _inside(path.parent, _safe_name(src or name))
                 for name, src in zip(names, df["source_path"])]
    else:
        paths = [_inside(path.parent, name) for name in names]
    rows = [_labelled(name, p, lab) for name, p, lab in zip(names, paths, labels)]
    if rows and not any(r.path is not None and is_file(r.path) for r in rows):
        unsafe = sum(r.path is None for r in rows)
        raise UserError(f"none of the {len(rows)} videos in {path} exist"
                        + (f" ({unsafe} named outside its folder, never opened)" if unsafe else "")
                        + f"; names in its {column} column are read relative to {path.parent.resolve()}")
    return rows


def _resolved(path):
    return path and path.resolve()


def _merge(first, again):
    """One file named twice -> one row; labels that disagree make it unknown (conflicting_labels)."""
    known = {r.label for r in (first, again) if r.label is not None}
    if len(known) > 1 or "conflicting_labels" in (first.problem, again.problem):
        return VideoInput(first.name, first.path, None, "conflicting_labels")
    if known:
        return VideoInput(first.name, first.path, known.pop())
    return VideoInput(first.name, first.path, None, first.problem or again.problem)


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
    unique, key_of_name = {}, {}  # a file's absolute path (or an unsafe name) -> its row
    for row in rows:
        key = key_of_name.get(row.name)
        if key is not None and _resolved(unique[key].path) != _resolved(row.path):
            seen = unique[key]
            raise UserError(f"two different videos are both named {row.name!r} ({seen.path} and {row.path}); score them in separate runs")
        key = key or (os.path.abspath(row.path) if row.path is not None else ("unsafe", row.name))
        unique[key] = _merge(unique[key], row) if key in unique else row
        key_of_name.setdefault(row.name, key)
    if not unique:
        raise UserError(f"no videos found in {', '.join(map(str, inputs))} (looked for {', '.join(sorted(VIDEO_SUFFIXES))})")
    return list(unique.values())
