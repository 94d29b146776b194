"""predict.py --report DIR: an HTML report that opens from disk, offline.

    DIR/index.html              every video, sortable by P(fake); metrics, ROC and histogram when
                                labels are known; the model and checkpoint
    DIR/roc.png, DIR/hist.png   (labels known)
    DIR/report.json             the index as data
    DIR/videos/<slug>.html      one page per video (or per flagged video), its pictures in
    DIR/videos/<slug>/          timeline.png, w<i>_frame.jpg, w<i>_faces.png, w<i>_cam_<stream>.png

ReportWriter streams: add() makes a video's page at once (Grad-CAM included) and keeps only its
row, so predict need not hold every video's clips until the end; close() writes the index.
write_report() does all of it for a list of records.
"""
import hashlib
import json
import re
import shutil
import time
import warnings
from pathlib import Path

import numpy as np

from explain import images, pages
from explain.gradcam import STREAM_TITLES, clip_cams, overlay
from utils.atomic import write_text_atomic
from utils.errors import UserError
from utils.metrics import to_jsonable, video_metrics
from utils.plots import plot_roc, plot_score_hist, plot_timeline

PAGES = ("all", "flagged")
MARKER = "report.json"  # a folder holding it is one of our reports: overwrite may clear its pages


def slug(name):
    """A file name for a video's page: readable, safe, and unique (a hash of the full name)."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:60] or "video"
    return f"{readable}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"


def prepare_report_dir(out_dir, overwrite=False):
    """Create the report folder; a non-empty one is refused unless overwrite (a UserError)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--report {out_dir} is a file; give a folder for the report")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        if not overwrite:
            raise UserError(f"--report {out_dir} is not empty; choose a new folder, or pass --overwrite to write over it")
        if (out_dir / MARKER).is_file():  # an earlier report: drop its pages, never anyone else's files
            shutil.rmtree(out_dir / "videos", ignore_errors=True)
    try:
        (out_dir / "videos").mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"cannot write the report to {out_dir} ({err.strerror}); choose a writable folder") from None
    return out_dir


class ReportWriter:
    """Makes the report one video at a time.

    meta: what scored the videos, shown on the index (e.g. checkpoint, model config, aggregation).
    model: the FrameRNN that scored them; None draws no heatmaps. device: where Grad-CAM runs.
    top_windows: heatmaps for this many of a video's highest-P(fake) windows.
    pages: "all", or "flagged" (P(fake) >= threshold, or scored with the fallback).
    """

    def __init__(self, out_dir, meta, model=None, device="cpu", top_windows=2, pages="all",
                 threshold=0.5, overwrite=False):
        if pages not in PAGES:
            raise UserError(f"report pages must be one of {', '.join(PAGES)}, got {pages!r}")
        if top_windows < 1:
            raise UserError(f"report top windows must be at least 1, got {top_windows}")
        self.out_dir = prepare_report_dir(out_dir, overwrite)
        self.meta = dict(meta or {})
        self.model, self.device = model, device
        self.top_windows, self.pages, self.threshold = top_windows, pages, threshold
        self.rows, self.seconds = [], 0.0
        self.cam_note = ""
        if model is None:
            self.cam_note = "No model was given to the report: no heatmaps."
        elif not hasattr(getattr(model, "encoder", None), "streams"):
            self.cam_note = f"Heatmaps need a ResNet trunk per stream; {type(model).__name__} has none."
            self.model = None

    def wants_page(self, record):
        return self.pages == "all" or not record.scored or record.prob >= self.threshold

    def add(self, record):
        """Write the video's page now (when it gets one) and keep its row for the index."""
        start = time.perf_counter()
        page = None
        if self.wants_page(record):
            page = f"videos/{slug(record.name)}.html"
            self._write_page(record, self.out_dir / page)
        self.rows.append(dict(name=record.name, prob=float(record.prob), reason=record.reason, label=record.label,
                              face_rate=record.face_rate, page=page))
        self.seconds += time.perf_counter() - start

    def _write_page(self, record, path):
        folder = path.with_suffix("")
        folder.mkdir(parents=True, exist_ok=True)
        rel = lambda p: f"{folder.name}/{p.name}"
        timeline, windows, note = None, [], ""
        if record.scored:
            steps = np.repeat(np.asarray(record.window_probs, float)[:, None], record.frame_indices.shape[1], axis=1)
            timeline = rel(plot_timeline(steps, record.frame_indices, folder / "timeline.png", title=record.name))
            windows, note = self._windows(record, folder, rel)
        write_text_atomic(path, pages.video_html(record, timeline, windows, note))

    def _windows(self, record, folder, rel):
        shown, note = [], self.cam_note
        for w in record.top_windows(self.top_windows):
            clip, frames = record.clips[w], record.frame_indices[w]
            mid = len(frames) // 2
            frame = images.read_frame(record.source, frames[mid]) if record.source else None
            shown.append(dict(
                title=f"Window {w + 1} of {len(record.clips)}: frames {frames[0]}-{frames[-1]}, P(fake) {record.window_probs[w]:.3f}",
                frame=rel(images.write_image(folder / f"w{w}_frame.jpg", images.frame_with_box(frame, record.boxes[w][mid])))
                if frame is not None and record.boxes is not None else None,
                faces=rel(images.write_image(folder / f"w{w}_faces.png", images.strip(clip))),
                cams=[]))
            if self.model is None:
                continue
            try:
                cams = clip_cams(self.model, clip, self.device)
            except Exception as err:  # one video's heatmap failing must not lose the report
                warnings.warn(f"Grad-CAM failed on {record.name}: {type(err).__name__}: {err}")
                note = f"Grad-CAM failed on this video ({type(err).__name__}); the crops are shown without heatmaps."
                continue
            for stream, cam in cams.items():
                picture = images.strip([overlay(c, h) for c, h in zip(clip, cam)])
                shown[-1]["cams"].append((STREAM_TITLES.get(stream, stream),
                                          rel(images.write_image(folder / f"w{w}_cam_{stream}.png", picture))))
        return shown, note

    def close(self, metrics=None):
        """Write the index (with metrics and plots when labels are known); returns its path."""
        start = time.perf_counter()
        known = [r for r in self.rows if r["label"] is not None]
        plots = []
        if known:
            labels = np.array([r["label"] for r in known])
            probs = np.array([r["prob"] for r in known])
            if metrics is None:
                metrics = video_metrics(labels, probs)
            plot_roc(labels, probs, self.out_dir / "roc.png")
            plot_score_hist(labels, probs, self.out_dir / "hist.png")
            plots = [("roc.png", "ROC curve"), ("hist.png", "P(fake) histogram per class")]
        metrics = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in to_jsonable(metrics or {}).items()}
        self.seconds += time.perf_counter() - start
        per_video = self.seconds / max(len(self.rows), 1)
        notes = [f"Report made in {self.seconds:.1f} s beyond scoring ({per_video:.2f} s per video: heatmaps, pictures, pages)."]
        if self.pages == "flagged":
            notes.append(f"Pages only for flagged videos: P(fake) >= {self.threshold} or not scored.")
        write_text_atomic(self.out_dir / MARKER, json.dumps(to_jsonable(dict(
            meta=self.meta, metrics=metrics, videos=self.rows, seconds=round(self.seconds, 3))), indent=2, default=str))
        index = self.out_dir / "index.html"
        write_text_atomic(index, pages.index_html(self.rows, self.meta, metrics, plots, notes))
        return index


def write_report(out_dir, videos, meta, metrics=None, overwrite=False, model=None, device="cpu",
                 top_windows=2, pages="all", threshold=0.5):
    """The whole report for a list of VideoRecords; returns index.html's path."""
    report = ReportWriter(out_dir, meta, model=model, device=device, top_windows=top_windows, pages=pages,
                          threshold=threshold, overwrite=overwrite)
    for record in videos:
        report.add(record)
    return report.close(metrics)
