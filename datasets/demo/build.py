"""The embedded demo: generated, then prepared through the same path as real DFDC data.

The demo's frames are face-centred (96 px, the face about 46 x 58 px in the middle), so
preparation keeps the centred two thirds of each frame at its own resolution instead of running
MTCNN, which misses the synthetic faces in about 15% of the videos. A face detector crops real
footage to the same kind of picture: the face, a little margin, and full detail.
"""
import json
import shutil
from pathlib import Path

from datasets.demo.generator import DEFAULTS, make_demo_dataset
from datasets.preparation.pipeline import prepare_dataset

DEMO_ORIGINALS = DEFAULTS["n_originals"]  # 240: 960 videos; pair balance keeps 480 (96 for validation)
# 4 windows of 8 consecutive frames; the central 64 of the 96 px, stored at 64 px (no resampling).
DEMO_PREPARE = dict(n_windows=4, window_len=8, size=64, face_detector="none", center_fraction=2 / 3)
GENERATED = ("raw", "faces", "videos_df.csv", "report.json", "prepare_config.json", "demo.json")


def demo_recipe(seed, n_originals):
    """Everything that decides the demo's files; a folder built from another recipe is rebuilt."""
    # split: validation drawn stratified by fake kind; a demo built with the earlier draw is rebuilt
    return dict(seed=int(seed), n_originals=int(n_originals), prepare=DEMO_PREPARE, split="stratified")


def ensure_demo_dataset(root, seed=0, n_originals=None, csv_name="videos_df.csv", workers=2, verbose=True):
    """Build and prepare the demo under `root` unless the same recipe already built it there.

    n_originals defaults to the full demo; the notebooks build a smaller one the same way."""
    root = Path(root)
    n_originals = DEMO_ORIGINALS if n_originals is None else n_originals
    stamp = root / "demo.json"
    recipe = demo_recipe(seed, n_originals)
    if (root / csv_name).is_file() and stamp.is_file() and json.loads(stamp.read_text()) == recipe:
        return root / csv_name
    if root.is_dir() and any(root.iterdir()):
        if verbose:
            print(f"rebuilding the demo dataset in {root}: it was made with other settings or an older version")
        for name in GENERATED:  # only what this function writes: nothing else in root is touched
            path = root / name
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    if verbose:
        print(f"making the demo dataset in {root} (once)")
    raw = make_demo_dataset(root / "raw", seed=seed, n_originals=n_originals, workers=workers)
    # pair: the demo's recipe since before --balance all became the default
    prepare_dataset([raw], root, seed=seed, workers=workers, verbose=verbose, balance="pair", **DEMO_PREPARE)
    stamp.write_text(json.dumps(recipe, indent=2))
    return root / csv_name
