"""The dataset selector: --dataset NAME -> a builder of the train and validation datasets.

Add a dataset by writing a builder with the same keyword arguments and registering it in
DATASETS.
"""
import json
from dataclasses import dataclass, field
from pathlib import Path

from datasets.splits import SplitLeakError, check_no_group_leak
from datasets.videos_csv import read_videos_csv, resolve_csv
from utils.errors import UserError

DEFAULT_N_WINDOWS = 4


@dataclass
class DataBundle:
    train: "VideoClipDataset"  # noqa: F821 (imported lazily: torch is slow to import)
    val: "VideoClipDataset"  # noqa: F821
    config: dict = field(default_factory=dict)  # how the data was prepared; saved in checkpoints


def read_prepare_config(root_dir):
    """The settings prepare.py used (face size, windows, detector), when it wrote a report."""
    report = Path(root_dir) / "report.json"
    if not report.is_file():
        return {}
    try:
        return dict(json.loads(report.read_text()).get("config", {}))
    except (ValueError, AttributeError):
        return {}


def check_no_leak(table):
    """Refuse a CSV whose validation shares an original with training (prepare.py's rule)."""
    if "group" in table.columns:
        groups = table["group"].where(table["group"] != "", table["name"])
    elif "original" in table.columns:  # a CSV from another tool: the original is the group
        groups = table["original"].where(table["original"] != "", table["name"])
    else:  # the seed's videos_df has no originals: nothing to check
        return
    try:
        check_no_group_leak(table.assign(group=groups))
    except SplitLeakError as err:
        raise UserError(f"the videos CSV puts an original in both training and validation ({err}); re-split with prepare.py") from None


def build_video_datasets(root_dir, csv_file, num_frames, crop_size, seed=0, augment=True):
    from datasets.video_dataset import VideoClipDataset  # torch: only when a dataset is built

    table = read_videos_csv(resolve_csv(root_dir, csv_file))
    check_no_leak(table)
    train_rows, val_rows = table[~table["is_valid"]], table[table["is_valid"]]
    if train_rows.empty or val_rows.empty:
        raise UserError(f"the videos CSV needs training and validation rows (is_valid False and True); it has {len(train_rows)} and {len(val_rows)}")
    config = read_prepare_config(root_dir)
    n_windows = int(config.get("n_windows", DEFAULT_N_WINDOWS))
    common = dict(root_dir=root_dir, num_frames=num_frames, crop_size=crop_size, n_windows=n_windows, seed=seed)
    return DataBundle(
        train=VideoClipDataset(table=train_rows, train=True, augment=augment, **common),
        val=VideoClipDataset(table=val_rows, train=False, **common),
        config=dict(config, n_windows=n_windows, num_frames=num_frames, crop_size=crop_size),
    )


DATASETS = {"video": build_video_datasets}


def get_dataset(name, **kwargs):
    if name not in DATASETS:
        raise UserError(f"unknown --dataset {name!r}; choose from {', '.join(sorted(DATASETS))}")
    return DATASETS[name](**kwargs)
