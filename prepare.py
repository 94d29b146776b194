"""Prepare DFDC folders for training: balanced, leak-free videos CSV + face cache + report.

  python prepare.py /data/dfdc --out data/dfdc_prepared --workers 2
  python prepare.py /data/dfdc --out data/dfdc_prepared --shard 0/4   # on 4 machines/GPUs, then
  python prepare.py /data/dfdc --out data/dfdc_prepared               # writes the CSV and report

Rerunning the same command resumes. See datasets/prepare.py for the outputs.
"""
import argparse

from datasets.preparation.faces import DETECT_EVERY
from datasets.preparation.pipeline import DETECTORS, prepare_dataset
from utils.errors import exit_on_user_error
from utils.cli import OneLineParser


def parse_args(argv=None):
    p = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", help="DFDC part folders, their parent, or metadata.json files")
    p.add_argument("--out", required=True, help="output folder (CSV, faces/, report.json)")
    p.add_argument("--n_windows", type=int, default=4, help="windows of consecutive frames per video")
    p.add_argument("--window_len", type=int, default=8, help="consecutive frames per window")
    p.add_argument("--size", type=int, default=224, help="side of the stored square face crops (px)")
    p.add_argument("--face_detector", choices=DETECTORS, default="mtcnn",
                   help="none keeps the whole frame (for face-centred data)")
    p.add_argument("--center_fraction", type=float, default=1.0,
                   help="with --face_detector none: keep the centred square of this fraction of "
                   "the frame's longer side (1 = the whole frame)")
    p.add_argument("--balance", choices=["pair", "all"], default="pair",
                   help="pair: each REAL with one of its FAKEs; all: every FAKE, with class weights")
    p.add_argument("--split_by", choices=["original", "part"], default="original")
    p.add_argument("--val_fraction", type=float, default=0.2, help="share of groups for validation")
    p.add_argument("--val_parts", nargs="+", default=None, help="part folders for validation "
                   "(with --split_by part)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2, help="parallel processes")
    p.add_argument("--shard", default="0/1", help="i/n: extract only videos with index %% n == i")
    p.add_argument("--device", default=None, help="cuda or cpu (default: cuda when available)")
    p.add_argument("--min_frames", type=int, default=1,
                   help="drop videos with fewer decodable frames (shorter ones repeat frames)")
    p.add_argument("--detect_every", type=int, default=DETECT_EVERY,
                   help="run the face detector on every n-th frame of a window (folders prepared "
                   "before this flag existed used 2)")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    with exit_on_user_error():
        prepare_dataset(args.inputs, args.out, n_windows=args.n_windows,
                        window_len=args.window_len, size=args.size,
                        face_detector=args.face_detector, center_fraction=args.center_fraction,
                        balance=args.balance, split_by=args.split_by, val_fraction=args.val_fraction,
                        val_parts=args.val_parts, seed=args.seed, workers=args.workers,
                        shard=args.shard, device=args.device,
                        min_frames=args.min_frames, detect_every=args.detect_every)


if __name__ == "__main__":
    main()
