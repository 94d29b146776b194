"""Small datasets in each supported layout, made by the tests (real FF++ clips are symlinked)."""
import json
import os
from pathlib import Path

import numpy as np

from datasets.video_io import write_video

FFPP = Path(__file__).resolve().parents[2] / "shared" / "ffpp_c23"
FFPP_VIDEOS = ["original_sequences/youtube/c23/videos/033.mp4", "original_sequences/youtube/c23/videos/097.mp4",
               "original_sequences/youtube/c23/videos/035.mp4", "original_sequences/youtube/c23/videos/036.mp4",
               "manipulated_sequences/Deepfakes/c23/videos/033_097.mp4",
               "manipulated_sequences/Deepfakes/c23/videos/097_033.mp4",
               "manipulated_sequences/Deepfakes/c23/videos/035_036.mp4",
               "manipulated_sequences/Face2Face/c23/videos/097_033.mp4"]


def make_ffpp(root, splits=None):
    """A tree in FF++'s layout linking 8 real clips: pairs 033/097 and 035/036."""
    root = Path(root)
    for rel in FFPP_VIDEOS:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(FFPP / rel, root / rel)
    for split, pairs in (splits or {}).items():
        (root / "splits").mkdir(exist_ok=True)
        (root / "splits" / f"{split}.json").write_text(json.dumps(pairs))
    return root


def tiny_video(path, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    write_video(path, np.random.default_rng(seed).integers(30, 220, (8, 32, 32, 3), dtype=np.uint8))


def make_celebdf(root, test_lines=None, videos=True):
    """Celeb-DF's layout: identities 0-1 and 2-3 joined by fakes; two YouTube reals."""
    root = Path(root)
    files = ["Celeb-real/id0_0000.mp4", "Celeb-real/id1_0000.mp4", "Celeb-real/id2_0000.mp4",
             "Celeb-real/id3_0001.mp4", "Celeb-real/id4_0002.mp4",
             "Celeb-synthesis/id0_id1_0000.mp4", "Celeb-synthesis/id2_id3_0000.mp4",
             "Celeb-synthesis/id4_id5_0002.mp4",
             "YouTube-real/00000.mp4", "YouTube-real/00001.mp4"]
    for i, rel in enumerate(files):
        if videos:
            tiny_video(root / rel, seed=i)
        else:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(b"x")
    lines = ["1 YouTube-real/00000.mp4", "0 Celeb-synthesis/id2_id3_0000.mp4"] if test_lines is None else test_lines
    (root / "List_of_testing_videos.txt").write_text("\n".join(lines) + "\n")
    return root


def make_dfdc_test(root, labels):
    """DFDC's public test set: mp4s and labels.csv (filename,label with 1 = FAKE)."""
    root = Path(root)
    for i, name in enumerate(labels):
        tiny_video(root / name, seed=i)
    (root / "labels.csv").write_text("filename,label\n" + "".join(f"{n},{v}\n" for n, v in labels.items()))
    return root
