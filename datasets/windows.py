"""Which frames a clip is made of: every window choice of the project lives here.

Preparation decodes `n_windows` windows of `window_len` CONSECUTIVE frames spread over a video
(frame differences, the motion stream, only mean something between adjacent frames); training
draws a random sub-window of `num_frames` from one cached window, evaluation (validation,
evaluate.py, predict.py) takes the centred one of every window.
"""
import numpy as np


def window_starts(n_frames, n_windows, window_len):
    """Deterministic start frames of `n_windows` windows spread evenly over `n_frames`.

    The first window starts at 0 and the last ends at the last frame; windows overlap only when
    the video is shorter than n_windows * window_len.
    """
    last_start = max(n_frames - window_len, 0)
    if n_windows == 1:
        return [last_start // 2]
    return [int(round(i * last_start / (n_windows - 1))) for i in range(n_windows)]


def sample_window_indices(n_frames, n_windows, window_len, rng=None):
    """n_windows lists of window_len consecutive frame indices spread over the video.

    rng (np.random.Generator) jitters each start within its share of the clip (training).
    A video shorter than window_len repeats its last frame (indices clamped): documented choice,
    such a clip is still usable; only a video with no readable frame is a bad sample.
    """
    if n_windows < 1 or window_len < 1:
        raise ValueError("n_windows and window_len must be >= 1")
    n_frames = max(int(n_frames), 1)
    starts = window_starts(n_frames, n_windows, window_len)
    if rng is not None:
        last_start = max(n_frames - window_len, 0)
        slack = last_start // n_windows  # jitter stays inside the window's share: order is kept
        starts = [min(s + int(rng.integers(-slack, slack + 1)), last_start) if slack else s
                  for s in starts]
        starts = [max(s, 0) for s in starts]
    return [[min(s + k, n_frames - 1) for k in range(window_len)] for s in starts]


def sub_window(n_available, num_frames, rng):
    """Indices of `num_frames` consecutive positions in a window of `n_available`.

    Training (rng given) picks a random start; evaluation takes the centred one. A window that
    is too short repeats its last frame.
    """
    spare = n_available - num_frames
    if spare <= 0:
        return np.minimum(np.arange(num_frames), n_available - 1)
    start = int(rng.integers(0, spare + 1)) if rng is not None else spare // 2
    return np.arange(start, start + num_frames)


def window_start(n_items, n_windows, window, num_frames):
    """Start of evaluation window `window` of `n_windows` spread over `n_items` items."""
    if n_windows <= 1 or n_items <= num_frames:
        return max(0, (n_items - num_frames) // 2)
    return int(round(window * (n_items - num_frames) / (n_windows - 1)))
