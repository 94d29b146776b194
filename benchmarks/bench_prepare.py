"""Benchmark face preparation on the real DFDC samples, against the naive way.

  python benchmarks/bench_prepare.py            # full: samples x4 copies, all cores
  python benchmarks/bench_prepare.py --quick    # seconds: for tests

Prints: our throughput (s/video, videos/s, wall time incl. worker start-up) with all cores; the
naive way (seek to each sampled frame with CAP_PROP_POS_FRAMES, MTCNN at full resolution) in
s/video and the ratio; cache MB/video; clips/s loading one cached window vs decoding it from mp4.
"""
import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from datasets.face_cache import load_face_cache
from datasets.preparation.faces import crop_resize, detect_faces, track_main_face
from datasets.preparation.pipeline import prepare_dataset
from datasets.video_io import read_frames
from datasets.windows import sample_window_indices
from utils.cli import OneLineParser

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "dfdc"


def replicate_samples(folder, copies, limit=None):
    """A part folder with `copies` links to each sample clip (more videos than workers)."""
    meta = json.loads((SAMPLES / "metadata.json").read_text())
    meta = dict(sorted(meta.items())[:limit])
    out = {}
    for k in range(copies):
        for file, entry in meta.items():
            name = f"c{k}_{file}"
            os.symlink(SAMPLES / file, folder / name)
            out[name] = {**entry, "original": None if entry["label"] == "REAL" else f"c{k}_{entry['original']}"}
    (folder / "metadata.json").write_text(json.dumps(out))
    return sorted(folder / f for f in out)


def naive_extract(path, n_windows, window_len, size):
    """The slow way: a seek per sampled frame, MTCNN at full resolution, one crop per detection."""
    cap = cv2.VideoCapture(str(path))
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    frames = []
    for i in (i for w in sample_window_indices(n, n_windows, window_len) for i in w):
        cap.set(cv2.CAP_PROP_POS_FRAMES, i)
        ok, bgr = cap.read()
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    boxes = track_main_face(detect_faces(np.stack(frames), scale=1.0, min_face_size=20))
    return [crop_resize(f, b, size) for f, b in zip(frames, boxes) if not np.isnan(b[0])]


def time_window_loads(out_dir, csv_rows, window_len, repeats):
    """clips/s: one window from the cache vs decoding the same frames from the mp4 and cropping."""
    jobs = [(out_dir / r["cache_path"], r["source_path"], w) for r in csv_rows
            for w in range(int(r["n_windows"]))][:repeats]
    start = time.perf_counter()
    for cache, _, w in jobs:
        load_face_cache(cache, windows=[w])
    cached = len(jobs) / (time.perf_counter() - start)
    start = time.perf_counter()
    for cache, source, w in jobs:
        c = load_face_cache(cache, windows=[w])
        frames = read_frames(source, c.frame_indices)
        [crop_resize(f, b, c.frames.shape[1]) for f, b in zip(frames, c.boxes)]
    decoded = len(jobs) / (time.perf_counter() - start)
    return cached, decoded


def cpu_seconds():
    """CPU time of this process and its finished children (pool workers)."""
    return sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))


def main(argv=None):
    p = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny work, for tests")
    p.add_argument("--copies", type=int, default=4, help="links to each sample clip to prepare")
    p.add_argument("--naive_videos", type=int, default=3)
    p.add_argument("--workers", type=int, default=os.cpu_count())
    p.add_argument("--device", default=None)
    args = p.parse_args(argv)
    n_windows, window_len, size = (1, 2, 64) if args.quick else (4, 8, 224)
    copies = 1 if args.quick else args.copies
    naive_videos = 1 if args.quick else args.naive_videos

    with tempfile.TemporaryDirectory() as tmp:
        part = Path(tmp) / "dfdc_bench"
        part.mkdir()
        videos = replicate_samples(part, copies, limit=1 if args.quick else None)
        out = Path(tmp) / "out"
        start, cpu = time.perf_counter(), cpu_seconds()
        report = prepare_dataset([part], out, n_windows=n_windows, window_len=window_len, size=size,
                                 balance="all", workers=args.workers, device=args.device, verbose=False)
        ours = (time.perf_counter() - start) / len(videos)
        ours_cpu = (cpu_seconds() - cpu) / len(videos)
        assert report["n_videos"] == len(videos), report["dropped"]
        print(f"ours : {len(videos)} videos, {args.workers} workers: {ours:.2f} s/video, "
              f"{1 / ours:.2f} videos/s (wall, incl. worker start-up); "
              f"CPU {ours_cpu:.2f} s/video")

        start, cpu = time.perf_counter(), cpu_seconds()
        for path in videos[:naive_videos]:
            naive_extract(path, n_windows, window_len, size)
        naive = (time.perf_counter() - start) / naive_videos
        naive_cpu = (cpu_seconds() - cpu) / naive_videos
        print(f"naive: {naive_videos} videos, seek per frame + MTCNN at full resolution: "
              f"{naive:.2f} s/video, CPU {naive_cpu:.2f} s/video -> ours is {naive / ours:.1f}x "
              f"faster (wall), {naive_cpu / ours_cpu:.1f}x less CPU")
        print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
              f"(other processes inflate wall times; CPU times are not)")

        caches = sorted(out.glob("faces/*/*.npz"))
        print(f"cache: {np.mean([c.stat().st_size for c in caches]) / 1e6:.2f} MB/video "
              f"({n_windows * window_len} crops of {size}px, JPEG q95 in .npz)")
        import pandas as pd
        rows = pd.read_csv(out / "videos_df.csv").assign(n_windows=n_windows).to_dict("records")
        cached, decoded = time_window_loads(out, rows, window_len, 4 if args.quick else 24)
        print(f"load : one {window_len}-frame clip: {cached:.1f} clips/s from the cache, "
              f"{decoded:.2f} clips/s decoding the mp4 ({cached / decoded:.0f}x)")


if __name__ == "__main__":
    main()
