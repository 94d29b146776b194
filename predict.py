"""Score videos with a trained detector, into the DFDC submission format.

    python predict.py --checkpoint checkpoints/<run>/best.pth INPUT [INPUT ...] [--out submission.csv]

INPUT: a video, a folder of videos, a DFDC part (folder with metadata.json) or a CSV naming
videos (filename/name/path column, optional label). The model and data settings come from the
checkpoint alone. Each video goes through prepare.py's face extraction into the same in-memory
face cache that prepare.py writes, and the same evaluation clips as validation
(datasets/clips.py); the windows' probabilities, at the checkpoint's calibrated temperature, are
averaged.

Writes OUT (filename,label = P(fake),reason,face_rate[,true_label]). A video that cannot be scored
(corrupt, too short, no face) gets --fallback and its reason; it never stops the run. When labels
are known it also prints the metrics and writes OUT_metrics.json, OUT_roc.png and OUT_hist.png.
A video whose listed label is unusable (bad_label, conflicting_labels) is still scored; its
true_label is empty, the reason column names the problem (after any scoring reason, joined by
";"), and it is counted in the summary line and OUT_metrics.json's skipped_labels.
"""
import json
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from args import DataConfig, FaceConfig, ModelConfig
from datasets.preparation.predict_inputs import find_videos
from datasets.preparation.video_windows import iter_video_windows
from explain import ReportWriter, VideoRecord
from models import rebuild_model
from utils.atomic import atomic_path, write_text_atomic
from utils.checkpoint import load_checkpoint, load_model_weights
from utils.cli import OneLineParser
from utils.device import resolve_device
from utils.errors import SampleError, UserError, exit_on_user_error
from utils.metrics import DEFAULT_AGGREGATION, aggregate_per_video, to_jsonable, video_metrics
from utils.plots import plot_roc, plot_score_hist, plot_timeline

BLANK_STD = 1.0  # grey levels: face crops this flat hold no picture


def build_parser():
    p = OneLineParser(prog="predict.py", description=__doc__.split("\n\n")[0])
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="video, folder of videos, DFDC part or CSV")
    p.add_argument("--checkpoint", required=True, help="a best.pth or last.pth written by train.py")
    p.add_argument("--out", default="submission.csv", help="the submission CSV to write")
    p.add_argument("--fallback", type=float, default=0.5,
                   help="P(fake) given to a video that cannot be scored (unreadable, too short, no face)")
    p.add_argument("--device", default="auto", help="auto (GPU when present), cpu, cuda or cuda:N")
    p.add_argument("--batch_size", type=int, default=8, help="clips per forward pass")
    p.add_argument("--workers", type=int, default=2,
                   help="videos decoded and searched for faces at once, ahead of the model (threads)")
    p.add_argument("--min_face_rate", type=float, default=0.5,
                   help="a scored video whose face was found in fewer of the sampled frames than this gets the "
                   "reason low_face_rate (its score stands)")
    p.add_argument("--report", metavar="DIR", help="also write an HTML report into DIR (new or empty): a page per video "
                   "with its windows' P(fake), face crops and Grad-CAM heatmaps of each stream (explain/)")
    p.add_argument("--report_pages", choices=("all", "flagged"), default="all",
                   help="pages for every video, or only for flagged ones (P(fake) >= 0.5, or not scored)")
    p.add_argument("--overwrite", action="store_true", help="let --report write over an earlier report in DIR")
    p.add_argument("--timeline", metavar="VIDEO", help="also plot P(fake) per frame of this input video")
    return p


def check_args(args):
    if not 0 <= args.fallback <= 1:
        raise UserError(f"--fallback must be a probability in [0, 1], got {args.fallback}")
    if not 0 <= args.min_face_rate <= 1:
        raise UserError(f"--min_face_rate must be in [0, 1], got {args.min_face_rate}")
    if args.workers < 1:
        raise UserError(f"--workers must be at least 1, got {args.workers}")
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
    return resolve_device(args.device)


@dataclass(frozen=True)
class Detector:
    """A checkpoint made ready to score: the model and every setting it was trained with."""
    model: torch.nn.Module
    model_config: ModelConfig
    data: DataConfig  # num_frames, crop_size of the clips
    faces: FaceConfig  # how faces are cut from a video
    temperature: float  # fitted on validation after training (1.0: uncalibrated)


def load_detector(path, device):
    """The model and clip settings of a checkpoint; nothing is taken from the command line."""
    ckpt = load_checkpoint(path)  # weights_only; UserError when missing, unsafe, not ours or too old
    config = ckpt["config"]
    model_config = ModelConfig.from_dict(config.get("model", {}), f"{path}'s model config")
    model = rebuild_model(model_config)
    load_model_weights(model, ckpt["model"], path)
    data = DataConfig.from_dict(config.get("data", {}), f"{path}'s data config")
    faces = FaceConfig.from_dict(ckpt.get("faces") or {}, f"{path}'s face config")
    temperature = float((ckpt.get("calibration") or {}).get("temperature", 1.0))
    return Detector(model.to(device).eval(), model_config, data, faces, temperature)


@torch.inference_mode()
def clip_logits(model, clips, device, batch_size, per_step=False):
    """Logits of uint8 clips (N, T, H, W, 3): (N, 2), or (N, T, 2) per time step."""
    tensor = torch.from_numpy(clips).permute(0, 1, 4, 2, 3)  # the model normalises on the device
    out = [model(tensor[i:i + batch_size].to(device), **({"per_step": True} if per_step else {}))
           for i in range(0, len(tensor), batch_size)]
    return torch.cat(out).float().cpu().numpy()


def usable(windows, faces):
    """A video must show something: frames that vary and at least one whole window (whatever the
    detector: with none, an all-black or a 2-frame video would otherwise get a confident score)."""
    if windows.n_frames < faces.window_len:
        raise SampleError("too_short", f"{windows.n_frames} decodable frames, fewer than a window of {faces.window_len}")
    if float(windows.clips.std()) < BLANK_STD:
        raise SampleError("blank", "the face crops hold no picture (a constant colour)")


def score_videos(detector, rows, device, args, timeline_row=None, report=None):
    """P(fake), reason ("" when scored normally) and face rate per video; the timeline video's
    per-frame scores. With a report (explain.ReportWriter), each video's page is written as it
    is scored: its heatmaps cost time only then."""
    probs, reasons, face_rates, timeline = [], [], [], None
    stream = iter_video_windows([row.path for row in rows], detector.faces, detector.data, device, args.workers)
    for row, (_, windows) in tqdm(zip(rows, stream), total=len(rows), desc="videos", unit="video"):
        face_rate, record = float("nan"), None
        try:
            if isinstance(windows, SampleError):
                raise windows
            clips, frames, face_rate = windows.clips, windows.frame_indices, windows.face_rate
            usable(windows, detector.faces)
            logits = clip_logits(detector.model, clips, device, args.batch_size) / detector.temperature
            probs.append(float(aggregate_per_video([0] * len(logits), logits, DEFAULT_AGGREGATION)[1][0]))
            reasons.append("low_face_rate" if face_rate < args.min_face_rate else "")
            if report is not None:
                record = VideoRecord.from_windows(row.name, probs[-1], windows, logits, source=row.path, label=row.label)
            if row is timeline_row:
                steps = clip_logits(detector.model, clips, device, args.batch_size, per_step=True) / detector.temperature
                timeline = (torch.softmax(torch.from_numpy(steps), -1)[..., 1].numpy(), frames)
        except SampleError as err:
            probs.append(args.fallback)
            reasons.append(err.reason)
        except Exception as err:  # a decoder or detector crash on one file must not lose the run
            tqdm.write(f"warning: {row.name}: {type(err).__name__}: {str(err).splitlines()[0][:120] if str(err) else ''}")
            probs.append(args.fallback)
            reasons.append("error")
        if report is not None:
            report.add(record or VideoRecord.fallback(row.name, probs[-1], reasons[-1], source=row.path, label=row.label))
        face_rates.append(face_rate)
    return probs, reasons, face_rates, timeline


def write_submission(path, rows, probs, reasons, face_rates):
    """The reason column: the scoring reason, then the label problem (bad_label, conflicting_labels)."""
    reasons = [";".join(filter(None, (reason, row.problem))) for reason, row in zip(reasons, rows)]
    table = pd.DataFrame({"filename": [r.name for r in rows], "label": probs, "reason": reasons,
                          "face_rate": np.round(face_rates, 4)})
    if any(r.label is not None or r.problem for r in rows):
        table["true_label"] = pd.array([r.label for r in rows], dtype="Int64")
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)


def report_metrics(out, rows, probs, reasons, detector, checkpoint):
    known = [i for i, r in enumerate(rows) if r.label is not None]
    if not known:
        return
    labels = np.array([rows[i].label for i in known])
    scores = np.array([probs[i] for i in known])
    metrics = video_metrics(labels, scores)
    print(f"metrics on {len(known)} labelled videos: " + ", ".join(
        f"{k} {metrics[k]:.4f}" for k in ("log_loss", "auc", "ap", "acc", "balanced_acc", "eer")))
    extra = dict(aggregation=DEFAULT_AGGREGATION, temperature=detector.temperature, checkpoint=str(checkpoint), fallback_reasons=Counter(reasons[i] for i in known if reasons[i]),
                 skipped_labels=Counter(r.problem for r in rows if r.problem))
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
    detector = load_detector(args.checkpoint, device)
    rows = find_videos(args.inputs)
    timeline_row = pick_timeline_row(rows, args.timeline)
    report = None
    if args.report:  # made before scoring: a folder it may not use fails at once
        meta = dict(checkpoint=str(args.checkpoint), model=asdict(detector.model_config), faces=asdict(detector.faces),
                    temperature=detector.temperature, fallback=args.fallback)
        report = ReportWriter(args.report, meta, model=detector.model, device=device, pages=args.report_pages,
                              overwrite=args.overwrite)
    start, cpu_start = time.perf_counter(), time.process_time()
    probs, reasons, face_rates, timeline = score_videos(detector, rows, device, args, timeline_row, report)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    out = Path(args.out)
    write_submission(out, rows, probs, reasons, face_rates)
    failed = Counter(r for r in reasons if r and r != "low_face_rate")
    skipped = Counter(r.problem for r in rows if r.problem)
    print(f"wrote {out}: {len(rows)} videos, {sum(failed.values())} scored with the fallback {args.fallback}"
          + (f" ({', '.join(f'{k}: {v}' for k, v in sorted(failed.items()))})" if failed else "")
          + (f", {sum(skipped.values())} with no usable label, left out of the metrics"
             f" ({', '.join(f'{k}: {v}' for k, v in sorted(skipped.items()))})" if skipped else ""))
    low = reasons.count("low_face_rate")
    if low:
        print(f"{low} videos had a face in fewer than {args.min_face_rate:.0%} of the sampled frames (reason low_face_rate; "
              f"their score stands, trust it less)")
    report_metrics(out, rows, probs, reasons, detector, args.checkpoint)
    if timeline is not None:
        path = plot_timeline(timeline[0], timeline[1], out.with_name(f"{out.stem}_timeline.png"), title=timeline_row.name)
        print(f"timeline of {timeline_row.name}: {path}")
    elif timeline_row is not None:
        print(f"no timeline: {timeline_row.name} could not be scored")
    if report is not None:
        print(f"report: {report.close()}")
    # CPU time too: on a shared machine the wall clock also measures the neighbours
    print(f"{seconds / len(rows):.2f} s per video ({len(rows)} videos in {seconds:.1f} s on {device}; "
          f"{cpu / len(rows):.2f} s of CPU time per video)")


def cli(argv=None):
    """main() with user errors as one line on stderr and exit status 2."""
    with exit_on_user_error():
        main(argv)


if __name__ == "__main__":
    cli()
