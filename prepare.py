"""Prepare videos for training: a leak-free videos CSV + face cache + report, from any layout.

  python prepare.py /data/FaceForensics++ --out data/ffpp            # FF++ c23, every method
  python prepare.py /data/Celeb-DF-v2 --out data/celebdf             # official test list kept
  python prepare.py /data/dfdc --out data/dfdc --workers 2           # DFDC parts (their parent)
  python prepare.py /data/dfdc_test --out data/dfdc_test             # DFDC public test set
  python prepare.py my_videos.csv --out data/mine                    # path,label[,group][,split]
  python prepare.py /data/dfdc --out data/dfdc --shard 0/4           # on 4 machines/GPUs, then
  python prepare.py /data/dfdc --out data/dfdc                       # writes the CSV and report

Each input's layout is recognised (--format names it instead). Rerunning the same command
resumes. See datasets/preparation/pipeline.py for the outputs.
"""
import argparse

from args import FaceConfig, PrepareConfig, add_flags, section_values
from utils.cli import OneLineParser
from utils.errors import UserError, exit_on_user_error


def build_parser():
    p = OneLineParser(prog="prepare.py", description=__doc__,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", help="dataset folders (FF++, Celeb-DF, DFDC parts or their "
                   "parent, a DFDC test set), metadata.json files or CSV manifests")
    p.add_argument("--out", required=True, help="output folder (CSV, faces/, report.json)")
    add_flags(p, FaceConfig, "faces (pinned per --out folder)")
    add_flags(p, PrepareConfig, "inputs, split and run")
    return p


def parse_args(argv=None):
    """-> (inputs, out, FaceConfig, PrepareConfig); a bad value is one line and exit status 2."""
    parser = build_parser()
    ns = parser.parse_args(argv)
    try:
        face = FaceConfig(**section_values(ns, FaceConfig))
        prep = PrepareConfig(**section_values(ns, PrepareConfig))
    except UserError as err:
        parser.error(str(err))
    return ns.inputs, ns.out, face, prep


def main(argv=None):
    inputs, out, face, prep = parse_args(argv)
    with exit_on_user_error():
        from datasets.preparation.pipeline import run_prepare  # torch: after the flags are checked
        run_prepare(inputs, out, face, prep)


if __name__ == "__main__":
    main()
