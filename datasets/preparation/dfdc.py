"""Read DFDC metadata.json files into one table of videos.

Accepted inputs (any mix): a part folder holding metadata.json (dfdc_train_part_K/, Kaggle's
train_sample_videos/), a parent folder whose sub-folders hold them, or a metadata.json file.

Entry format: {"x.mp4": {"label": "FAKE"|"REAL", "original": "y.mp4"|null, ...}}. A missing
"original" is null; an extra "fake_kind" key is kept. A file that is not valid JSON or not of this
shape is a UserError naming the file. Entries whose video is absent are dropped with reason
"missing"; names that would leave the folder ("../x.mp4", "/abs.mp4") are dropped with reason
"unsafe_path" (never opened), so one bad entry cannot stop a 100k-video run; both are listed in
the report.
"""
import json
import os
from pathlib import Path

import pandas as pd

from utils.errors import UserError

METADATA = "metadata.json"
LABELS = {"REAL": 0, "FAKE": 1}
COLUMNS = ["name", "file", "part", "label", "original", "fake_kind", "source_path"]


def find_metadata_files(inputs):
    """Input paths -> sorted list of metadata.json paths. UserError if an input holds none."""
    found = []
    for item in inputs:
        path = Path(item)
        if path.is_file() and path.name == METADATA:
            found.append(path)
        elif (path / METADATA).is_file():
            found.append(path / METADATA)
        elif path.is_dir():
            subs = sorted(p for p in path.glob(f"*/{METADATA}") if p.is_file())
            if not subs:
                raise UserError(f"no {METADATA} in {path} or its sub-folders: pass DFDC part "
                                f"folders (dfdc_train_part_K) or the folder that holds them")
            found.extend(subs)
        else:
            raise UserError(f"input {path} does not exist: pass DFDC part folders or their parent")
    parts = {}
    for meta in found:
        part = meta.parent.resolve()
        if part.name in parts and parts[part.name] != part:
            raise UserError(f"two input folders are named {part.name!r} ({parts[part.name]} and "
                            f"{part}): part folder names must be unique")
        parts[part.name] = part
    return sorted({m.resolve() for m in found}, key=lambda m: (m.parent.name, str(m)))


def read_metadata_json(path):
    """Parse one metadata.json -> dict name -> entry dict. UserError (one line) if malformed."""
    try:
        data = json.loads(Path(path).read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise UserError(f"{path}: malformed JSON ({_one_line(err)}); fix or re-download it") from None
    except OSError as err:
        raise UserError(f"{path}: cannot be read ({err.strerror}); check the permissions") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object of video entries, got "
                        f"{type(data).__name__}; fix or re-download it")
    return data


def _one_line(err):
    return " ".join(str(err).split())


def is_unsafe_name(name):
    """True if a metadata name could point outside its folder (absolute, '..', drive, NUL)."""
    norm = os.path.normpath(name.replace("\\", "/"))
    return (name == "" or "\0" in name or os.path.isabs(norm) or norm == ".."
            or norm.startswith("../") or (len(name) > 1 and name[1] == ":"))


def parse_entry(meta_path, name, entry):
    """Validate one entry -> (label 0/1, original or None, fake_kind). UserError if malformed."""
    where = f"{meta_path}: entry {name!r}"
    if not isinstance(entry, dict):
        raise UserError(f"{where} is {type(entry).__name__}, expected an object with a label")
    label = entry.get("label")
    if not isinstance(label, str) or label.upper() not in LABELS:
        raise UserError(f"{where} has label {label!r}; expected \"REAL\" or \"FAKE\"")
    original = entry.get("original")
    if original is not None and not isinstance(original, str):
        raise UserError(f"{where} has original {original!r}; expected a file name or null")
    kind = entry.get("fake_kind", "")
    if kind is None:
        kind = ""
    if not isinstance(kind, str):
        raise UserError(f"{where} has fake_kind {kind!r}; expected a string")
    return LABELS[label.upper()], (original or None), kind


def _is_file(path):
    try:
        return path.is_file()
    except (OSError, ValueError):  # e.g. a name too long for the file system
        return False


def load_metadata(inputs):
    """Parse every metadata.json under `inputs` -> (table DataFrame, dropped list).

    table columns: name ("<part>/<file>"), file, part, label (1=FAKE, 0=REAL), original (REAL rows:
    their own file; FAKE rows: the metadata's original, "" if null), fake_kind, source_path
    (absolute). Sorted by name. dropped: dicts(name, reason, detail) for missing/unsafe entries.
    """
    rows, dropped = [], []
    for meta in find_metadata_files(inputs):
        folder, part = meta.parent, meta.parent.name
        for file, entry in read_metadata_json(meta).items():
            label, original, kind = parse_entry(meta, file, entry)
            name = f"{part}/{file}"
            if is_unsafe_name(file):
                dropped.append(dict(name=name, reason="unsafe_path",
                                    detail=f"{meta}: {file!r} points outside {folder}"))
                continue
            source = folder / file
            if not _is_file(source):
                dropped.append(dict(name=name, reason="missing", detail=f"listed in {meta}, absent"))
                continue
            rows.append(dict(name=name, file=file, part=part, label=label,
                             original=file if label == 0 else (original or ""),
                             fake_kind=kind, source_path=str(source)))
    table = pd.DataFrame(rows, columns=COLUMNS)
    table = table.drop_duplicates("name").sort_values("name", kind="stable").reset_index(drop=True)
    return table, dropped
