"""args.py: defaults, the original launch command, booleans, and one-line errors for bad values."""
import subprocess
import sys
from pathlib import Path

import pytest

from args import DEMO_ROOT, parse_args

PROJECT = Path(__file__).resolve().parents[1]
ORIGINAL = ("--batch_size 16 --crop_size 224 --csv_file videos_df --dataset video --dropout 0.3 --embed_dim 512 "
            "--epochs 50 --log_interval 10 --lr 0.001 --model_name resnet152 --num_classes 2 --pretrained True --workers 4").split()


def test_defaults_train_the_demo():
    args = parse_args([])
    assert Path(args.root_dir).resolve() == DEMO_ROOT
    assert args.dataset == "video" and args.pretrained is False


def test_original_launch_command_parses():
    args = parse_args(ORIGINAL)
    assert (args.batch_size, args.crop_size, args.csv_file, args.model_name) == (16, 224, "videos_df", "resnet152")
    assert args.pretrained is True and args.epochs == 50 and args.workers == 4 and args.lr == 0.001


@pytest.mark.parametrize("word,value", [("True", True), ("False", False), ("false", False), ("0", False), ("yes", True)])
def test_pretrained_false_means_false(word, value):
    assert parse_args(["--pretrained", word]).pretrained is value


def test_bare_boolean_flag_means_true():
    assert parse_args(["--bidirectional"]).bidirectional is True


@pytest.mark.parametrize("argv,needle", [
    (["--crop_size", "0"], "--crop_size"),
    (["--model_name", "resnet7"], "resnet7"),
    (["--lr", "-0.1"], "--lr"),
    (["--root_dir", "/no/such/folder"], "/no/such/folder"),
    (["--pretrained", "maybe"], "maybe"),
    (["--dropout", "1.5"], "--dropout"),
    (["--num_classes", "3"], "--num_classes"),
    (["--resume", "/no/such.pth"], "/no/such.pth"),
])
def test_bad_values_exit_2_with_one_line(argv, needle):
    proc = subprocess.run([sys.executable, "train.py", *argv], cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in proc.stderr


def test_help_lists_groups():
    out = subprocess.run([sys.executable, "train.py", "--help"], cwd=PROJECT, capture_output=True, text=True, timeout=120).stdout
    for group in ("data:", "model:", "optimisation:", "run:"):
        assert group in out
