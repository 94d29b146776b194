"""Celeb-DF (v1 and v2): its folder layout and its official test list.

  Celeb-real/idX_NNNN.mp4          REAL, celebrity X
  YouTube-real/NNNNN.mp4           REAL, a YouTube video (its own group)
  Celeb-synthesis/idX_idY_NNNN.mp4 FAKE: idX's video NNNN with idY's face
  List_of_testing_videos.txt       lines "<label> <folder>/<file>" with 1 = REAL, 0 = FAKE
                                   (the opposite of ours: 1 = FAKE)

Groups are identities: a fake idX_idY joins idX and idY (union-find). Every listed video is split
"test"; the split then moves any group holding one to test as a whole. A bad line of the list is
dropped and reported once: bad_line (not "<0|1> <path>"), unsafe_path, missing (not among the
videos), conflicting_labels (the list's label disagrees with the video's folder), duplicate.
"""
import re
from pathlib import Path

from datasets.preparation.table import (connected_groups, drop, drop_repeats,
                                        list_videos, make_table, normalise_relpath)
from utils.errors import UserError
from utils.paths import is_safe_relative

DATASET = "celebdf"
METHOD = "Celeb-synthesis"
TEST_LIST = "List_of_testing_videos.txt"
LIST_LABELS = {"1": 0, "0": 1}  # the list's 1 = REAL -> our 0 = REAL
FOLDERS = {"Celeb-real": (0, re.compile(r"^(id\d+)_\d+$")),
           "YouTube-real": (0, re.compile(r"^(\d+)$")),
           "Celeb-synthesis": (1, re.compile(r"^(id\d+)_(id\d+)_\d+$"))}


def is_celebdf(folder):
    return any((Path(folder) / name).is_dir() for name in FOLDERS)


def load_celebdf(root):
    """A Celeb-DF folder -> (table, dropped) (see datasets/preparation/table.py)."""
    root = Path(root)
    rows, dropped, links = {}, [], {}
    for folder, (label, pattern) in FOLDERS.items():
        for path in list_videos(root / folder):
            name = f"{folder}/{path.name}"
            match = pattern.match(path.stem)
            if not match:
                dropped.append(drop(name, "bad_name", f"{path.name} is not named like a {folder} video"))
                continue
            links[name] = [f"yt{g}" if folder == "YouTube-real" else g for g in match.groups()]
            original = path.name if not label else f"{match.group(1)}_{path.stem.rsplit('_', 1)[1]}.mp4"
            rows[name] = dict(name=name, file=path.name, part=folder, label=label, original=original,
                              dataset=DATASET, method=METHOD if label else "original",
                              compression="", split="", source_path=str(path.resolve()), fake_kind="")
    if not rows and not dropped:
        raise UserError(f"no videos in the Celeb-DF folders of {root} ({', '.join(FOLDERS)})")
    groups = connected_groups(links)
    for name, row in rows.items():
        row["group"] = f"{DATASET}:{groups[name]}"
    listed, list_dropped = read_test_list(root / TEST_LIST)
    for entry in list_dropped:  # listed as test with both labels: it must not be trained on either
        if entry["reason"] == "conflicting_labels":
            rows.pop(entry["name"], None)
    for entry in listed:
        row = rows.get(entry["name"])
        if row is None:
            list_dropped.append(drop(entry["name"], "missing", f"{entry['where']}: not among the videos"))
        elif row["label"] != entry["label"]:
            list_dropped.append(drop(entry["name"], "conflicting_labels", f"{entry['where']}: listed as "
                                     f"{'FAKE' if entry['label'] else 'REAL'}, but in {row['part']}/"))
            del rows[entry["name"]]  # which is right cannot be told: never train or test on it
        else:
            row["split"] = "test"
    return make_table(list(rows.values())), dropped + list_dropped


def read_test_list(path):
    """List_of_testing_videos.txt -> (entries, dropped); entries: dict(name, label, where) with our
    labels (1 = FAKE). ([], []) when there is no list."""
    path = Path(path)
    if not path.is_file():
        return [], []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"cannot read {path} ({type(err).__name__}); fix or re-download it") from None
    entries, dropped = [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"line {number} of {path.name}"
        fields = line.split()
        if len(fields) != 2 or fields[0] not in LIST_LABELS:
            dropped.append(drop(f"{path.name}:{number}", "bad_line", f"{where}: {line[:60]!r} is not "
                                f"'<1 = REAL | 0 = FAKE> <folder>/<file>'"))
        elif not is_safe_relative(fields[1]):
            dropped.append(drop(fields[1], "unsafe_path", f"{where}: {fields[1][:60]!r} leaves the folder"))
        else:
            entries.append(dict(name=normalise_relpath(fields[1]), label=LIST_LABELS[fields[0]], where=where))
    kept, repeated = drop_repeats(entries)
    return kept, dropped + repeated
