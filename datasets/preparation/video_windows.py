"""A new video -> the clips a trained model scores, exactly as its validation saw them.

prepare.py's face extraction (the checkpoint's FaceConfig), the in-memory face cache that
prepare.py would have written (JPEG round trip included), and the evaluation clips of
datasets/clips.py: predict.py, its --report and the benchmarks all come through here.
"""
from typing import NamedTuple

import numpy as np

from datasets.clips import evaluation_clips
from datasets.face_cache import face_cache_in_memory
from datasets.preparation.faces import extract_faces
from datasets.preparation.stream import iter_extract_faces
from utils.errors import SampleError


class VideoWindows(NamedTuple):
    clips: np.ndarray          # uint8 (windows, T, S, S, 3) RGB, what the model scores
    frame_indices: np.ndarray  # int64 (windows, T) source frame of each clip step
    boxes: np.ndarray          # float32 (windows, T, 4) face crop region in source pixels (x1, y1, x2, y2)
    face_rate: float           # share of the frames run through the detector with the face
    n_frames: int              # decodable frames of the source video


def extract_kwargs(faces, device="cpu"):
    """extract_faces's keyword arguments for a FaceConfig (its n_windows and window_len go first)."""
    return dict(size=faces.size, detector=faces.face_detector, device=device, min_frames=faces.min_frames,
                center_fraction=faces.center_fraction, detect_every=faces.detect_every)


def windows_from_crops(crops, data):
    """FaceCrops of one video -> its VideoWindows, sized by `data` (DataConfig: num_frames, crop_size)."""
    cache = face_cache_in_memory(crops.frames, crops.boxes, crops.frame_indices, crops.fps, crops.window_len)
    clips, indices, boxes = evaluation_clips(cache, data.num_frames, data.crop_size)
    return VideoWindows(clips, indices, boxes, float(crops.face_rate), int(crops.n_frames))


def video_windows(path, faces, data, device="cpu"):
    """The evaluation clips of one video, cut with `faces` (FaceConfig). Raises SampleError for a
    video that cannot be used."""
    crops = extract_faces(path, faces.n_windows, faces.window_len, **extract_kwargs(faces, device))
    return windows_from_crops(crops, data)


def iter_video_windows(paths, faces, data, device="cpu", workers=None):
    """(index, VideoWindows or SampleError) for each path, in order, decoding and detecting the next
    videos while the caller scores this one. A None path (a name that would leave its folder) is
    never opened: it yields SampleError("unsafe_path")."""
    real = [(i, p) for i, p in enumerate(paths) if p is not None]
    unsafe = {i for i, p in enumerate(paths) if p is None}
    stream = iter_extract_faces([p for _, p in real], faces.n_windows, faces.window_len, workers=workers,
                                **extract_kwargs(faces, device))
    results = ((real[j][0], r) for j, r in stream)
    for index in range(len(paths)):
        if index in unsafe:
            yield index, SampleError("unsafe_path", "the name leaves its folder; never opened")
            continue
        _, crops = next(results)
        yield index, crops if isinstance(crops, SampleError) else windows_from_crops(crops, data)
