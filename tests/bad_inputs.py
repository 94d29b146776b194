"""A corpus of bad inputs (and awkward but usable ones), written by the tests themselves.

Every bad case comes with the reason code (utils.errors.SampleError.REASONS) that preparation,
training and prediction must report for it. The videos are tiny (32 px, 12 frames) and carry no
face, so they are used with face_detector="none"; the no-face case is its own test.
"""
import json
import os
import shutil
from pathlib import Path

import cv2
import numpy as np

from datasets.video_io import write_video

N_FRAMES, SIDE = 12, 32

# Bad everywhere: name -> reason. absent.mp4 is listed (CSV, metadata.json) but never written.
BAD_VIDEOS = {
    "zero_bytes.mp4": "unreadable",
    "truncated.mp4": "unreadable",        # a real mp4 cut in half (its index, at the end, is lost)
    "text.mp4": "unreadable",             # a text file with a video's name
    "no_frames.mp4": "unreadable",        # intact container, every frame's bytes zeroed
    "one_pixel_wide.mp4": "too_small",
    "absent.mp4": "missing",
}
# Usable everywhere (no face detector): their frames must reach the model.
GOOD_VIDEOS = ("good.mp4", "portrait.mp4", "black.mp4", "header_lies.mp4")
# Fewer frames (3) than a clip asks: training and prediction repeat the last frame (documented
# choice); prepare.py drops it as too_short when --min_frames is above 3.
SHORT_VIDEO = "short.mp4"
SHORT_FRAMES = 3
# Names that would leave the data root: refused before anything is opened.
UNSAFE_NAMES = ("../outside.mp4", "/etc/outside.mp4")

# Training-only sources: face-crop JPEG folders (the seed's format) and face caches.
BAD_FOLDERS = {"frames/broken_jpegs": "bad_image", "frames/empty_folder": "missing"}
BAD_CACHES = {"faces/corrupt.npz": "unreadable", "faces/bad_index.npz": "unreadable",
              "faces/absent.npz": "missing"}


def noise(n, height=SIDE, width=SIDE, seed=0):
    return np.random.default_rng(seed).integers(30, 220, (n, height, width, 3), dtype=np.uint8)


def _mp4_boxes(data):
    """(type, start, size) of the top-level boxes of an mp4 file."""
    boxes, at = [], 0
    while at + 8 <= len(data):
        size = int.from_bytes(data[at:at + 4], "big")
        if size < 8:
            break
        boxes.append((data[at + 4:at + 8], at, size))
        at += size
    return boxes


def _zero_media(src, dst, keep=0.0):
    """Copy an mp4, zeroing its frame data after the first `keep` share: the header is intact."""
    data = bytearray(Path(src).read_bytes())
    for kind, at, size in _mp4_boxes(data):
        if kind == b"mdat":
            start = at + 8 + int((size - 8) * keep)
            data[start:at + size] = bytes(at + size - start)
    Path(dst).write_bytes(bytes(data))


def write_videos(folder):
    """Every video of the corpus (good, short and bad) into `folder`; returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_video(folder / "good.mp4", noise(N_FRAMES))
    write_video(folder / "portrait.mp4", noise(N_FRAMES, height=48, width=24, seed=1))
    # no face, and large enough (64 px) for MTCNN to search it
    write_video(folder / "black.mp4", np.zeros((N_FRAMES, 2 * SIDE, 2 * SIDE, 3), np.uint8))
    write_video(folder / SHORT_VIDEO, noise(SHORT_FRAMES, seed=2))
    # its header claims 12 frames, about 5 decode: a damaged download that is still usable
    _zero_media(folder / "good.mp4", folder / "header_lies.mp4", keep=0.5)
    _zero_media(folder / "good.mp4", folder / "no_frames.mp4")
    data = (folder / "good.mp4").read_bytes()
    (folder / "truncated.mp4").write_bytes(data[:len(data) // 2])
    (folder / "zero_bytes.mp4").write_bytes(b"")
    (folder / "text.mp4").write_text("this is not a video\n")
    # mp4v cannot encode a 1-pixel-wide frame; MJPG in AVI can, and OpenCV opens it by content
    avi = folder / "one_pixel_wide.avi"
    write_video(avi, noise(N_FRAMES, width=1), fourcc="MJPG")
    avi.rename(folder / "one_pixel_wide.mp4")
    return folder


def write_frame_folders(root):
    """JPEG folders: one with an undecodable image, one empty."""
    broken = Path(root) / "frames/broken_jpegs"
    broken.mkdir(parents=True)
    for i, frame in enumerate(noise(6, 24, 24)):
        cv2.imwrite(str(broken / f"face_{i}.jpg"), frame)
    (broken / "face_2.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (Path(root) / "frames/empty_folder").mkdir(parents=True)


def write_bad_caches(root, good_cache):
    """Face caches: a good one cut in half, and one whose JPEG index points past its data."""
    root = Path(root)
    data = Path(good_cache).read_bytes()
    (root / "faces/corrupt.npz").write_bytes(data[:len(data) // 2])
    np.savez(root / "faces/bad_index.npz", jpeg=np.zeros(10, np.uint8), offsets=np.arange(9) * 100,
             boxes=np.zeros((8, 4), np.float32), frame_indices=np.arange(8), fps=25.0, window_len=4)


def write_dfdc_part(folder):
    """A DFDC part folder: the corpus videos plus metadata.json listing them, absent and unsafe names."""
    write_videos(folder)
    names = [*GOOD_VIDEOS, SHORT_VIDEO, *BAD_VIDEOS, *UNSAFE_NAMES]
    outside = Path(folder).parent / "outside.mp4"  # a real video there: opening it would use it
    shutil.copy(Path(folder) / "good.mp4", outside)
    (Path(folder) / "metadata.json").write_text(json.dumps({n: {"label": "REAL"} for n in names}))
    return Path(folder)


def write_pickle_with_code(path, marker):
    """A .pth whose unpickling runs `touch marker`: loading it unsafely would create the marker."""
    import torch

    class RunsCode:
        def __reduce__(self):
            return os.system, (f"touch '{marker}'",)
    torch.save({"model": RunsCode(), "config": {}, "epoch": 1}, path)
    return Path(path)

