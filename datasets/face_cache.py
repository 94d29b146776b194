"""One file per video holding its face crops: <stem>.npz, loadable with allow_pickle=False.

Format (chosen by measurement): the N crops are JPEG-encoded (quality 95) and concatenated into
one uint8 array `jpeg` with `offsets` (N+1,), plus `boxes` float32 (N,4) x1,y1,x2,y2 (the square
crop region in source pixels), `frame_indices` int64 (N,), `fps`, `window_len`, `n_frames` (of
the source). Measured on a 1080p DFDC clip, 32 crops of 224 px: JPEG q95 0.53 MB and 15 ms to
load all 32 (4 ms for one window of 8); raw uint8 4.8 MB and 4 ms from the page cache. For ~119k
videos that is 63 GB against 570 GB, and a cold disk at 200 MB/s needs 24 ms just to read a raw
file, so JPEG is both smaller and, off the page cache, faster. q90 would save another 23% (0.41
MB) at a larger pixel error; blending artefacts are fine detail, so q95. `codec="raw"` (lossless) is still available and
load_face_cache reads both. A still face gives identical crops, hence identical JPEG bytes, so
compression never invents flicker between frames.
"""
import os
import zipfile
from typing import NamedTuple

import cv2
import numpy as np

from utils.atomic import atomic_path
from utils.errors import SampleError

JPEG_QUALITY = 95


class FaceCache(NamedTuple):
    frames: np.ndarray         # uint8 (n, S, S, 3) RGB
    boxes: np.ndarray          # float32 (n, 4) x1, y1, x2, y2 in source pixels
    frame_indices: np.ndarray  # int64 (n,) indices in the source video
    fps: float
    window_len: int
    n_windows: int


def _encode_jpegs(frames, quality):
    chunks = []
    for rgb in frames:
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
        if not ok:
            raise ValueError("JPEG encoding failed")
        chunks.append(buf.reshape(-1))
    offsets = np.cumsum([0] + [len(c) for c in chunks]).astype(np.int64)
    return np.concatenate(chunks).astype(np.uint8), offsets


def save_face_cache(path, frames, boxes, frame_indices, fps, window_len, codec="jpeg",
                    quality=JPEG_QUALITY, n_frames=-1):
    """Write one video's crops atomically (utils/atomic.py).

    n_frames (optional): the source video's frame count, kept for the CSV (read_cache_info).
    """
    frames = np.asarray(frames, dtype=np.uint8)
    n = len(frames)
    if n == 0 or n % int(window_len):
        raise ValueError(f"{n} frames is not a whole number of windows of {window_len}")
    arrays = dict(boxes=np.asarray(boxes, np.float32).reshape(n, 4),
                  frame_indices=np.asarray(frame_indices, np.int64).reshape(n),
                  fps=np.float64(fps), window_len=np.int64(window_len),
                  n_frames=np.int64(n_frames))
    if codec == "jpeg":
        arrays["jpeg"], arrays["offsets"] = _encode_jpegs(frames, quality)
    elif codec == "raw":
        arrays["frames"] = frames
    else:
        raise ValueError(f"unknown codec {codec!r}")
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


def jpeg_round_trip(frames, quality=JPEG_QUALITY):
    """The frames as the cache returns them (training read JPEG q95 crops; raw crops differ by up
    to ~60 grey levels, a small domain shift)."""
    data, offsets = _encode_jpegs(np.asarray(frames, dtype=np.uint8), quality)
    return _decode_jpegs(data, offsets, range(len(frames)))


def face_cache_in_memory(frames, boxes, frame_indices, fps, window_len):
    """The FaceCache that save_face_cache + load_face_cache would give, without a file: predict.py
    builds the same object that prepare.py writes, and hands it to the same evaluation code."""
    frames = jpeg_round_trip(frames)
    return FaceCache(frames, np.asarray(boxes, np.float32), np.asarray(frame_indices, np.int64), float(fps),
                     int(window_len), len(frames) // int(window_len))


def load_face_cache(path, windows=None):
    """Read a cache file -> FaceCache; `windows` (list of window numbers) decodes only those.

    Raises SampleError("missing") if absent, ("unreadable") if corrupt or incomplete.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise SampleError("missing", path)
    try:
        with np.load(path, allow_pickle=False) as z:
            frame_indices = z["frame_indices"]
            window_len = int(z["window_len"])
            n = len(frame_indices)
            n_windows = n // window_len
            keep = _frame_numbers(windows, n_windows, window_len)
            frames = (_decode_jpegs(z["jpeg"], z["offsets"], keep) if "jpeg" in z.files
                      else z["frames"][keep])
            return FaceCache(frames, z["boxes"][keep], frame_indices[keep], float(z["fps"]),
                             window_len, len(keep) // window_len)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, ZeroDivisionError,
            cv2.error) as err:  # cv2.error: a JPEG index pointing past the data (empty buffer)
        raise SampleError("unreadable", f"{path}: {type(err).__name__}: {err}") from None


def read_cache_info(path):
    """Cheap check that a cache file is complete -> dict(n_frames, fps, window_len, n).

    Reads only the small arrays and the JPEG index (no image decoding): used to resume.
    Raises SampleError("missing"/"unreadable").
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise SampleError("missing", path)
    try:
        with np.load(path, allow_pickle=False) as z:
            n = len(z["frame_indices"])
            window_len = int(z["window_len"])
            stored = len(z["offsets"]) - 1 if "offsets" in z.files else len(z["frames"])
            if n == 0 or n % window_len or stored != n or len(z["boxes"]) != n:
                raise ValueError("inconsistent array lengths")
            n_frames = int(z["n_frames"]) if "n_frames" in z.files else -1
            return dict(n_frames=n_frames, fps=float(z["fps"]), window_len=window_len, n=n)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise SampleError("unreadable", f"{path}: {type(err).__name__}: {err}") from None


def _frame_numbers(windows, n_windows, window_len):
    if windows is None:
        windows = range(n_windows)
    numbers = []
    for w in windows:
        if not 0 <= int(w) < n_windows:  # a caller's bug, not a bad file: not caught below
            raise IndexError(f"window {w} out of range 0..{n_windows - 1}")
        numbers.extend(range(int(w) * window_len, (int(w) + 1) * window_len))
    return np.asarray(numbers, dtype=np.int64)


def _decode_jpegs(data, offsets, keep):
    frames = []
    for i in keep:
        bgr = cv2.imdecode(data[offsets[i]:offsets[i + 1]], cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"JPEG frame {i} is corrupt")
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return np.stack(frames)
