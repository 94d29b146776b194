"""Face crops for one video: decode sampled windows, detect, track the main face, smooth, crop.

Detection runs facenet-pytorch's MTCNN once per video, batched over all sampled frames, on frames
downscaled so the short side is DETECT_SHORT_SIDE px (a DFDC face is large). Its cost is set by
the smallest face it looks for in source pixels; min_face_size=40 at a 360 px short side finds
faces from 1/9 of the frame height up (120 px at 1080p), ~4x cheaper than full resolution's 20 px.

Detection runs on every `detect_every`-th frame of each window (default 4: positions 0 and 4 of
8): the boxes are smoothed per window anyway, so fewer detections barely move the crop (a shift of
at most ~2.5% of the crop's side against every 2nd frame on the sample clips) and the detector,
the largest cost after decoding, costs half; frames not run are filled like missed ones.

Boxes are smoothed per window: every frame of a window gets the window's median box, so the crop
does not move within a window and a still face yields identical crops. Per-frame detector jitter
would otherwise be a flicker that the motion stream learns instead of the fake.
"""
import functools
from typing import NamedTuple

import cv2
import numpy as np
import torch

from args import FaceConfig
from datasets.video_io import read_windows
from utils.device import resolve_device
from utils.errors import SampleError

DETECT_SHORT_SIDE = 360
MIN_FACE_SIZE = 40    # px in the downscaled frame
MIN_FACE_PROB = 0.9   # MTCNN's own thresholds keep some false positives (posters, patterns)
MARGIN = 0.25         # added on each side, as a fraction of the face box's longer side
DETECT_EVERY = FaceConfig.detect_every  # the default's one home is args.py


class FaceCrops(NamedTuple):
    """FaceCache's fields (same order) plus what prepare reports about the source video."""
    frames: np.ndarray         # uint8 (N, size, size, 3) RGB
    boxes: np.ndarray          # float32 (N, 4) square crop regions in source pixels
    frame_indices: np.ndarray  # int64 (N,)
    fps: float
    window_len: int
    n_windows: int
    n_frames: int              # frames in the source video (what really decodes if truncated)
    face_rate: float           # fraction of the frames run through the detector with the face


@functools.lru_cache(maxsize=4)
def get_mtcnn(device="cpu", min_face_size=MIN_FACE_SIZE):
    """One MTCNN per process and setting (building it loads weights: do it once, not per video)."""
    from facenet_pytorch import MTCNN  # heavy import, only when detection is used
    return MTCNN(keep_all=True, min_face_size=min_face_size, post_process=False,
                 select_largest=True, device=torch.device(device))


def detect_scale(width, height, short_side=DETECT_SHORT_SIDE):
    """Downscale factor for detection (never upscales)."""
    return min(1.0, short_side / float(min(width, height)))


def detect_faces(frames, device="cpu", scale=None, min_face_size=MIN_FACE_SIZE,
                 min_prob=MIN_FACE_PROB):
    """MTCNN on a batch of same-size RGB frames -> list of (k_i, 4) float arrays in source pixels."""
    height, width = frames.shape[1:3]
    scale = detect_scale(width, height) if scale is None else float(scale)
    if scale != 1.0:
        small = np.stack([cv2.resize(f, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                          for f in frames])
    else:
        small = np.ascontiguousarray(frames)
    if min(small.shape[1:3]) < min_face_size:  # no face fits; MTCNN would crash (no pyramid scale)
        return [np.zeros((0, 4), np.float32) for _ in frames]
    boxes, probs = get_mtcnn(str(device), int(min_face_size)).detect(small)
    result = []
    for b, p in zip(boxes, probs):
        if b is None:
            result.append(np.zeros((0, 4), np.float32))
            continue
        keep = np.asarray(p, dtype=np.float64) >= min_prob
        result.append((np.asarray(b, np.float32)[keep] / scale).reshape(-1, 4))
    return result


def _area(b):
    return max(b[2] - b[0], 0) * max(b[3] - b[1], 0)


def _iou(a, b):
    ix = max(min(a[2], b[2]) - max(a[0], b[0]), 0)
    iy = max(min(a[3], b[3]) - max(a[1], b[1]), 0)
    inter = ix * iy
    union = _area(a) + _area(b) - inter
    return inter / union if union > 0 else 0.0


def _closest(dets, ref):
    """Detection continuing the track of `ref`: best IoU, or centre within one face width."""
    if len(dets) == 0:
        return None
    ious = [_iou(d, ref) for d in dets]
    best = int(np.argmax(ious))
    if ious[best] > 0:
        return dets[best]
    centre = lambda b: np.array([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2])
    dists = [np.linalg.norm(centre(d) - centre(ref)) for d in dets]
    best = int(np.argmin(dists))
    return dets[best] if dists[best] < (ref[2] - ref[0]) else None


def _support(box, detections):
    """Number of frames with a detection overlapping `box` (a real face persists, a glitch not)."""
    return sum(any(_iou(box, d) > 0.3 for d in dets) for dets in detections)


def track_main_face(detections):
    """Per-frame detections -> (N,4) boxes of the main face, NaN where it was not found.

    The main face is the largest detection among those seen in at least half as many frames as
    the most persistent one (so a one-frame false positive cannot win); from its frame the track
    is followed forwards and backwards, each frame taking the detection that continues it.
    """
    n = len(detections)
    track = np.full((n, 4), np.nan, np.float32)
    candidates = [(i, b, _support(b, detections)) for i, dets in enumerate(detections) for b in dets]
    if not candidates:
        return track
    most = max(c[2] for c in candidates)
    start, seed, _ = max((c for c in candidates if 2 * c[2] >= most), key=lambda c: _area(c[1]))
    track[start] = seed
    for order in (range(start + 1, n), range(start - 1, -1, -1)):
        ref = seed
        for i in order:
            found = _closest(detections[i], ref)
            if found is not None:
                track[i] = ref = found
    return track


def fill_missing(boxes):
    """Frames without a box take the nearest frame's box (the earlier one on a tie)."""
    boxes = boxes.copy()
    have = np.flatnonzero(~np.isnan(boxes[:, 0]))
    if len(have) == 0:
        return boxes
    for i in np.flatnonzero(np.isnan(boxes[:, 0])):
        boxes[i] = boxes[have[np.argmin(np.abs(have - i))]]
    return boxes


def smooth_boxes(boxes, window_len):
    """Every frame of a window gets the window's median box (centre and size, per coordinate)."""
    out = boxes.astype(np.float32).copy()
    for start in range(0, len(boxes), window_len):
        out[start:start + window_len] = np.median(boxes[start:start + window_len], axis=0)
    return out


def square_crop_boxes(boxes, margin=MARGIN):
    """Face boxes -> square crop regions of side (1 + 2*margin) * longer side, same centre."""
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    cy = (boxes[:, 1] + boxes[:, 3]) / 2
    half = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) * (0.5 + margin)
    return np.stack([cx - half, cy - half, cx + half, cy + half], axis=1).astype(np.float32)


def crop_resize(frame, box, size):
    """Crop `box` (may extend past the frame: padded with black, the face stays centred)."""
    h, w = frame.shape[:2]
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    side_w, side_h = max(x2 - x1, 1), max(y2 - y1, 1)
    canvas = np.zeros((side_h, side_w, 3), np.uint8)
    sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)
    if sx2 > sx1 and sy2 > sy1:
        canvas[sy1 - y1:sy2 - y1, sx1 - x1:sx2 - x1] = frame[sy1:sy2, sx1:sx2]
    interp = cv2.INTER_AREA if side_w > size else cv2.INTER_LINEAR
    return cv2.resize(canvas, (size, size), interpolation=interp)


def whole_frame_boxes(n, width, height, center_fraction=1.0):
    """detector="none": the centred square of side center_fraction * the frame's longer side.

    1.0 is the whole frame, letterboxed (nothing cut, no distortion). Face-centred footage, like
    the demo's, can keep just its middle, where the face is, at a higher resolution.
    """
    side = max(width, height) * float(center_fraction)
    x1, y1 = (width - side) / 2, (height - side) / 2
    return np.tile(np.array([x1, y1, x1 + side, y1 + side], np.float32), (n, 1))


def face_boxes(frames, window_len, device="cpu", scale=None, min_face_size=MIN_FACE_SIZE,
               margin=MARGIN, detect_every=DETECT_EVERY):
    """Sampled frames -> (smoothed square crop boxes (N,4), fraction of detected frames with a face)."""
    run = np.flatnonzero(np.arange(len(frames)) % window_len % detect_every == 0)
    detections = [np.zeros((0, 4), np.float32)] * len(frames)
    for i, found in zip(run, detect_faces(frames[run], device, scale, min_face_size)):
        detections[i] = found
    track = track_main_face(detections)
    found = ~np.isnan(track[run, 0])
    if not found.any():
        raise SampleError("no_face", "no face in any sampled frame")
    boxes = smooth_boxes(fill_missing(track), window_len)
    return square_crop_boxes(boxes, margin), float(found.mean())


def extract_faces(path, n_windows, window_len, size=224, detector="mtcnn", device=None,
                  margin=MARGIN, scale=None, min_face_size=MIN_FACE_SIZE, rng=None, min_frames=1,
                  detect_every=DETECT_EVERY, center_fraction=1.0):
    """Decode n_windows windows of window_len consecutive frames and crop the main face.

    Returns FaceCrops(frames uint8 (N,size,size,3), boxes = crop regions in source pixels,
    frame_indices, fps, window_len, n_windows, n_frames, face_rate). Raises SampleError
    (missing, unreadable, too_small, too_short, no_face). Shared by prepare and predict.
    """
    frames, indices, info = read_windows(path, n_windows, window_len, rng, min_frames)
    if detector == "mtcnn":
        boxes, face_rate = face_boxes(frames, window_len, resolve_device(device), scale,
                                      min_face_size, margin, detect_every)
    elif detector == "none":
        boxes = whole_frame_boxes(len(frames), info.width, info.height, center_fraction)
        face_rate = 1.0
    else:
        raise ValueError(f"unknown face detector {detector!r}")
    crops = np.stack([crop_resize(f, b, size) for f, b in zip(frames, boxes)])
    return FaceCrops(crops, boxes, indices, info.fps, window_len, n_windows, info.n_frames,
                     face_rate)
