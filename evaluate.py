"""Score a trained detector on the test videos of prepared datasets: one table, with 95% intervals.

    python evaluate.py --checkpoint checkpoints/<run>/best.pth data/ffpp data/celebdf data/dfdc --out eval/

Each PREPARED folder is prepare.py's output. Its face cache is read through the same evaluation
clips as validation (datasets/clips.py), at the checkpoint's calibrated temperature: nothing is
decoded again and no face is detected. `--split val` scores the validation videos instead, and
`--split all` every video: for a dataset the detector never trained on (cross-dataset).
evaluate.py never chooses a checkpoint: best.pth was chosen on validation videos only, before any
test video was seen (unlike DeepfakeBench, which picks its best checkpoint on the test set).

Writes into --out: results.csv (one row per dataset and group: all, each method, each
compression (fake_kind where the method is unknown, as in DFDC); video AUC with its 95% bootstrap interval over leak-free groups, log loss with its
interval, AP, EER, balanced accuracy, ECE, frame-level AUC), results.md (the same table),
results.json, scores.csv (P(fake) per video) and roc.png (one curve per dataset).
"""
import json
from dataclasses import replace
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from datasets import read_face_config, sides
from datasets.video_dataset import VideoClipDataset, collate_clips
from datasets.videos_csv import read_videos_csv, resolve_csv
from predict import load_detector
from utils.atomic import atomic_path, write_text_atomic
from utils.cli import OneLineParser
from utils.device import resolve_device
from utils.errors import UserError, exit_on_user_error
from utils.metrics import to_jsonable
from utils.plots import plot_roc_curves
from utils.results_table import COLUMNS, dataset_rows, markdown


def build_parser():
    p = OneLineParser(prog="evaluate.py", description=__doc__.split("\n\n")[0])
    p.add_argument("prepared", nargs="+", metavar="PREPARED", help="folders written by prepare.py")
    p.add_argument("--checkpoint", required=True, help="a best.pth written by train.py (chosen on validation)")
    p.add_argument("--out", required=True, help="folder for results.csv, results.md, results.json, scores.csv, roc.png")
    p.add_argument("--split", choices=("test", "val", "all"), default="test",
                   help="which videos of each dataset to score; all: every video, for data the detector never trained on")
    p.add_argument("--uncalibrated", action="store_true",
                   help="score at temperature 1 (the raw softmax), to see what the checkpoint's calibration changed")
    p.add_argument("--batch_size", type=int, default=16, help="clips per forward pass")
    p.add_argument("--workers", type=int, default=2, help="DataLoader worker processes reading the face cache")
    p.add_argument("--n_boot", type=int, default=1000, help="bootstrap resamples for the 95%% intervals")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    p.add_argument("--device", default="auto", help="auto (GPU when present), cpu, cuda or cuda:N")
    return p


def dataset_name(root, table):
    names = sorted(set(table.get("dataset", pd.Series(dtype=str))) - {""})
    return "+".join(names) if names else Path(root).name


def videos_of(root, split):
    """The rows of one prepared dataset on `split`, with the columns the table groups by."""
    table = read_videos_csv(resolve_csv(root, "videos_df"))
    rows = table if split == "all" else table[(sides(table) == split).to_numpy()]
    rows = rows.reset_index(drop=True)
    for column in ("method", "compression", "dataset", "fake_kind"):
        if column not in rows.columns:
            rows[column] = ""
    unknown = rows["method"].isin(["", "unknown"]) & (rows["fake_kind"] != "")
    rows["method"] = rows["method"].where(~unknown, rows["fake_kind"])  # DFDC names no method; its kinds are groups
    if "group" not in rows.columns:
        rows["group"] = rows["name"]
    rows["method"] = rows["method"].where(rows["label"] == 1, "original")
    return dataset_name(root, table), rows


@torch.inference_mode()
def score(detector, root, rows, args, device):
    """P(fake) per video (mean of its windows' calibrated clip probabilities) and per frame."""
    faces = read_face_config(root)
    dataset = VideoClipDataset(root, rows, detector.data.num_frames, detector.data.crop_size, train=False,
                               n_windows=faces.get("n_windows", detector.faces.n_windows))
    loader = DataLoader(dataset, batch_size=args.batch_size, num_workers=args.workers, collate_fn=collate_clips)
    sums, counts = np.zeros(len(rows)), np.zeros(len(rows))
    frame_video, frame_prob, bad = [], [], []
    for batch in tqdm(loader, desc=f"score {Path(root).name}", leave=False):
        bad += batch["bad"]
        if not len(batch["video"]):
            continue
        clip_logits, step_logits = detector.model.scores(batch["clip"].to(device))
        clip_p = torch.softmax(clip_logits.float() / detector.temperature, -1)[:, 1].cpu().numpy()
        step_p = torch.softmax(step_logits.float() / detector.temperature, -1)[..., 1].cpu().numpy()
        videos = batch["video"].numpy()
        np.add.at(sums, videos, clip_p)
        np.add.at(counts, videos, 1)
        frame_video.append(np.repeat(videos, step_p.shape[1]))
        frame_prob.append(step_p.ravel())
    scored = counts > 0
    rows = rows.assign(prob=np.where(scored, sums / np.maximum(counts, 1), np.nan), windows=counts.astype(int))
    frame_video = np.concatenate(frame_video) if frame_video else np.zeros(0, int)
    frame_prob = np.concatenate(frame_prob) if frame_prob else np.zeros(0)
    return rows, (frame_video, frame_prob), sorted(set(bad))


def evaluate_dataset(detector, root, args, device, log):
    """(table rows, per-video scores) of one prepared dataset; a dataset with nothing to score is said, not fatal."""
    name, rows = videos_of(root, args.split)
    if rows.empty:
        log(f"{name}: no {args.split} videos in {root}; nothing to score (prepare.py writes the split column)")
        return [], None, 0.0
    start = time.perf_counter()
    videos, (fv, fp), bad = score(detector, root, rows, args, device)
    seconds = time.perf_counter() - start
    if bad:
        log(f"{name}: {len(bad)} unusable clips skipped ({', '.join(sorted({r for _, r in bad}))})")
    keep = videos["prob"].notna().to_numpy()
    if not keep.all():
        log(f"{name}: {int((~keep).sum())} videos had no usable clip and are left out of the table")
    positions = np.cumsum(keep) - 1  # frame table -> positions among the kept videos
    frames = (positions[fv], videos["label"].to_numpy()[fv], fp) if len(fv) else (fv, fv, fp)
    videos = videos[keep].reset_index(drop=True)
    labels = set(videos["label"])
    if len(labels) < 2:
        log(f"{name}: only {'REAL' if labels == {0} else 'FAKE'} videos in its {args.split} split: AUC, AP and EER "
            f"are left empty")
    return dataset_rows(name, videos, frames, args.n_boot, args.seed), videos.assign(dataset=name), seconds


def check_args(args):
    if args.batch_size < 1 or args.workers < 0 or args.n_boot < 10:
        raise UserError("--batch_size must be >= 1, --workers >= 0 and --n_boot >= 10")
    for root in args.prepared:
        if not Path(root).is_dir():
            raise UserError(f"{root} is not a folder prepared by prepare.py")
    out = Path(args.out)
    if out.is_file():
        raise UserError(f"--out {out} is a file; give a folder")
    return resolve_device(args.device)


def main(argv=None):
    args = build_parser().parse_args(argv)
    device = check_args(args)
    detector = load_detector(args.checkpoint, device)
    if args.uncalibrated:
        detector = replace(detector, temperature=1.0)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, scores, n_videos, seconds = [], [], 0, 0.0
    for root in args.prepared:
        dataset_rows_, videos, scoring = evaluate_dataset(detector, root, args, device, print)
        seconds += scoring
        rows += dataset_rows_
        if videos is not None:
            scores.append(videos)
            n_videos += len(videos)
    if not scores:
        raise UserError(f"none of {', '.join(args.prepared)} has {args.split} videos to score")
    write_outputs(out, rows, pd.concat(scores, ignore_index=True), args, detector, seconds)
    print(markdown(rows), end="")
    print(f"wrote {out / 'results.csv'}, results.md, results.json, scores.csv, roc.png; scored {n_videos} videos in "
          f"{seconds:.1f} s ({seconds / max(n_videos, 1):.3f} s per video from the face cache, bootstrap not included)")


def write_outputs(out, rows, scores, args, detector, seconds):
    table = pd.DataFrame(rows).reindex(columns=COLUMNS)
    with atomic_path(out / "results.csv") as tmp:
        table.to_csv(tmp, index=False)
    write_text_atomic(out / "results.md", markdown(rows))
    meta = dict(checkpoint=str(args.checkpoint), split=args.split, temperature=detector.temperature,
                n_boot=args.n_boot, seed=args.seed, seconds=round(seconds, 2), prepared=[str(p) for p in args.prepared])
    write_text_atomic(out / "results.json", json.dumps(to_jsonable(dict(meta, rows=rows)), indent=2))
    columns = ["dataset", "name", "label", "prob", "windows", "method", "compression", "group"]
    with atomic_path(out / "scores.csv") as tmp:
        scores[columns].to_csv(tmp, index=False)
    curves = {name: (g["label"].to_numpy(), g["prob"].to_numpy()) for name, g in scores.groupby("dataset", sort=False)}
    plot_roc_curves(curves, out / "roc.png")


def cli(argv=None):
    with exit_on_user_error():
        main(argv)


if __name__ == "__main__":
    cli()
