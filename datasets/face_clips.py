"""A video file -> the clips a trained model scores, exactly as training's evaluation saw them.

Same face extraction as prepare.py (datasets.preparation.faces.extract_faces: the windows, detector, face
size and box smoothing of the cached faces), the same trip through the face cache's codec
(training read JPEG q95 crops; raw crops differ by up to ~60 grey levels, a small domain shift),
then the same per-window evaluation transform as VideoClipDataset (centred sub-window of
num_frames, centre square resized to crop_size).
The settings come from a checkpoint's data_config; older or partial configs get defaults.
"""
from dataclasses import dataclass

import numpy as np

from datasets.clip_augment import eval_clip
from datasets.windows import sub_window
from datasets.face_cache import jpeg_round_trip
from datasets.preparation.faces import extract_faces
from utils.errors import SampleError


EXTRA_KEYS = ("margin", "scale", "min_face_size", "min_frames", "center_fraction", "detect_every")  # passed on when the config has them


@dataclass(frozen=True)
class ClipSettings:
    n_windows: int = 4
    window_len: int = 8  # frames per cached window (prepare's --window_len)
    num_frames: int = 8  # frames per clip fed to the model (train's --num_frames)
    crop_size: int = 64
    face_size: int = 224
    face_detector: str = "mtcnn"
    extract_kwargs: tuple = ()  # prepare's other extract_faces settings, as (key, value) pairs

    @classmethod
    def from_data_config(cls, cfg):
        """Read a checkpoint's data_config, whichever of its key spellings is present."""
        def pick(*keys, default):
            return next((cfg[k] for k in keys if cfg.get(k) is not None), default)
        num_frames = int(pick("num_frames", "window_len", default=cls.num_frames))
        return cls(
            n_windows=int(pick("n_windows", default=cls.n_windows)),
            window_len=int(pick("window_len", default=num_frames)),
            num_frames=num_frames,
            crop_size=int(pick("crop_size", default=cls.crop_size)),
            face_size=int(pick("face_size", "size", "image_size", default=cls.face_size)),
            face_detector=str(pick("face_detector", "detector", default=cls.face_detector)),
            extract_kwargs=tuple((k, cfg[k]) for k in EXTRA_KEYS if cfg.get(k) is not None),
        )


def video_clips(path, settings, device="cpu"):
    """(clips uint8 (windows, T, S, S, 3) RGB, frame indices (windows, T)) of one video.

    Raises SampleError for a video that cannot be used (unreadable, too short, no face).
    """
    faces = extract_faces(path, settings.n_windows, settings.window_len,
                          **extract_kwargs(settings, device))
    return clips_from_faces(faces, settings, path)


def extract_kwargs(settings, device="cpu"):
    """extract_faces's keyword arguments for these settings (also iter_extract_faces's)."""
    return dict(size=settings.face_size, detector=settings.face_detector, device=device,
                **dict(settings.extract_kwargs))


def clips_from_faces(faces, settings, path=""):
    """FaceCrops of one video -> (clips, frame indices) as video_clips returns them."""
    frames = jpeg_round_trip(faces.frames)  # the cache's codec, so scores match training's evaluation
    n_windows = len(frames) // settings.window_len
    if n_windows == 0:
        raise SampleError("too_short", f"{path}: fewer than {settings.window_len} face frames")
    keep = sub_window(settings.window_len, settings.num_frames, None)  # training's centred window
    clips, indices = [], []
    for w in range(n_windows):
        window = slice(w * settings.window_len, (w + 1) * settings.window_len)
        clips.append(eval_clip(frames[window][keep], settings.crop_size))
        indices.append(np.asarray(faces.frame_indices)[window][keep])
    return np.stack(clips), np.stack(indices)
