"""Any other dataset: a CSV manifest `path,label[,group][,split][,method][,compression]`.

Paths are relative to the CSV's folder; labels are 0/1 or REAL/FAKE in any case (1 = FAKE). The
DFDC public test set (`labels.csv` of `filename,label` beside its mp4s) is read by the same code.

One bad row is dropped and listed once: unsafe_path (leaves the folder), bad_label, bad_split,
missing (file absent), conflicting_labels (the same file listed as REAL and as FAKE: every row of
it), duplicate (the same file again with the same label: the first row is kept). Spellings of one
file ('videos/x.mp4', './videos/x.mp4') are the same file. A file that is not a CSV, or lacks the
path or label column, is a UserError.
"""
from pathlib import Path

import pandas as pd

from datasets.preparation.table import (SPLIT_WORDS, drop, drop_repeats, is_file,
                                        make_table, normalise_relpath)
from datasets.videos_csv import parse_label
from utils.errors import UserError
from utils.paths import is_safe_relative


def read_csv_text(path):
    """A CSV file -> DataFrame of strings; UserError (one line) if it cannot be read as a CSV."""
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"cannot read {path} ({type(err).__name__}); check the file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as err:
        first = (str(err).splitlines() or [type(err).__name__])[0][:100]
        raise UserError(f"{path} is not a readable CSV ({first})") from None


def read_manifest(path, path_column="path", dataset=None, split=None):
    """A manifest CSV -> (table, dropped). `split` forces every row's split (the DFDC test set)."""
    path = Path(path)
    df = read_csv_text(path)
    df.columns = [str(c).strip().lower() for c in df.columns]
    missing = [c for c in (path_column, "label") if c not in df.columns]
    if missing:
        raise UserError(f"{path} lacks the column(s) {', '.join(missing)}; a manifest needs "
                        f"{path_column},label[,group][,split][,method]")
    root = path.parent.resolve()
    dataset = dataset or root.name
    dropped, candidates = [], []
    for i, row in enumerate(df.to_dict("records")):
        where = f"row {i + 2} of {path}"  # the header is line 1
        raw = str(row[path_column]).strip()
        if not is_safe_relative(raw):
            dropped.append(drop(f"{root.name}/{raw}", "unsafe_path", f"{where}: {raw!r} leaves {root}"))
            continue
        rel = normalise_relpath(raw)
        name = f"{root.name}/{rel}"
        label = parse_label(row["label"])
        if label is None:
            dropped.append(drop(name, "bad_label", f"{where}: label {str(row['label'])[:40]!r} is not "
                                f"0, 1, REAL or FAKE"))
            continue
        side = split if split is not None else str(row.get("split", "")).strip().lower()
        if side not in SPLIT_WORDS:
            dropped.append(drop(name, "bad_split", f"{where}: split {side[:20]!r} is not train, val, "
                                f"test or empty"))
            continue
        candidates.append(_row(row, rel, root, dataset, name, label, side, where))
    rows = []
    unique, repeated = drop_repeats(candidates)
    for row in unique:
        if not is_file(Path(row["source_path"])):
            dropped.append(drop(row["name"], "missing", f"{row['source_path']} is absent"))
        else:
            rows.append(row)
    return make_table(rows), dropped + repeated


def _row(row, rel, root, dataset, name, label, split, where):
    folder = str(Path(rel).parent)
    group = str(row.get("group", "")).strip()
    method = str(row.get("method", "")).strip() or ("unknown" if label else "original")
    return dict(where=where, name=name, file=Path(rel).name,
                part=root.name if folder == "." else f"{root.name}/{folder}", label=label,
                original="" if label else Path(rel).name,
                group=f"{dataset}:{group}" if group else name, dataset=dataset, method=method,
                compression=str(row.get("compression", "")).strip(), split=split,
                source_path=str(root / rel), fake_kind="")
