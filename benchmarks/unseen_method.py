"""A prepared dataset with one manipulation method held out of training and validation.

    python -m benchmarks.unseen_method data/ffpp_c23 --method Face2Face --out data/ffpp_c23_no_f2f

The new folder shares the face cache (a link) and keeps the split: the method's videos stay only
on the test side, so evaluate.py's `method=Face2Face` row is a method the model never saw, and its
other rows are seen methods on held-out identities. Nothing is decoded again.
"""
import shutil
from pathlib import Path

from datasets import PREPARE_CONFIG, sides
from datasets.videos_csv import read_videos_csv, resolve_csv
from utils.atomic import write_text_atomic
from utils.cli import OneLineParser
from utils.errors import UserError, exit_on_user_error


def write_view(root, out, table):
    """A prepared folder at `out` whose videos_df.csv is `table`, sharing `root`'s face cache."""
    out.mkdir(parents=True, exist_ok=True)
    for name in ("faces", PREPARE_CONFIG):
        link = out / name
        if not link.exists():
            link.symlink_to((root / name).resolve())
    if (root / "report.json").is_file():
        shutil.copyfile(root / "report.json", out / "report.json")
    write_text_atomic(out / "videos_df.csv", table.to_csv(index=False))


def hold_out(root, method, out):
    root, out = Path(root), Path(out)
    table = read_videos_csv(resolve_csv(root, "videos_df"))
    if "method" not in table.columns or method not in set(table["method"]):
        raise UserError(f"{root} has no videos of method {method!r}; prepare.py writes a method column")
    drop = (table["method"] == method) & (sides(table) != "test").to_numpy()
    write_view(root, out, table[~drop])
    print(f"{out}: {int(drop.sum())} {method} videos left out of training and validation; "
          f"{int(((table['method'] == method) & (sides(table) == 'test')).sum())} stay in test")


def main(argv=None):
    p = OneLineParser(prog="unseen_method", description=__doc__.split("\n\n")[0])
    p.add_argument("prepared", help="a folder written by prepare.py")
    p.add_argument("--method", required=True, help="the manipulation to hold out, e.g. Face2Face")
    p.add_argument("--out", required=True, help="the new prepared folder")
    args = p.parse_args(argv)
    with exit_on_user_error():
        hold_out(args.prepared, args.method, args.out)


if __name__ == "__main__":
    main()
