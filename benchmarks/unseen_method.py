"""A prepared dataset with one manipulation method held out of training and validation.

    python -m benchmarks.unseen_method data/ffpp_c23 --method Face2Face --out data/ffpp_c23_no_f2f

Every leak-free group (an FF++ pair) that has a video of the method becomes test as a whole, so
evaluate.py's `method=Face2Face` row scores a method the model never saw, on people it never saw;
the other groups keep their sides. A method made from the same pairs as another (in the 106-clip
sample, FaceSwap and Face2Face) is held out with it. The new folder shares the face cache (a
link): nothing is decoded again.
"""
import shutil
from pathlib import Path

from datasets import PREPARE_CONFIG, sides
from datasets.splits import check_no_group_leak
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
    # every group with a video of `method` becomes test as a whole: the method and the people it
    # was made from are both unseen (on a small sample, its few test-side videos alone would be
    # too few to score)
    held = table["group"].isin(set(table.loc[table["method"] == method, "group"]))
    split = sides(table).where(~held.to_numpy(), "test")
    view = table.assign(split=split, is_valid=split == "val")
    check_no_group_leak(view)
    write_view(root, out, view)
    test = view["split"] == "test"
    print(f"{out}: the {int(held.sum())} videos of the {table.loc[held, 'group'].nunique()} groups with {method} "
          f"videos are test; test has {int((test & (view['label'] == 0)).sum())} REAL and "
          f"{int((test & (view['method'] == method)).sum())} {method} videos, training and validation none of {method}")


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
