"""The one table every layout reader returns, and the helpers the readers share.

A reader turns an input (a folder in a known layout, or a CSV manifest) into
(table, dropped): `table` has COLUMNS, one row per usable video; `dropped` lists the items it
skipped, each once, as dict(name, reason, detail). A problem with the whole input (an unreadable
file, a wrong layout) is a UserError instead.

Columns:
  name         unique id of the video in the prepared set: "<part>/<file>"
  file, part   the file name and its folder relative to the input root (the cache goes to
               faces/<part>/<stem>.npz)
  label        1 = FAKE, 0 = REAL
  original     REAL: its own file; FAKE: the file of the video it was made from ("" if unknown)
  group        leak-free group: every video of a group lands on the same side of the split
  dataset      dfdc, ffpp, celebdf, or the manifest's folder name
  method       the manipulation, "original" for a REAL, "unknown" for a FAKE of unknown method
  compression  raw/c23/c40 where the source has one, else ""
  split        train/val/test from an official list or the manifest; "" = drawn by the seed
  source_path  absolute path of the video
  fake_kind    DFDC metadata's fake_kind (the demo's); "" elsewhere
"""
import os
from pathlib import PurePosixPath

import pandas as pd

COLUMNS = ["name", "file", "part", "label", "original", "group", "dataset", "method", "compression",
           "split", "source_path", "fake_kind"]
SPLIT_WORDS = ("", "train", "val", "test")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")


def make_table(rows):
    """Rows (dicts with COLUMNS) -> the table, sorted by name."""
    table = pd.DataFrame(rows, columns=COLUMNS)
    table["label"] = table["label"].astype(int)
    return table.sort_values("name", kind="stable").reset_index(drop=True)


def drop(name, reason, detail):
    return dict(name=str(name), reason=reason, detail=str(detail))


def drop_repeats(rows):
    """Rows that name one video twice (under any spelling) -> (kept rows, dropped).

    Each row carries `where` (the line or entry it came from, for the report). The same label
    again: the first row is kept, the others dropped as "duplicate"; different labels: every row
    of that video is dropped as "conflicting_labels" (which one is right cannot be told).
    """
    by_name = {}
    for row in rows:
        by_name.setdefault(row["name"], []).append(row)
    kept, dropped = [], []
    for name, listed in by_name.items():
        first = listed[0]
        if len({r["label"] for r in listed}) > 1:
            dropped.extend(drop(name, "conflicting_labels", f"{r['where']}: listed both as REAL and as FAKE")
                           for r in listed)
            continue
        dropped.extend(drop(name, "duplicate", f"{r['where']}: listed again (kept {first['where']})")
                       for r in listed[1:])
        kept.append(first)
    return kept, dropped


def normalise_relpath(text):
    """One spelling per file: 'videos/x.mp4', './videos/x.mp4' and 'videos//x.mp4' are the same."""
    return str(PurePosixPath(os.path.normpath(str(text).strip().replace("\\", "/"))))


def is_file(path):
    try:
        return path.is_file()
    except (OSError, ValueError):  # e.g. a name too long for the file system
        return False


def list_videos(folder):
    """Video files directly in `folder`, sorted by name ([] if it is not a folder)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES and is_file(p))


def connected_groups(links):
    """Union-find: links = {item: [ids]} -> {item: smallest id of its connected component}.

    Two items are in one group when they share an id, directly or through other items (an FF++
    pair NNN_MMM joins NNN and MMM; a Celeb-DF fake idX_idY joins both identities).
    """
    parent = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for ids in links.values():
        for other in ids[1:]:
            a, b = find(ids[0]), find(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return {item: find(ids[0]) for item, ids in links.items()}
