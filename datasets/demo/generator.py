"""The embedded demo: a small synthetic face-swap dataset in the DFDC format, made from a seed.

Each original is a recording of a synthetic person (own skin tone, face shape, eyes, hair and
room) who sways, blinks and talks in front of a camera with sensor noise. Each fake replaces
only the inner face of its original, as a real face swap does; background, motion and camera
noise stay identical. Three kinds of fake (FAKE_KINDS):

- "swap":    another identity's inner face, rendered softer (a low-resolution generator),
             slightly misaligned, colour-corrected only part of the way, with a narrow seam;
- "color":   another identity's inner face, sharp and aligned, whose colour and lighting do
             not match the surrounding skin;
- "flicker": the original's own inner face, re-warped (sub-pixel shift and scale) and re-lit
             (contrast) independently in every frame. Any one frame is a plausible real frame,
             with the same face brightness, but consecutive frames jitter: visible only in time.

Everything is rendered analytically on coordinate grids with anti-aliased edges, so sub-pixel
motion is smooth, and vectorised over the frames of a clip. render_clip is the pure in-memory
renderer; make_demo_dataset writes the mp4 files and metadata.json; `python -m datasets.demo`
is its command line.
"""
import json
import string
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from statistics import NormalDist

import cv2
import numpy as np
from tqdm import tqdm

from datasets.video_io import write_video
from utils.atomic import write_text_atomic
from utils.errors import UserError, exit_on_user_error
from utils.cli import OneLineParser

FAKE_KINDS = ("swap", "color", "flicker")
FPS = 25
DEFAULTS = dict(n_originals=240, fakes_per_original=3, n_frames=40, size=96, n_parts=2)

# The blend mask of the swapped inner face, in face units (face ellipse = unit circle, v down):
# weight 1 inside radius INNER_Q of this ellipse, falling to 0 at OUTER_Q. The eyes, brows, nose
# and mouth lie inside the weight-1 zone, and the ramp stays on plain cheek and forehead skin.
MASK_CENTER, MASK_RADII = (0.0, 0.13), (0.84, 0.73)
INNER_Q, OUTER_Q = 0.97, 1.10


@dataclass(frozen=True)
class Identity:
    """One synthetic person and their room. Lengths are in face units unless noted."""
    skin: tuple          # RGB 0..255
    face_rx: float       # face half-width, fraction of the frame size
    face_ry: float       # face half-height, fraction of the frame size
    eye_dx: float        # half the distance between the eyes
    eye_y: float
    eye_r: tuple         # eye half-width, half-height
    iris: tuple          # RGB
    brow: tuple          # height above the eye, thickness
    nose_y: float
    mouth: tuple         # y, half-width
    lip: tuple           # RGB
    hair: tuple          # RGB
    hairline: float      # v of the hairline (negative = above the centre)
    hair_len: float      # 0 = short, 1 = shoulder length
    shirt: tuple         # RGB
    light: tuple         # direction of the key light on the face
    room_seed: int       # the background texture


# The keys a face swap takes from the donor; the rest (head shape, hair, room) stays the target's.
INNER_KEYS = ("skin", "eye_dx", "eye_y", "eye_r", "iris", "brow", "nose_y", "mouth", "lip")


@dataclass(frozen=True)
class Motion:
    """One recording over time: head pose per frame, eyelids, mouth, and the camera's noise."""
    cx: np.ndarray        # (T,) head centre, fraction of the frame size
    cy: np.ndarray
    scale: np.ndarray     # (T,) apparent head size (moving towards / away from the camera)
    angle: np.ndarray     # (T,) head roll in radians
    eye_open: np.ndarray  # (T,) 1 = open, ~0 = closed
    mouth_open: np.ndarray
    noise_sigma: float    # sensor noise, grey levels
    noise_seed: int

    @property
    def n_frames(self):
        return len(self.cx)


@dataclass(frozen=True)
class Fake:
    """How a fake's inner face is made. Per-frame arrays have shape (T,) or (T, 3)."""
    kind: str
    face: Identity        # whose inner face is rendered (the donor, or the original itself)
    shift: np.ndarray     # (T, 2) offset of the inner face, fraction of the face radii
    scale: np.ndarray     # (T,) relative size of the inner face
    blur: float           # Gaussian sigma, fraction of the frame size (generator resolution)
    gain: np.ndarray      # (T, 3) per-channel gain of the inner face
    contrast: np.ndarray  # (T,) contrast about the inner face's own mean (keeps the mean)
    light: tuple          # extra linear shading across the inner face (x, y), 0 = none
    seam: float           # width of the blend ramp, multiplies (OUTER_Q - INNER_Q)


# ----------------------------------------------------------------------------- random draws

SKIN_TONES = np.array([[241, 204, 178], [224, 172, 138], [198, 145, 105], [160, 110, 75],
                       [120, 80, 55], [88, 58, 40]], np.float32)
HAIR_COLOURS = np.array([[25, 20, 18], [70, 45, 30], [120, 80, 45], [190, 150, 90],
                         [150, 70, 35], [160, 160, 160]], np.float32)
IRIS_COLOURS = np.array([[60, 40, 25], [90, 60, 35], [60, 100, 140], [70, 110, 70]], np.float32)


def _mix(rng, palette):
    """A random colour between two neighbouring palette entries."""
    i = rng.integers(len(palette) - 1)
    return tuple(float(c) for c in palette[i] + rng.uniform() * (palette[i + 1] - palette[i]))


def random_identity(rng):
    skin = np.array(_mix(rng, SKIN_TONES))
    return Identity(
        skin=tuple(skin),
        face_rx=rng.uniform(0.25, 0.30), face_ry=rng.uniform(0.33, 0.38),
        eye_dx=rng.uniform(0.34, 0.42), eye_y=rng.uniform(-0.13, -0.06),
        eye_r=(rng.uniform(0.15, 0.19), rng.uniform(0.07, 0.09)),
        iris=_mix(rng, IRIS_COLOURS),
        brow=(rng.uniform(0.19, 0.23), rng.uniform(0.03, 0.045)),
        nose_y=rng.uniform(0.18, 0.26),
        mouth=(rng.uniform(0.44, 0.50), rng.uniform(0.26, 0.36)),
        lip=tuple(skin * np.array([0.85, 0.6, 0.6]) + rng.uniform(0, 20)),
        hair=_mix(rng, HAIR_COLOURS),
        hairline=rng.uniform(-0.84, -0.72), hair_len=rng.uniform(0, 1),
        shirt=tuple(rng.uniform(30, 220, 3)),
        light=tuple(rng.uniform(-1, 1, 2)),
        room_seed=int(rng.integers(2**31)),
    )


def _bumps(rng, n_frames, gap, width, amp):
    """A sum of Gaussian bumps at random times `gap` frames apart: blinks, syllables."""
    t = np.arange(n_frames, dtype=np.float32)
    times = np.cumsum(rng.uniform(*gap, size=n_frames)) - rng.uniform(0, gap[1])
    times = times[times < n_frames + 3 * width]
    amps = rng.uniform(*amp, size=len(times))
    return (amps[:, None] * np.exp(-(((t - times[:, None]) / width) ** 2))).sum(0)


def random_motion(rng, n_frames):
    t = np.arange(n_frames, dtype=np.float32)

    def sway(amp, period):  # a slow sinusoid with random amplitude, period and phase
        return rng.uniform(*amp) * np.sin(2 * np.pi * t / rng.uniform(*period) + rng.uniform(0, 2 * np.pi))

    drift = rng.uniform(-0.02, 0.02, 2)[:, None] * (t / max(n_frames - 1, 1) - 0.5)
    talking = rng.uniform() < 0.85  # some people listen instead
    return Motion(
        cx=0.5 + sway((0.005, 0.025), (50, 100)) + drift[0],
        cy=0.46 + sway((0.003, 0.012), (40, 90)) + drift[1],
        scale=1 + sway((0.0, 0.02), (60, 120)),
        angle=sway((0.0, 0.05), (50, 110)),
        eye_open=np.clip(1 - 0.95 * _bumps(rng, n_frames, (25, 60), 1.3, (1, 1)), 0.05, 1),
        mouth_open=np.clip(_bumps(rng, n_frames, (4, 9), 2.0, (0.0, 0.9)) * talking, 0, 1),
        noise_sigma=rng.uniform(2.0, 3.5),
        noise_seed=int(rng.integers(2**31)),
    )


def _swap_inner(target, donor):
    """The target's head and room with the donor's inner face."""
    return replace(target, **{k: getattr(donor, k) for k in INNER_KEYS})


def random_fake(rng, kind, original, n_frames):
    """The recipe of one fake of `original` (an Identity)."""
    T = n_frames
    ones, still = np.ones(T, np.float32), np.zeros((T, 2), np.float32)
    if kind == "swap":
        donor = random_identity(rng)
        # Colour transfer to the target's skin that gets only ~70% of the way.
        skin = np.array(original.skin) + rng.uniform(0.2, 0.4) * (np.array(donor.skin) - original.skin)
        face = _swap_inner(original, replace(donor, skin=tuple(skin)))
        offset = rng.uniform(0.03, 0.06) * np.array([np.cos(a := rng.uniform(0, 2 * np.pi)), np.sin(a)])
        return Fake(kind, face, still + offset, ones * rng.choice([0.96, 1.04]),
                    blur=rng.uniform(0.005, 0.008), gain=np.ones((T, 3), np.float32),
                    contrast=ones, light=(0.0, 0.0), seam=0.35)
    if kind == "color":
        donor = random_identity(rng)
        face = _swap_inner(original, replace(donor, skin=original.skin))
        tint = rng.normal(0, 1, 3)
        tint = 1 + rng.uniform(0.08, 0.14) * tint / np.linalg.norm(tint)
        light = rng.uniform(0.10, 0.16) * np.array([np.cos(a := rng.uniform(0, 2 * np.pi)), np.sin(a)])
        return Fake(kind, face, still, ones, blur=0.0, gain=np.tile(tint, (T, 1)),
                    contrast=ones, light=tuple(light), seam=0.6)
    if kind == "flicker":
        # Independent per-frame jitter, zero-mean: each frame alone is a plausible real frame.
        return Fake(kind, original, rng.normal(0, 0.012, (T, 2)), 1 + rng.normal(0, 0.008, T),
                    blur=0.0, gain=np.ones((T, 3), np.float32),
                    contrast=1 + rng.normal(0, 0.05, T), light=(0.0, 0.0), seam=1.0)
    raise ValueError(f"unknown fake kind {kind!r}; expected one of {FAKE_KINDS}")


# ----------------------------------------------------------------------------- rendering

def _room(seed, size):
    """A static textured background: a colour gradient, soft blobs, a wallpaper and some frames."""
    rng = np.random.default_rng(seed)
    yy, xx = (np.mgrid[0:size, 0:size].astype(np.float32) + 0.5) / size
    c0, c1 = rng.uniform(40, 220, (2, 3)).astype(np.float32)
    a = rng.uniform(0, np.pi)
    ramp = (xx * np.cos(a) + yy * np.sin(a))[..., None]
    img = c0 + (c1 - c0) * ramp
    img += cv2.resize(rng.normal(0, 12, (5, 5, 3)).astype(np.float32), (size, size),
                      interpolation=cv2.INTER_CUBIC)
    a = rng.uniform(0, np.pi)
    img += rng.uniform(0, 14) * np.sin(2 * np.pi * rng.uniform(4, 12) * (xx * np.cos(a) + yy * np.sin(a)))[..., None]
    for _ in range(rng.integers(1, 4)):  # pictures, doors, shelves
        x0, y0 = rng.integers(0, size, 2)
        x1, y1 = x0 + rng.integers(size // 8, size // 2, 2)
        cv2.rectangle(img, (int(x0), int(y0)), (int(x1), int(y1)), rng.uniform(20, 235, 3).tolist(), -1)
    return img


class _Canvas:
    """A window of the frame, all T frames at once, with the face coordinates of every pixel.

    Face coordinates (u, v): the face ellipse is the unit circle, v points down the face. Shapes
    are painted with anti-aliased edges, each inside its own bounding box only (for speed).
    """

    def __init__(self, cx, cy, rx, ry, angle, window, background=None):
        self.y0, self.y1, self.x0, self.x1 = window
        # per-frame pose, shaped (T, 1, 1) to broadcast over pixels
        self.cx, self.cy, self.rx, self.ry = (np.asarray(p, np.float32)[:, None, None] for p in (cx, cy, rx, ry))
        self.cos, self.sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
        dx = np.arange(self.x0, self.x1, dtype=np.float32)[None, None] + 0.5 - self.cx
        dy = np.arange(self.y0, self.y1, dtype=np.float32)[None, :, None] + 0.5 - self.cy
        self.u = (dx * self.cos + dy * self.sin) / self.rx
        self.v = (dy * self.cos - dx * self.sin) / self.ry
        if background is None:
            self.img = np.zeros(self.u.shape + (3,), np.float32)
        else:
            self.img = np.repeat(background[None, self.y0:self.y1, self.x0:self.x1], len(cx), axis=0)

    def box(self, u0, u1, v0, v1):
        """Slices (rows, cols) of this window covering the face-coordinate box in every frame."""
        us, vs = np.array([u0, u1, u0, u1]), np.array([v0, v0, v1, v1])
        px = self.cx[:, :, 0] + self.rx[:, :, 0] * us * self.cos[:, :, 0] - self.ry[:, :, 0] * vs * self.sin[:, :, 0]
        py = self.cy[:, :, 0] + self.rx[:, :, 0] * us * self.sin[:, :, 0] + self.ry[:, :, 0] * vs * self.cos[:, :, 0]
        x0 = max(int(np.floor(px.min())) - 1 - self.x0, 0)
        x1 = min(int(np.ceil(px.max())) + 2 - self.x0, self.x1 - self.x0)
        y0 = max(int(np.floor(py.min())) - 1 - self.y0, 0)
        y1 = min(int(np.ceil(py.max())) + 2 - self.y0, self.y1 - self.y0)
        return slice(y0, max(y0, y1)), slice(x0, max(x0, x1))

    def ellipse(self, a, b, ra, rb, bend=0.0, sl=None):
        """Anti-aliased coverage (T, h, w) of an ellipse centred (a, b) with radii (ra, rb); `bend`
        curves it into an arch (brows). ra, rb may vary per frame as (T, 1, 1) arrays."""
        if sl is None:
            sl = self.box(a - np.max(ra), a + np.max(ra), b - np.max(rb) - abs(bend), b + np.max(rb) + abs(bend))
        u, v = self.u[:, sl[0], sl[1]], self.v[:, sl[0], sl[1]]
        U, V = (u - a) / ra, (v - b + bend * ((u - a) / ra) ** 2) / rb
        # signed distance in pixels ~ (q^2 - 1) / |grad q^2|, for a one-pixel anti-aliased edge
        grad = 2 * np.sqrt((U / (ra * self.rx)) ** 2 + (V / (rb * self.ry)) ** 2) + 1e-6
        return sl, np.clip(0.5 - (U * U + V * V - 1) / grad, 0, 1)

    def paint(self, sl, alpha, colour):
        region = self.img[:, sl[0], sl[1]]
        change = np.subtract(colour, region, dtype=np.float32)
        change *= alpha[..., None] if np.ndim(alpha) else alpha
        region += change


def _pose(identity, motion, size, shift=None, scale=None):
    """Pixel pose (cx, cy, rx, ry, angle) per frame; `shift`/`scale` displace a swapped face."""
    s = motion.scale * (1 if scale is None else scale)
    rx, ry = identity.face_rx * size * s, identity.face_ry * size * s
    cx, cy = motion.cx * size, motion.cy * size
    if shift is not None:
        cx, cy = cx + shift[:, 0] * rx, cy + shift[:, 1] * ry
    return cx, cy, rx, ry, motion.angle


def _render(identity, motion, size, window=None, shift=None, scale=None, face_only=False):
    """Noise-free frames (T, h, w, 3) float32 RGB of `window` (y0, y1, x0, x1; default: all).

    face_only skips what lies behind the face (room, hair, body): enough, and 2x faster, for
    an inner face, which never reaches beyond the face's edge.
    """
    p = identity
    window = window or (0, size, 0, size)
    room = None if face_only else _room(p.room_seed, size)
    c = _Canvas(*_pose(p, motion, size, shift, scale), window, room)
    skin, hair = np.array(p.skin, np.float32), np.array(p.hair, np.float32)

    if not face_only:
        # hair behind the head, with strands
        sl, a = c.ellipse(0, -0.15 + 0.35 * p.hair_len, 1.18, 0.98 + 0.35 * p.hair_len)
        strands = 1 + 0.12 * np.sin(30 * c.u[:, sl[0], sl[1]] + 5 * c.v[:, sl[0], sl[1]])
        c.paint(sl, a, hair * strands[..., None])
        # shoulders and neck
        c.paint(*c.ellipse(0, 2.3, 2.1, 1.2), p.shirt)
        sl = c.box(-0.5, 0.5, 0.3, 1.6)
        c.paint(sl, np.clip((0.42 - np.abs(c.u[:, sl[0], sl[1]])) * c.rx + 0.5, 0, 1), skin * 0.78)
    # the face, lit from p.light, darker towards its edge; an inner face has skin all over, so
    # that a shifted or shrunk one never shows a hole at the edge of the blend
    sl, face = ((slice(None), slice(None)), 1) if face_only else c.ellipse(0, 0, 1, 1)
    u, v = c.u[:, sl[0], sl[1]], c.v[:, sl[0], sl[1]]
    shade = 1 + 0.10 * (u * p.light[0] + v * p.light[1]) - 0.10 * (u * u + v * v)
    c.paint(sl, face, skin * shade[..., None])
    # hair over the forehead, clipped to the face
    sl = c.box(-1.05, 1.05, -1.05, p.hairline + 0.35)
    _, face = c.ellipse(0, 0, 1, 1, sl=sl)
    u, v = c.u[:, sl[0], sl[1]], c.v[:, sl[0], sl[1]]
    edge = p.hairline + 0.2 * u * u + 0.03 * np.sin(11 * u)
    c.paint(sl, face * np.clip((edge - v) * c.ry + 0.5, 0, 1), hair * (1 + 0.12 * np.sin(30 * u + 5 * v))[..., None])
    # brows, eyes (lid line, white, iris clipped to the opening, pupil)
    open_ = motion.eye_open.astype(np.float32)[:, None, None]
    erx, ery = p.eye_r
    brow_colour = 0.6 * hair + 0.4 * np.array([30, 25, 20], np.float32)
    for side in (-1, 1):
        ex = side * p.eye_dx
        c.paint(*c.ellipse(ex, p.eye_y - p.brow[0], 0.17, p.brow[1], bend=-0.06), brow_colour)
        c.paint(*c.ellipse(ex, p.eye_y, erx + 0.02, ery * open_ + 0.025), skin * 0.45)
        sl, white = c.ellipse(ex, p.eye_y, erx, ery * open_)
        c.paint(sl, white, (235, 232, 225))
        r = ery * 1.1 * c.ry / c.rx  # a circle in pixels
        c.paint(sl, white * c.ellipse(ex, p.eye_y, r, ery * 1.1, sl=sl)[1], p.iris)
        c.paint(sl, white * c.ellipse(ex, p.eye_y, r * 0.45, ery * 0.5, sl=sl)[1], (15, 12, 12))
    # nose: a soft shadow on the side away from the light, and nostrils
    side = -1 if p.light[0] > 0 else 1
    sl, a = c.ellipse(side * 0.07, p.nose_y - 0.13, 0.045, 0.16)
    c.paint(sl, 0.4 * a, skin * 0.7)
    for side in (-1, 1):
        sl, a = c.ellipse(side * 0.075, p.nose_y, 0.05, 0.028)
        c.paint(sl, 0.8 * a, skin * 0.5)
    # mouth: lips, the opening, upper teeth
    my, mw = p.mouth
    m = motion.mouth_open.astype(np.float32)[:, None, None]
    c.paint(*c.ellipse(0, my, mw, 0.05 + 0.08 * m), p.lip)
    inner_rb = 0.012 + 0.075 * m
    sl, inner = c.ellipse(0, my, mw * 0.85, inner_rb)
    c.paint(sl, inner, (70, 25, 30))
    c.paint(sl, inner * c.ellipse(0, my - 0.6 * inner_rb, mw * 0.6, 0.5 * inner_rb, sl=sl)[1], (225, 220, 210))
    return c.img


def _mask_radius(identity, motion, size):
    """Radius (T, size, size) of every pixel in the blend-mask ellipse; < OUTER_Q = face region."""
    c = _Canvas(*_pose(identity, motion, size), (0, size, 0, size))
    return np.sqrt(((c.u - MASK_CENTER[0]) / MASK_RADII[0]) ** 2 + ((c.v - MASK_CENTER[1]) / MASK_RADII[1]) ** 2)


def _fake_inner(identity, motion, size, fake, clean, radius, window):
    """The fake's noise-free frames inside `window`: the recipe's inner face blended over `clean`."""
    y0, y1, x0, x1 = window
    inner = _render(fake.face, motion, size, window, fake.shift, fake.scale, face_only=True)
    if fake.blur > 0:
        inner = np.stack([cv2.GaussianBlur(f, (0, 0), fake.blur * size) for f in inner])
    outer = INNER_Q + fake.seam * (OUTER_Q - INNER_Q)  # a narrower ramp makes a sharper seam
    w = np.clip((outer - radius[:, y0:y1, x0:x1, None]) / (outer - INNER_Q), 0, 1)
    if np.any(fake.contrast != 1):
        # contrast about the inner face's own weighted mean, so the face brightness is unchanged
        mean = (w * inner).sum((1, 2), keepdims=True) / w.sum((1, 2), keepdims=True)
        inner = mean + fake.contrast[:, None, None, None] * (inner - mean)
    if np.any(fake.gain != 1):
        inner *= fake.gain[:, None, None, :]
    if any(fake.light):
        cx, cy, rx, _, _ = _pose(identity, motion, size)
        xs = (np.arange(x0, x1)[None, None] + 0.5 - cx[:, None, None]) / rx[:, None, None]
        ys = (np.arange(y0, y1)[None, :, None] + 0.5 - cy[:, None, None]) / rx[:, None, None]
        inner *= (1 + fake.light[0] * xs + fake.light[1] * ys)[..., None]
    base = clean[:, y0:y1, x0:x1]
    return base + w * (inner - base)


# Gaussian quantiles at 256 levels: noise from random bytes is 5x faster than standard_normal.
_NORMAL_LEVELS = np.array([NormalDist().inv_cdf((i + 0.5) / 256) for i in range(256)], np.float32)


def _sensor_noise(seed, shape, sigma):
    """Independent Gaussian noise per pixel, channel and frame, the same for a given seed."""
    levels = np.frombuffer(np.random.default_rng(seed).bytes(int(np.prod(shape))), np.uint8)
    return (sigma * _NORMAL_LEVELS).take(levels).reshape(shape)


def _to_uint8(clean, noise):
    frames = clean + noise
    frames += 0.5  # round, not truncate
    return np.clip(frames, 0, 255, out=frames).astype(np.uint8)


def render_clips(identity, motion, size, fakes=()):
    """The original's frames and each fake's, as a list of (T, size, size, 3) uint8 RGB arrays,
    and the face region (T, size, size) bool: the only pixels where the fakes differ.

    A fake replaces the inner face as its Fake recipe says; everything outside the face region
    (background, hair, motion, camera noise) is exactly the original's, pixel for pixel.
    """
    clean = _render(identity, motion, size)
    radius = _mask_radius(identity, motion, size)
    region = radius < OUTER_Q
    noise = _sensor_noise(motion.noise_seed, clean.shape, motion.noise_sigma)
    real = _to_uint8(clean, noise)
    clips = [real]
    if fakes:
        rows, cols = np.nonzero(region.any(0))
        window = y0, y1, x0, x1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    for fake in fakes:
        frames = real.copy()
        inner = _fake_inner(identity, motion, size, fake, clean, radius, window)
        frames[:, y0:y1, x0:x1] = _to_uint8(inner, noise[:, y0:y1, x0:x1])
        clips.append(frames)
    return clips, region


def render_clip(identity, motion, size, fake=None):
    """One clip: frames (T, size, size, 3) uint8 RGB and the face region (T, size, size) bool."""
    clips, region = render_clips(identity, motion, size, [] if fake is None else [fake])
    return clips[-1], region


# ----------------------------------------------------------------------------- the dataset

def _names(rng, n):
    """n distinct DFDC-style file names: 10 random lowercase letters."""
    letters = np.array(list(string.ascii_lowercase))
    names = {}  # an ordered set
    while len(names) < n:
        names["".join(rng.choice(letters, 10)) + ".mp4"] = None
    return list(names)


def write_mp4(path, frames):
    """Write RGB uint8 frames (T, H, W, 3) as an mp4v video at FPS (datasets/video_io.py's writer)."""
    try:
        write_video(path, frames, fps=FPS)
    except OSError:
        raise UserError(f"cannot write {path}: OpenCV has no mp4v encoder; install opencv-python-headless") from None


def original_recipe(seed, index, n_fakes, n_frames):
    """(identity, motion, fakes) of original number `index` of the demo set made with `seed`.

    One generator per original: its videos do not depend on how many others are made, or where.
    The fakes' kinds cycle through FAKE_KINDS.
    """
    rng = np.random.default_rng([seed, index])
    identity, motion = random_identity(rng), random_motion(rng, n_frames)
    fakes = [random_fake(rng, FAKE_KINDS[j % len(FAKE_KINDS)], identity, n_frames) for j in range(n_fakes)]
    return identity, motion, fakes


def _make_original(job):
    """Render and write one original and its fakes; return their metadata entries."""
    folder, seed, index, names, n_frames, size = job
    identity, motion, fakes = original_recipe(seed, index, len(names) - 1, n_frames)
    clips, _ = render_clips(identity, motion, size, fakes)
    entries = {names[0]: {"label": "REAL", "split": "train", "original": None}}
    for name, fake in zip(names[1:], fakes):
        entries[name] = {"label": "FAKE", "split": "train", "original": names[0], "fake_kind": fake.kind}
    for name, clip in zip(names, clips):
        write_mp4(Path(folder) / name, clip)
    return folder, entries


def make_demo_dataset(out_dir, seed=0, n_originals=DEFAULTS["n_originals"],
                      fakes_per_original=DEFAULTS["fakes_per_original"], n_frames=DEFAULTS["n_frames"],
                      size=DEFAULTS["size"], n_parts=DEFAULTS["n_parts"], workers=2):
    """Write the demo set: out_dir/dfdc_train_part_K/*.mp4 + metadata.json (DFDC format); return out_dir.

    Originals go round-robin to the parts; each original's fakes (one per kind in FAKE_KINDS,
    cycling) live in its part. The same arguments give the same files, byte for byte, whatever
    `workers` is. metadata.json is written last, so a part with metadata is complete.
    """
    for name, value, low in (("n_originals", n_originals, 1), ("fakes_per_original", fakes_per_original, 0),
                             ("n_frames", n_frames, 2), ("size", size, 32), ("n_parts", n_parts, 1)):
        if int(value) != value or value < low:
            raise UserError(f"demo {name} must be an integer >= {low}, got {value!r}")
    if size % 2:
        raise UserError(f"demo size must be even (the mp4 encoder needs it), got {size}")
    out_dir = Path(out_dir)
    folders = [out_dir / f"dfdc_train_part_{k}" for k in range(min(n_parts, n_originals))]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    per = 1 + fakes_per_original
    names = _names(np.random.default_rng(seed), n_originals * per)
    jobs = [(str(folders[i % len(folders)]), seed, i, names[i * per:(i + 1) * per], n_frames, size)
            for i in range(n_originals)]
    metadata = {str(folder): {} for folder in folders}
    with ExitStack() as stack:
        mapper = map  # results come back in job order either way, so metadata is deterministic
        if workers > 1:
            mapper = partial(stack.enter_context(ProcessPoolExecutor(workers)).map, chunksize=4)
        for folder, entries in tqdm(mapper(_make_original, jobs), total=len(jobs),
                                    desc="demo originals", unit="orig"):
            metadata[folder].update(entries)
    for folder, entries in metadata.items():
        write_text_atomic(Path(folder) / "metadata.json", json.dumps(entries, indent=1))
    return out_dir


def main(argv=None):
    parser = OneLineParser(
        prog="python -m datasets.demo",
        description="Write the synthetic demo dataset in the DFDC format (dfdc_train_part_K/ folders "
                    "with mp4 files and metadata.json). Each REAL original has FAKEs of the kinds "
                    f"{', '.join(FAKE_KINDS)} that differ from it only in the face region.")
    parser.add_argument("--out", required=True, help="folder to write the dfdc_train_part_K/ folders into")
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same files (default 0)")
    parser.add_argument("--n_originals", type=int, default=DEFAULTS["n_originals"], help="REAL videos (default %(default)s)")
    parser.add_argument("--fakes_per_original", type=int, default=DEFAULTS["fakes_per_original"],
                        help="FAKE videos per original, kinds cycling through " + ", ".join(FAKE_KINDS) + " (default %(default)s)")
    parser.add_argument("--n_frames", type=int, default=DEFAULTS["n_frames"], help=f"frames per video, at {FPS} fps (default %(default)s)")
    parser.add_argument("--size", type=int, default=DEFAULTS["size"], help="frame width and height in pixels, even (default %(default)s)")
    parser.add_argument("--n_parts", type=int, default=DEFAULTS["n_parts"], help="dfdc_train_part_K folders (default %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="processes rendering in parallel (default %(default)s)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    with exit_on_user_error():
        out = make_demo_dataset(args.out, seed=args.seed, n_originals=args.n_originals,
                                fakes_per_original=args.fakes_per_original, n_frames=args.n_frames,
                                size=args.size, n_parts=args.n_parts, workers=args.workers)
    n_videos = args.n_originals * (1 + args.fakes_per_original)
    print(f"wrote {n_videos} videos ({args.n_originals} REAL) to {out} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
