"""The original project's frame-level baseline, on fastai v2: a ResNet on single face crops.

    python nbs/train_fastai.py --root_dir data/demo --epochs 1
    python nbs/train_fastai.py --root_dir /data/dfdc_prepared --arch resnet34 --pretrained True

fastai is optional: `python -m pip install -r nbs/requirements-fastai.txt`.

It reads the videos CSV and face cache that prepare.py writes, takes --frames_per_video crops
spread over each video, and trains fastai's vision_learner on them as independent images with
fit_one_cycle. The split is the CSV's is_valid column, as in train.py (and checked the same way:
no original on both sides). A video's score is the mean of its frames' P(fake), and the metrics
are the main tool's video-level ones (utils.metrics.video_metrics), so the figures compare with
train.py's results.json. Writes SAVE_DIR/results.json, val_predictions.csv and model.pth (a plain
state_dict).
"""
import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

PROJECT_DIR = Path(__file__).resolve().parents[1]

from utils.cli import str2bool
from datasets import check_no_leak
from datasets.face_cache import load_face_cache, read_cache_info
from datasets.videos_csv import read_videos_csv, resolve_csv
from utils.errors import SampleError, UserError, exit_on_user_error
from utils.metrics import aggregate_per_video, to_jsonable, video_metrics
from utils.cli import OneLineParser

INSTALL_HINT = "train_fastai.py needs fastai: python -m pip install -r nbs/requirements-fastai.txt"
ARCHS = ("resnet18", "resnet34", "resnet50")
CLASSES = ("REAL", "FAKE")  # vocabulary order: index 1 = FAKE, as the CSV's label


def build_parser():
    p = OneLineParser(prog="train_fastai.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--root_dir", default=str(PROJECT_DIR / "data" / "demo"),
                   help="prepared data: the videos CSV and the face cache (prepare.py's output)")
    p.add_argument("--csv_file", default="videos_df", help="videos CSV inside --root_dir")
    p.add_argument("--arch", default="resnet18", choices=ARCHS, help="torchvision ResNet")
    p.add_argument("--pretrained", type=str2bool, default=False,
                   help="ImageNet weights from torchvision's cache ($TORCH_HOME/hub/checkpoints); nothing downloads")
    p.add_argument("--frames_per_video", type=int, default=8, help="face crops per video, spread over its cached frames")
    p.add_argument("--size", type=int, default=64, help="image side fed to the network, in pixels")
    p.add_argument("--epochs", type=int, default=3, help="epochs of fit_one_cycle")
    p.add_argument("--lr", type=float, default=1e-3, help="maximum learning rate of the one-cycle schedule")
    p.add_argument("--batch_size", type=int, default=64, help="images per batch")
    p.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    p.add_argument("--device", default="auto", help="auto (GPU when present), cpu or cuda")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights, the shuffling and the augmentation")
    p.add_argument("--save_dir", default=str(PROJECT_DIR / "checkpoints" / "fastai_baseline"),
                   help="where results.json, val_predictions.csv and model.pth go")
    return p


def check_args(args):
    for name in ("frames_per_video", "epochs", "batch_size"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.size < 16:
        raise UserError(f"--size must be at least 16 pixels, got {args.size}")
    if not args.lr > 0:
        raise UserError(f"--lr must be positive, got {args.lr}")
    if args.device not in ("auto", "cpu", "cuda") and not args.device.startswith("cuda:"):
        raise UserError(f"--device must be auto, cpu, cuda or cuda:N, got {args.device!r}")


def import_fastai():
    """fastai.vision.all, or exit 2 with the one line that says how to install it."""
    try:
        with warnings.catch_warnings():  # fastai's import-time torch.jit deprecation noise
            warnings.simplefilter("ignore", FutureWarning)
            import fastai.vision.all as fv
    except ImportError:
        print(INSTALL_HINT, file=sys.stderr)
        raise SystemExit(2) from None
    return fv


def read_table(root, csv_file):
    table = read_videos_csv(resolve_csv(root, csv_file))
    check_no_leak(table)  # the same refusal as train.py: validation never shares an original
    if "cache_path" not in table.columns or (table["cache_path"] == "").any():
        raise UserError(f"{root}: train_fastai.py reads the face cache; prepare the videos with prepare.py (every row needs a cache_path)")
    return table


def frame_items(table, root, frames_per_video):
    """(row, window, offset) of the frames each usable video contributes; skipped (name, reason)."""
    items, skipped = [], []
    for row, rec in enumerate(table.itertuples()):
        try:
            info = read_cache_info(Path(root) / rec.cache_path)  # cheap: no JPEG decoded
        except SampleError as err:
            skipped.append((rec.name, err.reason))
            continue
        picks = np.unique(np.linspace(0, info["n"] - 1, frames_per_video).round().astype(int))
        items += [(row, int(f) // info["window_len"], int(f) % info["window_len"]) for f in picks]
    return items, skipped


def build_dataloaders(fv, table, root, items, args):
    """fastai DataLoaders over cached crops, loaded lazily (one cached window decoded per image)."""
    caches = [Path(root) / p for p in table["cache_path"]]
    labels, valid = table["label"].to_numpy(), table["is_valid"].to_numpy()

    rows = [item[0] for item in items]

    def get_image(i):  # fastai's items are indices: its transforms would split a tuple item
        row, window, offset = items[i]
        return fv.PILImage.create(load_face_cache(caches[row], windows=[window]).frames[offset])

    block = fv.DataBlock(
        blocks=(fv.ImageBlock, fv.CategoryBlock(vocab=list(CLASSES))),
        get_x=get_image,
        get_y=lambda i: CLASSES[labels[rows[i]]],
        splitter=fv.FuncSplitter(lambda i: bool(valid[rows[i]])),
        item_tfms=fv.Resize(args.size),
        batch_tfms=fv.aug_transforms(max_rotate=10, max_warp=0),  # flips, small rotations, lighting
    )
    device = None if args.device == "auto" else fv.torch.device(args.device)
    return block.dataloaders(range(len(items)), bs=args.batch_size, num_workers=args.workers, device=device)


def require_cached_weights(arch):
    from models.encoders.resnet import cached_weights_path  # the main tool's offline rule and message
    path = cached_weights_path(arch)
    if not path.is_file():
        raise UserError(f"ImageNet weights for {arch} not found: put {path.name} in {path.parent}, or run with --pretrained False")


def video_scores(fv, learn, table, valid_items):
    """Mean frame P(fake) per validation video -> (video rows, labels, probs)."""
    logits, _ = learn.get_preds(dl=learn.dls.valid, act=fv.noop)  # raw logits, in valid_items order
    rows = [item[0] for item in valid_items]
    videos, probs = aggregate_per_video(rows, logits.float().numpy(), how="prob")
    return videos, table["label"].to_numpy()[videos], probs


def write_outputs(save_dir, fv, learn, table, videos, labels, probs, summary):
    save_dir = Path(save_dir)
    save_dir.mkdir(parents=True, exist_ok=True)
    fv.torch.save(learn.model.state_dict(), save_dir / "model.pth")  # plain state_dict, no pickled class
    table.iloc[videos][["name"]].assign(label=labels, prob_fake=probs).to_csv(save_dir / "val_predictions.csv", index=False)
    (save_dir / "results.json").write_text(json.dumps(to_jsonable(summary), indent=2) + "\n")


def main(argv=None):
    args = build_parser().parse_args(argv)
    with exit_on_user_error():
        check_args(args)
        fv = import_fastai()
        if args.pretrained:
            require_cached_weights(args.arch)
        fv.set_seed(args.seed, reproducible=True)
        table = read_table(args.root_dir, args.csv_file)
        items, skipped = frame_items(table, args.root_dir, args.frames_per_video)
        valid_items = [it for it in items if table["is_valid"].iloc[it[0]]]
        if not valid_items or len(valid_items) == len(items):
            raise UserError("train_fastai.py needs usable training and validation videos (is_valid False and True)")
        print(f"{len(items) - len(valid_items)} training and {len(valid_items)} validation frames from "
              f"{len(table) - len(skipped)} videos" + (f"; skipped {len(skipped)} unreadable caches" if skipped else ""))
        dls = build_dataloaders(fv, table, args.root_dir, items, args)
        learn = fv.vision_learner(dls, getattr(fv, args.arch), pretrained=args.pretrained, metrics=fv.accuracy)
        start = time.perf_counter()
        learn.fit_one_cycle(args.epochs, args.lr)
        seconds = time.perf_counter() - start
        videos, labels, probs = video_scores(fv, learn, table, valid_items)
        metrics = video_metrics(labels, probs)
        summary = dict(metrics=metrics, seconds=round(seconds, 1), skipped=skipped,
                       args=vars(args), n_train_frames=len(items) - len(valid_items), n_val_frames=len(valid_items))
        write_outputs(args.save_dir, fv, learn, table, videos, labels, probs, summary)
        print(f"video-level validation ({metrics['n']} videos, frame P(fake) averaged per video): " + ", ".join(
            f"{k} {metrics[k]:.4f}" for k in ("log_loss", "auc", "ap", "acc", "balanced_acc", "eer")))
        print(f"wrote {Path(args.save_dir) / 'results.json'} ({seconds:.0f} s of training)")


if __name__ == "__main__":
    main()
