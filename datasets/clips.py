"""The clip a model scores at evaluation: validation, evaluate.py and predict.py all call this.

A window of consecutive face crops -> its centred sub-window of `num_frames` frames -> the centre
square resized to `crop_size`. Train/predict parity is this one function, not code kept in step.
"""
import numpy as np

from datasets.clip_augment import eval_clip
from datasets.windows import sub_window


def evaluation_clip(frames, num_frames, crop_size):
    """uint8 frames (n, H, W, 3) of one window -> the evaluation clip (num_frames, crop, crop, 3)."""
    return eval_clip(frames[sub_window(len(frames), num_frames, None)], crop_size)


def evaluation_clips(cache, num_frames, crop_size):
    """Every window of a FaceCache (read from disk, or built in memory by predict) -> clips
    (windows, T, S, S, 3), with each step's source frame index (windows, T) and face crop region
    in source pixels (windows, T, 4)."""
    keep = sub_window(cache.window_len, num_frames, None)
    clips, indices, boxes = [], [], []
    for w in range(cache.n_windows):
        window = slice(w * cache.window_len, (w + 1) * cache.window_len)
        clips.append(evaluation_clip(cache.frames[window], num_frames, crop_size))
        indices.append(np.asarray(cache.frame_indices)[window][keep])
        boxes.append(np.asarray(cache.boxes, np.float32)[window][keep])
    return np.stack(clips), np.stack(indices), np.stack(boxes)
