"""K-fold cross-validation folders of a prepared dataset, leak-free by group (an FF++ pair).

    python -m benchmarks.cv_folds data/ffpp_c23 --folds 3 --out data/ffpp_c23_cv

Every group is the test side of exactly one fold. In each fold the other groups are split again
into train and validation (--val_fraction of them, drawn as prepare.py draws), so best.pth is
still chosen on videos that are neither trained on nor tested. Each fold folder shares the face
cache (a link): nothing is decoded again. Pooling the folds' test scores scores every video once.
"""
from pathlib import Path

import numpy as np

from benchmarks.unseen_method import write_view
from datasets.splits import _draw_groups, check_no_group_leak
from datasets.videos_csv import read_videos_csv, resolve_csv
from utils.cli import OneLineParser
from utils.errors import UserError, exit_on_user_error


def fold_of_groups(table, folds, seed):
    """{group: fold}: groups with a REAL and fake-only groups are dealt out separately, so every
    fold's test side has both classes."""
    rng = np.random.default_rng(seed)
    has_real = table.groupby("group")["label"].apply(lambda labels: bool((labels == 0).any()))
    out = {}
    for kind in (True, False):
        names = sorted(has_real.index[has_real == kind])
        for i, position in enumerate(rng.permutation(len(names))):
            out[names[position]] = i % folds
    return out


def cv_folds(root, folds, out, val_fraction=0.2, seed=0):
    """The fold folders out/fold_0 .. fold_{folds-1}; returns their paths."""
    root, out = Path(root), Path(out)
    table = read_videos_csv(resolve_csv(root, "videos_df"))
    if "group" not in table.columns:
        raise UserError(f"{root}/videos_df.csv has no group column; prepare.py writes one")
    if folds < 2 or table["group"].nunique() < 2 * folds:
        raise UserError(f"--folds {folds}: need at least 2 folds and 2 groups per fold "
                        f"({table['group'].nunique()} groups in {root})")
    fold = table["group"].map(fold_of_groups(table, folds, seed))
    rng = np.random.default_rng(seed + 1)
    paths = []
    for k in range(folds):
        rest = table[fold != k]
        sides = _draw_groups(rest.groupby("group", sort=True), val_fraction, 0.0, rng)
        split = table["group"].map(sides).where(fold != k, "test")
        view = table.assign(split=split, is_valid=split == "val")
        check_no_group_leak(view)
        write_view(root, out / f"fold_{k}", view)
        paths.append(out / f"fold_{k}")
    return paths


def main(argv=None):
    p = OneLineParser(prog="cv_folds", description=__doc__.split("\n\n")[0])
    p.add_argument("prepared", help="a folder written by prepare.py")
    p.add_argument("--folds", type=int, default=3, help="number of folds")
    p.add_argument("--out", required=True, help="the folder that receives fold_0, fold_1, ...")
    p.add_argument("--val_fraction", type=float, default=0.2, help="share of each fold's training groups for validation")
    p.add_argument("--seed", type=int, default=0, help="seed of the fold assignment and the validation draw")
    args = p.parse_args(argv)
    with exit_on_user_error():
        for path in cv_folds(args.prepared, args.folds, args.out, args.val_fraction, args.seed):
            print(path)


if __name__ == "__main__":
    main()
