"""Clip-level image transforms on uint8 frames (T, H, W, 3), RGB.

Every frame of a clip gets the same parameters: a per-frame random augmentation would itself
be a flicker, the very signal that gives temporal fakes away.
"""
import cv2
import numpy as np


def center_square(frames):
    """Crop the centred square of non-square frames (whole frames from an mp4)."""
    h, w = frames.shape[1:3]
    side = min(h, w)
    y, x = (h - side) // 2, (w - side) // 2
    return frames[:, y:y + side, x:x + side]


def resize_clip(frames, size, interpolation=cv2.INTER_AREA):
    if frames.shape[1] == size and frames.shape[2] == size:
        return frames
    return np.stack([cv2.resize(f, (size, size), interpolation=interpolation) for f in frames])


def eval_clip(frames, crop_size):
    """The deterministic evaluation transform: centre square, resized to crop_size."""
    return resize_clip(center_square(frames), crop_size)


def _random_crop_box(side, rng, min_scale=0.8):
    crop = int(round(side * np.sqrt(rng.uniform(min_scale, 1.0))))
    y, x = rng.integers(0, side - crop + 1, size=2)
    return int(y), int(x), crop


def _color_jitter(frames, rng, strength=0.2):
    out = frames.astype(np.float32)
    brightness, contrast, saturation = 1 + rng.uniform(-strength, strength, size=3)
    out *= brightness
    mean = out.mean(axis=(1, 2, 3), keepdims=True)
    out = (out - mean) * contrast + mean
    gray = out.mean(axis=3, keepdims=True)
    out = (out - gray) * saturation + gray
    return np.clip(out, 0, 255).astype(np.uint8)


def _jpeg(frames, quality):
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    return np.stack([cv2.imdecode(cv2.imencode(".jpg", f, params)[1], cv2.IMREAD_UNCHANGED) for f in frames])


def _rotate(frames, degrees):
    h, w = frames.shape[1:3]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return np.stack([cv2.warpAffine(f, m, (w, h), borderMode=cv2.BORDER_REFLECT) for f in frames])


def augment_clip(frames, crop_size, rng):
    """Random resized crop, flip, small rotation, colour jitter, JPEG re-compression, downscale.

    JPEG and downscaling imitate the re-encoding that every DFDC winner trained against.
    """
    frames = center_square(frames)
    y, x, crop = _random_crop_box(frames.shape[1], rng)
    frames = resize_clip(frames[:, y:y + crop, x:x + crop], crop_size)
    if rng.random() < 0.5:
        frames = frames[:, :, ::-1]
    if rng.random() < 0.3:
        frames = _rotate(frames, rng.uniform(-10, 10))
    if rng.random() < 0.8:
        frames = _color_jitter(frames, rng)
    if rng.random() < 0.3:
        frames = _jpeg(frames, rng.integers(60, 96))
    if rng.random() < 0.2:
        small = max(8, int(crop_size * rng.uniform(0.5, 0.9)))
        frames = resize_clip(resize_clip(frames, small), crop_size, cv2.INTER_LINEAR)
    return np.ascontiguousarray(frames)
