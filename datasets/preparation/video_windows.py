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


class VideoWindows(NamedTuple):
    clips: np.ndarray          # uint8 (windows, T, S, S, 3) RGB, what the model scores
    frame_indices: np.ndarray  # int64 (windows, T) source frame of each clip step
    boxes: np.ndarray          # float32 (windows, T, 4) face crop region in source pixels (x1, y1, x2, y2)
    face_rate: float           # share of the frames run through the detector with the face
    n_frames: int              # decodable frames of the source video


def video_windows(path, faces, data, device="cpu"):
    """The evaluation clips of one video, cut with `faces` (FaceConfig) and sized by `data`
    (DataConfig: num_frames, crop_size). Raises SampleError for a video that cannot be used."""
    crops = extract_faces(path, faces.n_windows, faces.window_len, size=faces.size, detector=faces.face_detector,
                          device=device, min_frames=faces.min_frames, center_fraction=faces.center_fraction)
    cache = face_cache_in_memory(crops.frames, crops.boxes, crops.frame_indices, crops.fps, crops.window_len)
    clips, indices, boxes = evaluation_clips(cache, data.num_frames, data.crop_size)
    return VideoWindows(clips, indices, boxes, float(crops.face_rate), int(crops.n_frames))
