"""Reading and validating the videos CSV (name,label,is_valid[,split,cache_path,...]).

Reads the seed project's `videos_df` (an unnamed index column, name = fake/<id> or real/<id>)
and the superset that prepare.py writes. Anything wrong with the file is a one-line UserError.
"""
import io
from pathlib import Path

import pandas as pd

from utils.errors import UserError
from utils.paths import is_safe_relative

REQUIRED = ("name", "label", "is_valid")
LABEL_WORDS = {"0": 0, "1": 1, "real": 0, "fake": 1, "0.0": 0, "1.0": 1}
SPLITS = ("train", "val", "test")
BOOL_WORDS = {"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False}


def parse_label(value):
    """0/1, real/fake in any case -> 0 (REAL) or 1 (FAKE); None if it is none of them."""
    return LABEL_WORDS.get(str(value).strip().lower())


def resolve_csv(root_dir, csv_file):
    """The CSV path: `csv_file` inside `root_dir` (or as given), with or without '.csv'."""
    for cand in (Path(csv_file), Path(root_dir) / csv_file):
        for path in (cand, cand.with_name(cand.name + ".csv")):
            if path.is_file():
                return path
    raise UserError(f"no videos CSV {csv_file!r} in {root_dir}; make one with prepare.py or pass --csv_file")


def _parse_column(series, words, what, path):
    parsed = series.astype(str).str.strip().str.lower().map(words)
    bad = series[parsed.isna()]
    if len(bad):
        raise UserError(f"{path}: column {what!r} has {len(bad)} invalid values such as {str(bad.iloc[0])[:40]!r}; use {sorted(set(words))}")
    return parsed


def parse_videos_csv(text, path="videos CSV"):
    """Parse CSV text into a validated DataFrame with int labels and bool is_valid."""
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as err:
        raise UserError(f"{path} is not a readable CSV ({str(err).splitlines()[0][:100] if str(err) else type(err).__name__})") from None
    df = df.loc[:, [c for c in df.columns if not str(c).startswith("Unnamed:") and str(c) != ""]]
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise UserError(f"{path} lacks the column(s) {', '.join(missing)}; a videos CSV needs name,label,is_valid")
    if df.empty:
        raise UserError(f"{path} has no rows")
    df["label"] = _parse_column(df["label"], LABEL_WORDS, "label", path).astype(int)
    df["is_valid"] = _parse_column(df["is_valid"], BOOL_WORDS, "is_valid", path).astype(bool)
    if "split" in df.columns:  # prepare.py's: train/val/test, and is_valid = (split == "val")
        df["split"] = df["split"].str.strip().str.lower()
        bad = df[~df["split"].isin(SPLITS)]
        if len(bad):
            raise UserError(f"{path}: column 'split' has {len(bad)} invalid values such as {str(bad['split'].iloc[0])[:40]!r}; use {', '.join(SPLITS)}")
        wrong = df[df["is_valid"] != (df["split"] == "val")]
        if len(wrong):
            raise UserError(f"{path}: {wrong['name'].iloc[0]!r} has split {wrong['split'].iloc[0]!r} but is_valid {bool(wrong['is_valid'].iloc[0])}; is_valid must be split == 'val'")
    for col in ("name", "cache_path"):
        if col not in df.columns:
            continue
        values = df[col][df[col] != ""] if col == "cache_path" else df[col]
        unsafe = values[~values.map(is_safe_relative)]
        if len(unsafe):
            raise UserError(f"{path}: {col} {str(unsafe.iloc[0])[:60]!r} points outside the data root; paths must be relative, without '..'")
    return df.reset_index(drop=True)


def read_videos_csv(path):
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"cannot read {path} ({type(err).__name__}); check the file") from None
    return parse_videos_csv(text, path)
