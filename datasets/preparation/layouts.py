"""Which layout an input is in, and its reader: every input becomes rows of one table.

Inputs are recognised in this order (the first that fits wins; --format names one instead):
  ffpp       a folder with original_sequences/ or manipulated_sequences/      (ffpp.py)
  celebdf    a folder with Celeb-real/, Celeb-synthesis/ or YouTube-real/      (celebdf.py)
  dfdc_test  a folder with labels.csv of filename,label (DFDC's public test set) (dfdc.py)
  dfdc       metadata.json, a folder with one, or a folder of such folders     (dfdc.py)
  manifest   a .csv file: path,label[,group][,split][,method]                   (manifest.py)
DFDC training inputs are read together (a fake's original may live in another part).
"""
from pathlib import Path

import pandas as pd

from datasets.preparation import celebdf, dfdc, ffpp, manifest
from datasets.preparation.table import COLUMNS
from utils.errors import UserError

FORMATS = ("ffpp", "celebdf", "dfdc_test", "dfdc", "manifest")
# Share of groups drawn as test when the data have no official test split; DFDC's training parts
# draw none by default (DFDC's public test set is their test).
DEFAULT_TEST_FRACTION = 0.2
NO_DRAWN_TEST = ("dfdc",)


def _is_dfdc(path):
    path = Path(path)
    return ((path.is_file() and path.name == dfdc.METADATA) or (path / dfdc.METADATA).is_file()
            or (path.is_dir() and any(p.is_file() for p in path.glob(f"*/{dfdc.METADATA}"))))


def _is_manifest(path):
    return Path(path).is_file() and Path(path).suffix.lower() == ".csv"


DETECT = {"ffpp": lambda p: Path(p).is_dir() and ffpp.is_ffpp(p),
          "celebdf": lambda p: Path(p).is_dir() and celebdf.is_celebdf(p),
          "dfdc_test": lambda p: Path(p).is_dir() and dfdc.is_test_set(p),
          "dfdc": _is_dfdc,
          "manifest": _is_manifest}


def detect_layout(path):
    """The layout of one input; UserError (one line naming the layouts looked for) if none fits."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"input {path} does not exist")
    for name in FORMATS:
        if DETECT[name](path):
            return name
    raise UserError(f"{path} is in no known layout: looked for FaceForensics++ (original_sequences/), "
                    f"Celeb-DF (Celeb-real/, Celeb-synthesis/), a DFDC test set (labels.csv), DFDC parts "
                    f"(metadata.json) and a CSV manifest (path,label); pass --format to name one")


def read_inputs(inputs, fmt=None, compression="c23", methods=None):
    """Inputs -> (table, dropped, {input: layout}). Video names must be unique across inputs."""
    layouts = {str(p): fmt or detect_layout(p) for p in inputs}
    tables, dropped = [], []
    dfdc_inputs = [p for p in inputs if layouts[str(p)] == "dfdc"]
    if dfdc_inputs:
        _add(tables, dropped, dfdc.load_metadata(dfdc_inputs))
    for path in inputs:
        layout = layouts[str(path)]
        if layout == "dfdc":
            continue
        if not Path(path).exists():
            raise UserError(f"input {path} does not exist")
        if layout == "ffpp":
            _add(tables, dropped, ffpp.load_ffpp(path, compression, methods))
        elif layout == "celebdf":
            _add(tables, dropped, celebdf.load_celebdf(path))
        elif layout == "dfdc_test":
            _add(tables, dropped, dfdc.load_test_set(path))
        elif layout == "manifest":
            _add(tables, dropped, manifest.read_manifest(path))
        else:
            raise UserError(f"--format {layout!r} is not one of {', '.join(FORMATS)}")
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=COLUMNS)
    twice = table.name[table.name.duplicated()]
    if len(twice):
        raise UserError(f"two inputs both give a video named {twice.iloc[0]!r}; prepare them into "
                        f"separate --out folders")
    return table.sort_values("name", kind="stable").reset_index(drop=True), dropped, layouts


def _add(tables, dropped, result):
    tables.append(result[0])
    dropped.extend(result[1])


def drawn_test_fractions(table, test_fraction=None):
    """{dataset: share of its groups drawn as test}: none where the data have an official test
    split; else test_fraction, or by default DEFAULT_TEST_FRACTION (0 for DFDC training parts)."""
    fractions = {}
    for name, rows in table.groupby("dataset"):
        if (rows.split == "test").any():
            fractions[name] = 0.0
        elif test_fraction is not None:
            fractions[name] = float(test_fraction)
        else:
            fractions[name] = 0.0 if name in NO_DRAWN_TEST else DEFAULT_TEST_FRACTION
    return fractions
