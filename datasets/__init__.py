"""The dataset selector: --dataset NAME -> the training and validation datasets of a DataConfig.

Add a dataset by writing a builder `build(cfg: DataConfig, seed) -> DataBundle` and registering
it in DATASETS. Rows whose `split` is "test" never reach training or validation: evaluate.py
scores them.
"""
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from args import FACE_SETTINGS_BEFORE, FaceConfig
from datasets.videos_csv import read_videos_csv, resolve_csv
from utils.errors import UserError

PREPARE_CONFIG = "prepare_config.json"  # the face settings prepare.py pinned for its folder


@dataclass
class DataBundle:
    train: "VideoClipDataset"  # noqa: F821 (imported lazily: torch is slow to import)
    val: "VideoClipDataset"  # noqa: F821
    faces: dict = field(default_factory=dict)  # the FaceConfig prepare.py used; saved in checkpoints


def read_face_config(root_dir):
    """The FaceConfig (as a dict) that prepare.py pinned in root_dir; {} for data it did not prepare."""
    path = Path(root_dir) / PREPARE_CONFIG
    if not path.is_file():
        return {}
    try:
        values = dict(FACE_SETTINGS_BEFORE, **json.loads(path.read_text()))
        names = set(FaceConfig.__dataclass_fields__)
        return asdict(FaceConfig(**{k: v for k, v in values.items() if k in names}))
    except (ValueError, TypeError, AttributeError) as err:
        raise UserError(f"{path} is not a prepare.py settings file ({err}); prepare the data again") from None


def sides(table):
    """train / val / test of each row: the `split` column where prepare.py wrote one, else is_valid."""
    if "split" in table.columns:
        split = table["split"].where(table["split"] != "", table["is_valid"].map({True: "val", False: "train"}))
        return split.str.lower()
    return table["is_valid"].map({True: "val", False: "train"})


def check_no_leak(table):
    """Refuse a CSV that puts one original (or FF++ pair, or identity) on two sides of the split."""
    if "group" in table.columns:
        groups = table["group"].where(table["group"] != "", table["name"])
    elif "original" in table.columns:  # a CSV from another tool: the original is the group
        groups = table["original"].where(table["original"] != "", table["name"])
    else:  # the seed's videos_df has no originals: nothing to check
        return
    per_group = sides(table).groupby(groups).nunique()
    leaked = sorted(per_group[per_group > 1].index)
    if leaked:
        raise UserError(f"the videos CSV puts {len(leaked)} group(s) on two sides of the split (e.g. {leaked[0]!r}); "
                        f"re-split with prepare.py")


def build_video_datasets(cfg, seed=0):
    from datasets.video_dataset import VideoClipDataset  # torch: only when a dataset is built

    table = read_videos_csv(resolve_csv(cfg.root_dir, cfg.csv_file))
    check_no_leak(table)
    side = sides(table)
    train_rows, val_rows = table[side == "train"], table[side == "val"]
    if train_rows.empty or val_rows.empty:
        raise UserError(f"the videos CSV needs training and validation rows; it has {len(train_rows)} and "
                        f"{len(val_rows)} ({int((side == 'test').sum())} test rows are left to evaluate.py)")
    faces = read_face_config(cfg.root_dir)
    if faces and cfg.num_frames > faces["window_len"]:
        raise UserError(f"--num_frames {cfg.num_frames} is more than the {faces['window_len']} consecutive frames per "
                        f"window that {cfg.root_dir} holds: frames would repeat; use --num_frames {faces['window_len']} "
                        f"or less, or prepare again with a larger --window_len")
    n_windows = faces.get("n_windows", FaceConfig.n_windows)  # JPEG folders and mp4 rows: the same windows
    common = dict(root_dir=cfg.root_dir, num_frames=cfg.num_frames, crop_size=cfg.crop_size, n_windows=n_windows,
                  seed=seed)
    return DataBundle(
        train=VideoClipDataset(table=train_rows, train=True, augment=cfg.augment,
                               clips_per_video=cfg.clips_per_video, **common),
        val=VideoClipDataset(table=val_rows, train=False, **common),
        faces=faces,
    )


DATASETS = {"video": build_video_datasets}


def get_dataset(cfg, seed=0):
    if cfg.dataset not in DATASETS:
        raise UserError(f"unknown --dataset {cfg.dataset!r}; choose from {', '.join(sorted(DATASETS))}")
    return DATASETS[cfg.dataset](cfg, seed)
