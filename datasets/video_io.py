"""Video probing, window sampling and frame decoding.

Frames are sampled as `n_windows` windows of `window_len` CONSECUTIVE frames spread over the clip:
frame differences (the motion stream) are only meaningful between adjacent frames.

read_frames first tries the sparse PyAV decoder (datasets/video_av.py: keyframe seeks, reference
frames only between windows, same pixels as OpenCV). Files it is unsure of are decoded here
sequentially with OpenCV: `grab()` every frame up to the last one needed and `retrieve()` (colour
convert) only the sampled ones; this path also names what is wrong with a bad file (SampleError).
Seeking with CAP_PROP_POS_FRAMES re-decodes from the previous keyframe on every seek, which is
~10x slower on DFDC's H.264 (see benchmarks/bench_prepare.py).
"""
import os
from typing import NamedTuple

import cv2
import numpy as np

from datasets.video_av import NotSparse, read_frames_sparse
from datasets.windows import sample_window_indices
from utils.errors import SampleError

MIN_SIDE = 8  # smaller frames cannot hold a face crop worth keeping


class VideoInfo(NamedTuple):
    n_frames: int
    fps: float
    width: int
    height: int


def _open(path):
    """Open a capture, or raise the SampleError that says why it cannot be opened."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise SampleError("missing", path)
    if os.path.getsize(path) == 0:
        raise SampleError("unreadable", f"{path}: zero-byte file")
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        cap.release()
        raise SampleError("unreadable", f"{path}: not a video OpenCV can open")
    return cap


def probe_video(path):
    """Header information of a video -> VideoInfo. Raises SampleError (missing/unreadable/too_small).

    n_frames is the container's claim; a truncated file may decode fewer (read_frames reports that).
    """
    cap = _open(path)
    try:
        width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        n_frames = max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0)
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    finally:
        cap.release()
    if width <= 0 or height <= 0:
        raise SampleError("unreadable", f"{path}: no video stream")
    if width < MIN_SIDE or height < MIN_SIDE:
        raise SampleError("too_small", f"{path}: {width}x{height} frames")
    if not np.isfinite(fps) or fps <= 0:
        fps = 0.0
    return VideoInfo(n_frames, fps, width, height)






def count_frames(path):
    """Number of decodable frames (a full sequential pass): the truth for truncated files."""
    cap = _open(path)
    n = 0
    try:
        while cap.grab():
            n += 1
    finally:
        cap.release()
    return n


def read_frames(path, indices, n_frames=None):
    """Frames at `indices` -> uint8 (len(indices), H, W, 3) RGB, in the order given (repeats ok).

    n_frames: the container's frame count when the caller has probed it (the sparse decoder
    checks its own count against it). Raises SampleError("unreadable") if the file cannot be
    opened or yields no frame, "too_short" if it ends before an index (callers that want
    clamping use read_windows, which re-samples over the real length).
    """
    indices = [int(i) for i in indices]
    if not indices:
        raise ValueError("read_frames needs at least one index")
    if min(indices) < 0:
        raise ValueError("negative frame index")
    if os.path.isfile(path):
        try:
            found = read_frames_sparse(path, indices, n_frames)
            return np.stack([found[j] for j in indices])
        except NotSparse:
            pass
    return read_frames_cv2(path, indices)


def read_frames_cv2(path, indices):
    """read_frames by one sequential OpenCV pass, stopping after the last needed frame."""
    wanted = set(indices)
    last = max(indices)
    found = {}
    cap = _open(path)
    try:
        i = 0
        while i <= last and cap.grab():
            if i in wanted:
                ok, bgr = cap.retrieve()
                if not ok or bgr is None:
                    raise SampleError("unreadable", f"{path}: frame {i} cannot be decoded")
                found[i] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            i += 1
    except cv2.error as err:  # a corrupt stream can make the decoder throw
        raise SampleError("unreadable", f"{path}: {str(err).strip().splitlines()[-1]}") from None
    finally:
        cap.release()
    if i == 0:
        raise SampleError("unreadable", f"{path}: no frame could be decoded")
    if len(found) < len(wanted):
        raise SampleError("too_short", f"{path}: decoded {i} frames, needed frame {last}")
    return np.stack([found[j] for j in indices])


def read_windows(path, n_windows, window_len, rng=None, min_frames=1):
    """Probe, sample windows and decode them -> (frames, indices (N,), VideoInfo).

    If the container claims more frames than it holds (truncated file), the windows are
    re-sampled over the frames that really decode, so they stay consecutive and spread.
    Fewer than `min_frames` decodable frames -> SampleError("too_short").
    """
    def pick(n_frames):
        return [i for w in sample_window_indices(n_frames, n_windows, window_len, rng) for i in w]
    frames, flat, info = read_sampled(path, pick)
    if info.n_frames < min_frames:
        raise SampleError("too_short", f"{path}: {info.n_frames} frames < {min_frames}")
    return frames, np.asarray(flat, dtype=np.int64), info


def read_sampled(path, pick):
    """Decode the frames that `pick(n_frames)` chooses -> (frames, indices, VideoInfo).

    A container that stores no frame count is counted first. One that claims more frames than
    it holds (a truncated file) is counted and `pick` chooses again over the real frames, so no
    usable video is lost.
    """
    info = probe_video(path)
    if info.n_frames <= 0:
        info = info._replace(n_frames=count_frames(path))
    indices = pick(info.n_frames)
    try:
        return read_frames(path, indices, info.n_frames), indices, info
    except SampleError as err:
        if err.reason != "too_short":
            raise
    info = info._replace(n_frames=count_frames(path))
    indices = pick(info.n_frames)
    return read_frames(path, indices), indices, info


def write_video(path, frames, fps=25.0, fourcc="mp4v"):
    """RGB uint8 frames (N,H,W,3) -> a video file (for tests and small synthetic data)."""
    frames = np.asarray(frames, dtype=np.uint8)
    height, width = frames.shape[1:3]
    writer = cv2.VideoWriter(os.fspath(path), cv2.VideoWriter_fourcc(*fourcc), float(fps),
                             (width, height))
    if not writer.isOpened():
        raise OSError(f"cannot write video {path}")
    try:
        for rgb in frames:
            writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
