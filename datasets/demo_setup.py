"""The embedded demo: generated, then prepared through the same path as real DFDC data.

The demo frames are already face-centred, so preparation keeps whole frames
(--face_detector none) instead of running MTCNN on synthetic faces.
"""
from pathlib import Path

from datasets.demo import make_demo_dataset
from datasets.prepare import prepare_dataset

# How the demo is prepared: 4 windows of 8 consecutive frames, stored at 72 px so that the
# training crop (64 px by default) has room for a random crop.
DEMO_PREPARE = dict(n_windows=4, window_len=8, size=72, face_detector="none")


def ensure_demo_dataset(root, seed=0, csv_name="videos_df.csv"):
    """Build and prepare the demo under `root` unless its CSV is already there."""
    root = Path(root)
    if (root / csv_name).is_file():
        return root / csv_name
    print(f"making the demo dataset in {root} (once)")
    raw = make_demo_dataset(root / "raw", seed=seed)
    prepare_dataset([raw], root, seed=seed, workers=2, **DEMO_PREPARE)
    return root / csv_name
