"""Why a video was called fake: Grad-CAM heatmaps and the HTML report of predict.py --report.

    record = VideoRecord.from_windows(name, prob, windows, window_logits, source=path, label=...)
    write_report(out_dir, [record, ...], meta, model=model)        # all at once, or streaming:
    report = ReportWriter(out_dir, meta, model=model); report.add(record); report.close()

Nothing here runs unless a report is asked for: plain scoring never pays for the heatmaps.
"""
from .record import VideoRecord
from .report import ReportWriter, write_report

__all__ = ["VideoRecord", "ReportWriter", "write_report"]
