"""What predict.py --report adds per video: Grad-CAM, pictures and pages, against plain scoring.

  python -m benchmarks.bench_report --out /tmp/report             # the DFDC samples, untrained model
  python -m benchmarks.bench_report --checkpoint best.pth --out /tmp/report

Scores each video as predict does (datasets.preparation.video_windows, the clips' logits, their
mean P(fake)), then hands it to explain.ReportWriter. Prints seconds per video for scoring and for
the report, wall and CPU time (on a shared machine the wall clock also measures the neighbours).
Without --checkpoint the model is an UNTRAINED two-stream ResNet-18 + GRU: the pages show the
mechanics, not evidence.
"""
import json
import time
from pathlib import Path

import numpy as np
import torch

from dataclasses import asdict

from args import DataConfig, FaceConfig, ModelConfig
from datasets.preparation.video_windows import video_windows
from explain import ReportWriter, VideoRecord
from models import build_model
from predict import Detector, load_detector
from utils.cli import OneLineParser
from utils.errors import SampleError

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "dfdc"
UNTRAINED = ModelConfig(temporal="gru", embed_dim=64, hidden_size=32, input_mode="both")


def load(checkpoint):
    if checkpoint is None:
        torch.manual_seed(0)
        detector = Detector(build_model(UNTRAINED).eval(), UNTRAINED, DataConfig(num_frames=8, crop_size=64),
                            FaceConfig(n_windows=4, window_len=8, size=128), 1.0)
        return detector, dict(model="UNTRAINED " + json.dumps(asdict(UNTRAINED)), checkpoint="none (benchmark)")
    detector = load_detector(checkpoint, torch.device("cpu"))
    return detector, dict(model=detector.model.__class__.__name__, checkpoint=str(checkpoint))


def main(argv=None):
    p = OneLineParser(prog="bench_report.py", description=__doc__.split("\n\n")[0])
    p.add_argument("folder", nargs="?", default=str(SAMPLES), help="a DFDC part (metadata.json + mp4s)")
    p.add_argument("--checkpoint", help="a train.py checkpoint; default: an untrained small model")
    p.add_argument("--out", required=True, help="the report folder (replaced if it holds a report)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    detector, meta = load(args.checkpoint)
    model = detector.model
    folder = Path(args.folder)
    labels = {k: int(v.get("label") == "FAKE") for k, v in json.loads((folder / "metadata.json").read_text()).items()}
    report = ReportWriter(args.out, meta, model=model, overwrite=True)
    score_wall = score_cpu = report_wall = report_cpu = 0.0
    for name, label in sorted(labels.items()):
        w0, c0 = time.perf_counter(), time.process_time()
        try:
            windows = video_windows(folder / name, detector.faces, detector.data, "cpu")
            with torch.inference_mode():
                logits = model(torch.from_numpy(windows.clips).permute(0, 1, 4, 2, 3)).float().numpy()
            prob = float(np.mean(1 / (1 + np.exp(logits[:, 0] - logits[:, 1]))))
            record = VideoRecord.from_windows(name, prob, windows, logits, source=folder / name, label=label)
        except SampleError as err:
            record = VideoRecord.fallback(name, 0.5, err.reason, source=folder / name, label=label)
        w1, c1 = time.perf_counter(), time.process_time()
        report.add(record)
        w2, c2 = time.perf_counter(), time.process_time()
        score_wall, score_cpu = score_wall + w1 - w0, score_cpu + c1 - c0
        report_wall, report_cpu = report_wall + w2 - w1, report_cpu + c2 - c1
    w3, c3 = time.perf_counter(), time.process_time()
    index = report.close()
    report_wall, report_cpu = report_wall + time.perf_counter() - w3, report_cpu + time.process_time() - c3
    n = len(labels)
    print(f"{n} videos, {detector.faces.n_windows} windows x {detector.data.num_frames} frames at {detector.data.crop_size} px, "
          f"torch threads {torch.get_num_threads()}")
    print(f"scoring: {score_wall / n:.2f} s/video wall, {score_cpu / n:.2f} s CPU")
    print(f"report adds: {report_wall / n:.2f} s/video wall, {report_cpu / n:.2f} s CPU "
          f"({report_wall / max(score_wall, 1e-9):.2f}x scoring)")
    print(f"report: {index}")


if __name__ == "__main__":
    main()
