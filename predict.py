"""Score videos with a trained detector, into the DFDC submission format.

    python predict.py --checkpoint checkpoints/<run>/best.pth INPUT [INPUT ...] [--out submission.csv]

INPUT: a video, a folder of videos, a DFDC part (folder with metadata.json) or a CSV naming
videos (filename/name/path column, optional label). The model and data settings come from the
checkpoint alone. Each video goes through prepare.py's face extraction; each of its windows is
scored as a clip, and the windows are averaged as in training's evaluation.

Writes OUT (filename,label = P(fake),reason[,true_label]). A video that cannot be scored (corrupt,
too short, no face) gets --fallback and its reason; it never stops the run. When labels are
known it also prints the metrics and writes OUT_metrics.json, OUT_roc.png and OUT_hist.png.
"""
import json
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from args import OneLineParser
from datasets.face_clips import ClipSettings, video_clips
from datasets.preparation.predict_inputs import find_videos
from models import rebuild_model
from utils.atomic import atomic_path, write_text_atomic
from utils.checkpoint import load_checkpoint, load_model_weights
from utils.distributed import DistInfo, resolve_device
from utils.errors import SampleError, UserError, exit_on_user_error
from utils.metrics import DEFAULT_AGGREGATION, aggregate_per_video, to_jsonable, video_metrics
from utils.plots import plot_roc, plot_score_hist, plot_timeline


def build_parser():
    p = OneLineParser(prog="predict.py", description=__doc__.split("\n\n")[0])
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="video, folder of videos, DFDC part or CSV")
    p.add_argument("--checkpoint", required=True, help="a best.pth or last.pth written by train.py")
    p.add_argument("--out", default="submission.csv", help="the submission CSV to write")
    p.add_argument("--fallback", type=float, default=0.5,
                   help="P(fake) given to a video that cannot be scored (unreadable, too short, no face)")
    p.add_argument("--device", default="auto", help="auto (GPU when present), cpu, cuda or cuda:N")
    p.add_argument("--batch_size", type=int, default=8, help="clips per forward pass")
    p.add_argument("--timeline", metavar="VIDEO", help="also plot P(fake) per frame of this input video")
    return p


def check_args(args):
    if not 0 <= args.fallback <= 1:
        raise UserError(f"--fallback must be a probability in [0, 1], got {args.fallback}")
    if args.batch_size < 1:
        raise UserError(f"--batch_size must be at least 1, got {args.batch_size}")
    out = Path(args.out)
    try:  # fail now, not after an hour of scoring
        out.parent.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=out.parent).close()
    except OSError as err:
        raise UserError(f"cannot write --out {out} ({err.strerror or type(err).__name__}); choose a writable folder") from None
    if out.is_dir():
        raise UserError(f"--out {out} is a folder; give a file name such as {out / 'submission.csv'}")
    try:
        return resolve_device(args.device, DistInfo())
    except (RuntimeError, AssertionError) as err:
        raise UserError(f"--device {args.device} is not usable here ({str(err).splitlines()[0][:80]}); try --device cpu") from None


def load_detector(path, device):
    """The model and clip settings of a checkpoint; nothing is taken from the command line."""
    ckpt = load_checkpoint(path)  # weights_only; UserError when missing, unsafe or not ours
    try:
        model = rebuild_model(ckpt["model_config"])  # no weight file read: the checkpoint has them all
    except (TypeError, ValueError, AttributeError) as err:
        raise UserError(f"{path}: its model_config does not describe a model of this version ({err})") from None
    load_model_weights(model, ckpt["model"], path)
    data_config = dict(ckpt.get("data_config") or {})
    how = data_config.get("aggregate", DEFAULT_AGGREGATION)
    return model.to(device).eval(), ClipSettings.from_data_config(data_config), how


@torch.inference_mode()
def clip_logits(model, clips, device, batch_size, per_step=False):
    """Logits of uint8 clips (N, T, H, W, 3): (N, 2), or (N, T, 2) per time step."""
    tensor = torch.from_numpy(clips).permute(0, 1, 4, 2, 3)  # the model normalises on the device
    out = [model(tensor[i:i + batch_size].to(device), **({"per_step": True} if per_step else {}))
           for i in range(0, len(tensor), batch_size)]
    return torch.cat(out).float().cpu().numpy()


def score_videos(model, rows, settings, how, device, args, timeline_row=None):
    """P(fake) and reason ("" when scored) per video; the timeline video's per-frame scores."""
    probs, reasons, timeline = [], [], None
    for row in tqdm(rows, desc="videos", unit="video"):
        try:
            if row.path is None:
                raise SampleError("unsafe_path", row.name)
            clips, frames = video_clips(row.path, settings, device)
            logits = clip_logits(model, clips, device, args.batch_size)
            probs.append(float(aggregate_per_video([0] * len(logits), logits, how)[1][0]))
            reasons.append("")
            if row is timeline_row:
                steps = clip_logits(model, clips, device, args.batch_size, per_step=True)
                timeline = (torch.softmax(torch.from_numpy(steps), -1)[..., 1].numpy(), frames)
        except SampleError as err:
            probs.append(args.fallback)
            reasons.append(err.reason)
        except Exception as err:  # a decoder or detector crash on one file must not lose the run
            tqdm.write(f"warning: {row.name}: {type(err).__name__}: {str(err).splitlines()[0][:120] if str(err) else ''}")
            probs.append(args.fallback)
            reasons.append("error")
    return probs, reasons, timeline


def write_submission(path, rows, probs, reasons):
    table = pd.DataFrame({"filename": [r.name for r in rows], "label": probs, "reason": reasons})
    if any(r.label is not None for r in rows):
        table["true_label"] = pd.array([r.label for r in rows], dtype="Int64")
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)


def report_metrics(out, rows, probs, reasons, how, checkpoint):
    known = [i for i, r in enumerate(rows) if r.label is not None]
    if not known:
        return
    labels = np.array([rows[i].label for i in known])
    scores = np.array([probs[i] for i in known])
    metrics = video_metrics(labels, scores)
    print(f"metrics on {len(known)} labelled videos: " + ", ".join(
        f"{k} {metrics[k]:.4f}" for k in ("log_loss", "auc", "ap", "acc", "balanced_acc", "eer")))
    extra = dict(aggregation=how, checkpoint=str(checkpoint), fallback_reasons=Counter(reasons[i] for i in known if reasons[i]))
    write_text_atomic(out.with_name(out.stem + "_metrics.json"), json.dumps(to_jsonable({**metrics, **extra}), indent=2))
    plot_roc(labels, scores, out.with_name(out.stem + "_roc.png"))
    plot_score_hist(labels, scores, out.with_name(out.stem + "_hist.png"))


def pick_timeline_row(rows, wanted):
    if wanted is None:
        return None
    for row in rows:
        if wanted in (row.name, str(row.path)) or (row.path and Path(wanted).resolve() == row.path.resolve()):
            return row
    raise UserError(f"--timeline {wanted} is not one of the input videos; give its file name or path")


def main(argv=None):
    args = build_parser().parse_args(argv)
    device = check_args(args)
    model, settings, how = load_detector(args.checkpoint, device)
    rows = find_videos(args.inputs)
    timeline_row = pick_timeline_row(rows, args.timeline)
    start, cpu_start = time.perf_counter(), time.process_time()
    probs, reasons, timeline = score_videos(model, rows, settings, how, device, args, timeline_row)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    out = Path(args.out)
    write_submission(out, rows, probs, reasons)
    failed = Counter(r for r in reasons if r)
    print(f"wrote {out}: {len(rows)} videos, {sum(failed.values())} scored with the fallback {args.fallback}"
          + (f" ({', '.join(f'{k}: {v}' for k, v in sorted(failed.items()))})" if failed else ""))
    report_metrics(out, rows, probs, reasons, how, args.checkpoint)
    if timeline is not None:
        path = plot_timeline(timeline[0], timeline[1], out.with_name(f"{out.stem}_timeline.png"), title=timeline_row.name)
        print(f"timeline of {timeline_row.name}: {path}")
    elif timeline_row is not None:
        print(f"no timeline: {timeline_row.name} could not be scored")
    # CPU time too: on a shared machine the wall clock also measures the neighbours
    print(f"{seconds / len(rows):.2f} s per video ({len(rows)} videos in {seconds:.1f} s on {device}; "
          f"{cpu / len(rows):.2f} s of CPU time per video)")


def cli(argv=None):
    """main() with user errors as one line on stderr and exit status 2."""
    with exit_on_user_error():
        main(argv)


if __name__ == "__main__":
    cli()
