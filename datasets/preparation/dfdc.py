"""DFDC: the training parts' metadata.json files, and the public test set's labels.csv.

Accepted inputs (any mix): a part folder holding metadata.json (dfdc_train_part_K/, Kaggle's
train_sample_videos/), a parent folder whose sub-folders hold them, or a metadata.json file.

Entry format: {"x.mp4": {"label": "FAKE"|"REAL", "original": "y.mp4"|null, ...}}. A missing
"original" is null; an extra "fake_kind" key is kept. A file that is not valid JSON or not a JSON
object is a UserError naming the file. One bad entry never stops a 100k-video run: it is dropped
and listed with its reason: bad_entry (not an object, or a fake_kind that is not text),
bad_label (no label, or not REAL/FAKE), bad_original (not a file name), self_original (a FAKE
made from itself), unsafe_path ("../x.mp4", "/abs.mp4": never opened), missing (absent video).

The public test set is a folder of mp4s with labels.csv (`filename,label`, 1 = FAKE): every row
is split "test", each video its own group (its originals are not published).
"""
import json
from pathlib import Path

from datasets.preparation.manifest import read_manifest
from datasets.preparation.table import (COLUMNS, drop, drop_repeats, is_file,  # noqa: F401
                                        make_table, normalise_relpath)
from utils.errors import UserError
from utils.paths import is_safe_relative

METADATA = "metadata.json"
TEST_LABELS = "labels.csv"
LABELS = {"REAL": 0, "FAKE": 1}
DATASET = "dfdc"


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


def check_entry(name, entry):
    """One metadata entry -> ((label, original or None, fake_kind), None) or (None, (reason, detail))."""
    if not isinstance(entry, dict):
        return None, ("bad_entry", f"is {type(entry).__name__}, expected an object with a label")
    label = entry.get("label")
    if not isinstance(label, str) or label.upper() not in LABELS:
        return None, ("bad_label", f"has label {str(label)[:40]!r}; expected \"REAL\" or \"FAKE\"")
    original = entry.get("original")
    if original is not None and not isinstance(original, str):
        return None, ("bad_original", f"has original {str(original)[:40]!r}; expected a file name or null")
    kind = entry.get("fake_kind", "")
    kind = "" if kind is None else kind
    if not isinstance(kind, str):
        return None, ("bad_entry", f"has fake_kind {str(kind)[:40]!r}; expected a string")
    label = LABELS[label.upper()]
    if label == 1 and original == name:
        return None, ("self_original", "is a FAKE whose original is itself")
    return (label, original or None, kind), None


def parse_entry(meta_path, name, entry):
    """Validate one entry -> (label 0/1, original or None, fake_kind). UserError if malformed."""
    values, problem = check_entry(name, entry)
    if problem:
        raise UserError(f"{meta_path}: entry {name!r} {problem[1]}")
    return values


def load_metadata(inputs):
    """Parse every metadata.json under `inputs` -> (table, dropped) (see datasets/preparation/table.py).

    REAL rows: original = their own file, group = that file; FAKE rows: original = the metadata's
    original ("" if null), group = the original, or the FAKE's own file when it has none.
    """
    rows, dropped = [], []
    for meta in find_metadata_files(inputs):
        folder, part = meta.parent, meta.parent.name
        for raw, entry in read_metadata_json(meta).items():
            file, name = raw, f"{part}/{raw}"
            values, problem = check_entry(file, entry)
            if problem:
                dropped.append(drop(name, problem[0], f"{meta}: entry {file!r} {problem[1]}"))
                continue
            label, original, kind = values
            if is_safe_relative(file):
                file, name = normalise_relpath(file), f"{part}/{normalise_relpath(file)}"
            if not is_safe_relative(file):
                dropped.append(drop(name, "unsafe_path", f"{meta}: {file!r} points outside {folder}"))
                continue
            source = folder / file
            if not is_file(source):
                dropped.append(drop(name, "missing", f"listed in {meta}, absent"))
                continue
            original = file if label == 0 else (original or "")
            rows.append(dict(where=f"{meta}: entry {raw!r}", name=name, file=file, part=part, label=label, original=original,
                             group=original or file, dataset=DATASET,
                             method="unknown" if label else "original", compression="", split="",
                             source_path=str(source), fake_kind=kind))
    rows, repeated = drop_repeats(rows)
    return make_table(rows), dropped + repeated


def is_test_set(folder):
    """A folder of videos with labels.csv (filename,label), as DFDC's public test set."""
    labels = Path(folder) / TEST_LABELS
    if not is_file(labels):
        return False
    with open(labels, encoding="utf-8", errors="replace") as fh:
        header = [c.strip().lower() for c in fh.readline().split(",")]
    return "filename" in header and "label" in header


def load_test_set(folder):
    """DFDC's public test set -> (table, dropped); every row split "test"."""
    table, dropped = read_manifest(Path(folder) / TEST_LABELS, path_column="filename",
                                   dataset=DATASET, split="test")
    table["method"] = table.label.map({0: "original", 1: "unknown"})
    return table, dropped
