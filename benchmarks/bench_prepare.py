"""Benchmark face preparation on the real DFDC samples, against a peer and the naive way.

  python -m benchmarks.bench_prepare                 # full: samples x4 copies, all cores
  python -m benchmarks.bench_prepare --peer polimi   # and polimi's extractor on the same clips
  python -m benchmarks.bench_prepare --quick         # seconds: for tests

Prints: our throughput (prepare.py as a whole process, imports and start-up included: s/video,
videos/s, CPU s/video) with all cores; with --peer, the peer's extractor as a whole process on the
same clips and cores, and the ratio; the naive way (seek to each sampled frame with
CAP_PROP_POS_FRAMES, MTCNN at full resolution) in s/video and the ratio; cache MB/video; clips/s
loading one cached window vs decoding it from mp4.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from datasets.face_cache import load_face_cache
from datasets.preparation.faces import crop_resize, detect_faces, track_main_face
from datasets.video_io import read_frames
from datasets.windows import sample_window_indices
from benchmarks import peers
from utils.cli import OneLineParser

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "samples" / "dfdc"


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


def timed(run):
    """(result, wall s, CPU s of this process and its children) of run()."""
    start, cpu = time.perf_counter(), cpu_seconds()
    result = run()
    return result, time.perf_counter() - start, cpu_seconds() - cpu


def run_prepare(part, out, n_windows, window_len, size, workers, device):
    """prepare.py as a whole process (imports included, as the peer's run includes its own)."""
    cmd = [sys.executable, "-m", "prepare", str(part), "--out", str(out), "--balance", "all",
           "--n_windows", str(n_windows), "--window_len", str(window_len), "--size", str(size),
           "--workers", str(workers)] + (["--device", device] if device else [])
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def bench_peer(name, folder, videos, work, ours, ours_cpu, device):
    """Run a peer's extractor on the same clips and print its figures and the ratio."""
    lacking = peers.missing(name, folder)
    if lacking:
        print(f"peer : {name} skipped, {folder} lacks {', '.join(lacking)} (see benchmarks/peers.py)")
        return
    meta = json.loads((Path(videos[0]).parent / "metadata.json").read_text())
    try:
        n_faces, wall, cpu = timed(lambda: peers.run_polimi(folder, videos, meta, work,
                                                            device or "cpu"))
    except subprocess.CalledProcessError as err:
        last = (err.stderr or b"").decode(errors="replace").strip().splitlines()[-1:]
        print(f"peer : {name} failed: {last[0] if last else err}")
        return
    wall, cpu = wall / len(videos), cpu / len(videos)
    print(f"peer : {name} (BlazeFace, 32 frames/video, its extract_faces.py): {len(videos)} "
          f"videos, {n_faces} faces: {wall:.2f} s/video, CPU {cpu:.2f} s/video -> ours is "
          f"{wall / ours:.2f}x faster (wall), {cpu / ours_cpu:.2f}x less CPU")


def main(argv=None):
    p = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny work, for tests")
    p.add_argument("--copies", type=int, default=4, help="links to each sample clip to prepare")
    p.add_argument("--naive_videos", type=int, default=3)
    p.add_argument("--workers", type=int, default=os.cpu_count())
    p.add_argument("--device", default=None)
    p.add_argument("--peer", choices=sorted(peers.PEER_DIRS), default=None,
                   help="also run this peer's extractor on the same clips and print the ratio")
    p.add_argument("--peer_dir", default=None, help="the peer's local copy (default: "
                   "$DFD_PEER_DIR or ../peers/<repository> next to this checkout)")
    p.add_argument("--no_naive", action="store_true", help="skip the naive way (minutes)")
    args = p.parse_args(argv)
    n_windows, window_len, size = (1, 2, 64) if args.quick else (4, 8, 224)
    copies = 1 if args.quick else args.copies
    naive_videos = 1 if args.quick else args.naive_videos

    with tempfile.TemporaryDirectory() as tmp:
        part = Path(tmp) / "dfdc_bench"
        part.mkdir()
        videos = replicate_samples(part, copies, limit=1 if args.quick else None)
        out = Path(tmp) / "out"
        _, ours, ours_cpu = timed(lambda: run_prepare(part, out, n_windows, window_len, size,
                                                      args.workers, args.device))
        ours, ours_cpu = ours / len(videos), ours_cpu / len(videos)
        report = json.loads((out / "report.json").read_text())
        assert report["n_videos"] == len(videos), report["dropped"]
        print(f"ours : {len(videos)} videos, {args.workers} workers: {ours:.2f} s/video, "
              f"{1 / ours:.2f} videos/s (wall, whole process); CPU {ours_cpu:.2f} s/video")
        if args.peer:
            bench_peer(args.peer, peers.peer_dir(args.peer, args.peer_dir), videos,
                       Path(tmp) / "peer", ours, ours_cpu, args.device)
        if not args.no_naive:
            start, cpu = time.perf_counter(), cpu_seconds()
            for path in videos[:naive_videos]:
                naive_extract(path, n_windows, window_len, size)
            naive = (time.perf_counter() - start) / naive_videos
            naive_cpu = (cpu_seconds() - cpu) / naive_videos
            print(f"naive: {naive_videos} videos, seek per frame + MTCNN at full resolution: "
                  f"{naive:.2f} s/video, CPU {naive_cpu:.2f} s/video -> ours is "
                  f"{naive / ours:.1f}x faster (wall), {naive_cpu / ours_cpu:.1f}x less CPU")
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
