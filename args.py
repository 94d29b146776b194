"""Every command-line flag of train.py: its default, its help and its validation.

The defaults train the embedded demo (`python train.py` with no flags) in a few minutes on a
2-core CPU. For full DFDC, see the README: the original launch command
(`--model_name resnet152 --crop_size 224 --pretrained True ...`) is the starting point.
Edit the defaults here to change what a bare `python train.py` does.
"""
import argparse
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent
DEMO_ROOT = PROJECT_DIR / "data" / "demo"

BACKBONES = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
TEMPORAL = ("lstm", "gru", "mean")
POOLING = ("last", "mean")
INPUT_MODES = ("rgb", "diff", "both")
FUSIONS = ("two_stream", "early")
SCHEDULERS = ("none", "cosine", "step")
AMP_MODES = ("auto", "none", "bf16", "fp16")


def str2bool(value):
    """Parse true/false words; the original parsed any string, 'False' too, as True."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in ("true", "t", "yes", "y", "1", "on"):
        return True
    if word in ("false", "f", "no", "n", "0", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected True or False, got {value!r}")


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage dump) and exit with status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser():
    p = OneLineParser(
        prog="train.py",
        description="Train a ResNet+RNN video deepfake detector. With no flags it builds the "
        "embedded demo dataset under data/demo and trains on it.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    bool_flag = dict(type=str2bool, nargs="?", const=True, metavar="BOOL")

    data = p.add_argument_group("data")
    data.add_argument("--dataset", default="video",
                      help="dataset builder from the dataset selector (datasets/__init__.py)")
    data.add_argument("--root_dir", default=str(DEMO_ROOT),
                      help="data root: holds the videos CSV and the face cache (or JPEG folders, "
                      "or mp4 files) that the CSV names. The default is the demo, built on first use")
    data.add_argument("--csv_file", default="videos_df",
                      help="videos CSV inside --root_dir (name,label,is_valid,...); '.csv' may be left off")
    data.add_argument("--num_frames", type=int, default=2,
                      help="frames per clip, consecutive in the video (the original hard-coded 30)")
    data.add_argument("--crop_size", type=int, default=64, help="side of the square crop fed to the model, in pixels")
    data.add_argument("--batch_size", type=int, default=32, help="clips per batch (per process under torchrun)")
    data.add_argument("--workers", type=int, default=2, help="DataLoader worker processes (0 loads in the main process)")
    data.add_argument("--augment", **bool_flag, default=False,
                      help="clip-consistent augmentation in training (crop, flip, rotation, colour, JPEG, downscale); off for the short demo run, turn it on for real data")
    data.add_argument("--max_bad_fraction", type=float, default=0.1,
                      help="stop the run when more than this share of an epoch's samples are unusable")
    data.add_argument("--demo_seed", type=int, default=0, help="seed of the generated demo dataset")

    model = p.add_argument_group("model")
    model.add_argument("--model_name", default="resnet18", choices=BACKBONES, help="torchvision ResNet backbone")
    model.add_argument("--pretrained", **bool_flag, default=False,
                       help="start the backbone from torchvision's ImageNet weights (from $TORCH_HOME/hub/checkpoints; nothing is downloaded)")
    model.add_argument("--freeze_backbone", **bool_flag, default=False,
                       help="train only the projection, RNN and head; the frozen backbone stays in eval mode")
    model.add_argument("--encoder_init", default=None, metavar="CHECKPOINT",
                       help="initialise the backbone and projection from a checkpoint (two-stage recipe: a --temporal mean frame model first)")
    model.add_argument("--input_mode", default="both", choices=INPUT_MODES,
                       help="what the backbone sees: RGB frames, differences of consecutive frames, or both")
    model.add_argument("--fusion", default="two_stream", choices=FUSIONS,
                       help="how --input_mode both combines RGB and differences: two encoders, or one with a 6-channel first conv")
    model.add_argument("--embed_dim", type=int, default=128, help="size of the per-frame embedding fed to the RNN")
    model.add_argument("--dropout", type=float, default=0.3, help="dropout after the per-frame projection (and between stacked RNN layers)")
    model.add_argument("--temporal", default="gru", choices=TEMPORAL,
                       help="temporal model: an LSTM or GRU, or 'mean' = per-frame logits averaged (frame baseline)")
    model.add_argument("--hidden_size", type=int, default=128, help="RNN hidden size")
    model.add_argument("--num_layers", type=int, default=1, help="stacked RNN layers")
    model.add_argument("--bidirectional", **bool_flag, default=False, help="bidirectional RNN")
    model.add_argument("--pooling", default="mean", choices=POOLING, help="pooling of the RNN outputs over time")
    model.add_argument("--num_classes", type=int, default=2, help="output classes; real/fake detection needs 2")

    optim = p.add_argument_group("optimisation")
    optim.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate")
    optim.add_argument("--weight_decay", type=float, default=1e-4, help="AdamW weight decay (0 = the original's Adam)")
    optim.add_argument("--epochs", type=int, default=20, help="epochs to train")
    optim.add_argument("--scheduler", default="cosine", choices=SCHEDULERS, help="learning-rate schedule, stepped per epoch")
    optim.add_argument("--step_size", type=int, default=10, help="epochs between decays for --scheduler step")
    optim.add_argument("--gamma", type=float, default=0.1, help="decay factor for --scheduler step")
    optim.add_argument("--class_weights", default="auto", choices=("auto", "none"),
                       help="auto: weight the loss by inverse class frequency of the training rows")
    optim.add_argument("--amp", default="auto", choices=AMP_MODES,
                       help="mixed precision: auto = bf16 where the GPU or CPU has it in hardware (AVX512-BF16/AMX), else none; "
                       "bf16 works on CPU and GPU; fp16 needs a GPU and uses a GradScaler")
    optim.add_argument("--channels_last", **bool_flag, default=False, help="channels-last memory format (faster convs on GPUs)")
    optim.add_argument("--compile", **bool_flag, default=False, help="torch.compile the model")

    run = p.add_argument_group("run")
    run.add_argument("--seed", type=int, default=0, help="seed of everything random; the same seed on the CPU repeats a run exactly")
    run.add_argument("--device", default="auto", help="auto (GPU when present), cpu, cuda or cuda:N")
    run.add_argument("--resume", default=None, metavar="CHECKPOINT", help="continue a run from its last.pth (epoch_N.pth and best.pth hold weights only)")
    run.add_argument("--run_name", default=None, help="folder name under --save_model_path (default: a timestamp)")
    run.add_argument("--save_model_path", default=str(PROJECT_DIR / "checkpoints"), help="where run folders are written")
    run.add_argument("--log_interval", type=int, default=10, help="batches between training log lines")
    return p


def _check(args):
    """Return the first invalid value as a message, or None."""
    positive = ("crop_size", "batch_size", "num_frames", "embed_dim", "hidden_size", "num_layers", "epochs", "log_interval", "step_size")
    for name in positive:
        if getattr(args, name) < 1:
            return f"--{name} must be at least 1, got {getattr(args, name)}"
    if args.crop_size < 16:
        return f"--crop_size must be at least 16 pixels, got {args.crop_size}"
    if args.workers < 0:
        return f"--workers must be 0 or more, got {args.workers}"
    if not args.lr > 0:
        return f"--lr must be positive, got {args.lr}"
    if args.weight_decay < 0:
        return f"--weight_decay must be 0 or more, got {args.weight_decay}"
    if not 0 <= args.dropout < 1:
        return f"--dropout must be in [0, 1), got {args.dropout}"
    if not 0 <= args.max_bad_fraction <= 1:
        return f"--max_bad_fraction must be in [0, 1], got {args.max_bad_fraction}"
    if args.num_classes != 2:
        return f"--num_classes must be 2 (real, fake), got {args.num_classes}"
    if not (args.device in ("auto", "cpu", "cuda") or args.device.startswith("cuda:")):
        return f"--device must be auto, cpu, cuda or cuda:N, got {args.device!r}"
    if args.temporal == "mean" and args.input_mode == "diff" and args.num_frames < 2:
        return "--input_mode diff needs --num_frames of at least 2"
    if Path(args.root_dir).resolve() != DEMO_ROOT and not Path(args.root_dir).is_dir():
        return f"--root_dir {args.root_dir} is not a folder; point it at a prepared dataset (see prepare.py)"
    for flag in ("resume", "encoder_init"):
        path = getattr(args, flag)
        if path is not None and not Path(path).is_file():
            return f"--{flag} {path} does not exist"
    return None


def parse_args(argv=None):
    """Parse and validate train.py's flags; an invalid value exits with one line and status 2."""
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    problem = _check(args)
    if problem:
        parser.error(problem)
    return args


if __name__ == "__main__":
    print(parse_args())
