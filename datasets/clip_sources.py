"""Where a CSV row's frames come from: the face cache, a folder of face-crop JPEGs, or an mp4.

Each reader returns uint8 frames (n, H, W, 3), RGB, of consecutive frames of one window (the whole
cached window, or `num_frames` frames of a JPEG folder or mp4), or raises SampleError. The cache is the fast path; JPEG folders are the seed project's
format; mp4 files are decoded directly (whole frames, no face detection) for quick experiments.
"""
import re
from pathlib import Path

import cv2
import numpy as np

from datasets.face_cache import load_face_cache
from datasets.video_io import read_sampled
from datasets.windows import sample_window_indices, window_start
from utils.errors import SampleError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}
FRAME_INDEX = re.compile(r"_(\d+)$")




def frames_from_cache(path, window):
    """All the frames of one cached window; the dataset picks the clip's frames from them."""
    try:
        cache = load_face_cache(path, windows=[window])
    except IndexError:  # a file with fewer windows than the dataset's setting: use its first
        cache = load_face_cache(path, windows=[0])
    return cache.frames


def _frame_order(path):
    match = FRAME_INDEX.search(path.stem)
    return (int(match.group(1)) if match else -1, path.name)


def list_frame_images(folder):
    files = sorted((p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=_frame_order)
    if not files:
        raise SampleError("missing", f"no face-crop images in {folder}")
    return files




def frames_from_images(folder, window, n_windows, num_frames, rng):
    files = list_frame_images(folder)
    if rng is not None:
        start = int(rng.integers(0, max(1, len(files) - num_frames + 1)))
    else:
        start = window_start(len(files), n_windows, window, num_frames)
    picked = [files[min(i, len(files) - 1)] for i in range(start, start + num_frames)]
    frames = []
    for f in picked:
        img = cv2.imread(str(f), cv2.IMREAD_COLOR)
        if img is None:
            raise SampleError("bad_image", f"cannot decode {f.name}")
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        if frames and img.shape != frames[0].shape:  # crops of one video may differ in size
            img = cv2.resize(img, frames[0].shape[1::-1], interpolation=cv2.INTER_AREA)
        frames.append(img)
    return np.stack(frames)


def _video_window(n_frames, window, n_windows, num_frames, rng):
    if rng is not None:
        return sample_window_indices(n_frames, 1, num_frames, rng)[0]
    return sample_window_indices(n_frames, n_windows, num_frames)[window]


def frames_from_video(path, window, n_windows, num_frames, rng):
    frames, _, _ = read_sampled(path, lambda n_frames: _video_window(n_frames, window, n_windows, num_frames, rng))
    return frames
