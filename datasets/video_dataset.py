"""CSV rows -> clips: uint8 tensors (T, 3, H, W) with an integer label (1 = fake).

Clips stay uint8 until they reach the device, where the model converts and normalises them:
a quarter of the bytes through the loader, pinned memory and the host-to-device copy.
Training draws `clips_per_video` clips per video per epoch, each from a random window;
evaluation yields every window of every video as its own item (datasets/clips.py builds it),
and the video's score is the mean over its windows.
A bad sample never raises: it comes back with ok=False and a reason, and the collate function
drops it from the batch and lists it.
"""
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from datasets.clip_augment import augment_clip, eval_clip
from datasets.clip_sources import frames_from_cache, frames_from_images, frames_from_video
from datasets.clips import evaluation_clip
from datasets.windows import sub_window
from utils.errors import SampleError
from utils.paths import is_safe_relative
from utils.seeding import sample_rng


class VideoClipDataset(Dataset):
    def __init__(self, root_dir, table, num_frames, crop_size, train, n_windows=4, seed=0, augment=False,
                 clips_per_video=1):
        self.root = Path(root_dir)
        self.table = table.reset_index(drop=True)
        self.num_frames = num_frames
        self.crop_size = crop_size
        self.train = train
        self.n_windows = max(1, int(n_windows))
        self.seed = seed
        self.augment = augment and train
        per_video = range(clips_per_video) if train else range(self.n_windows)  # draws, or windows
        self.items = [(row, k) for row in range(len(self.table)) for k in per_video]

    # What the trainer and evaluate.py need to know of the videos, without reading the table.
    @property
    def labels(self):
        return self.table["label"].to_numpy()

    @property
    def names(self):
        return self.table["name"].astype(str).to_numpy()

    def column(self, name):
        """A per-video column (fake_kind, method, dataset, ...) as strings; None when the CSV lacks it."""
        if name not in self.table.columns:
            return None
        return self.table[name].fillna("").astype(str).to_numpy()

    def kinds(self):
        """What validation AUC is broken down by: the manipulation method (prepare.py's column), else
        the demo's fake_kind; None when the CSV has neither."""
        for column in ("method", "fake_kind"):
            values = self.column(column)
            if values is not None and len(set(values[self.labels == 1]) - {"", "unknown"}):
                return values
        return None

    def sample_clips(self, preds, per_class=2):
        """A few evaluation clips (each video's first window) with their P(fake), label and name, for
        TensorBoard; preds: the video ids, labels and P(fake) of an evaluation."""
        chosen = [i for c in (0, 1) for i in np.flatnonzero(preds["label"] == c)[:per_class]]
        items = [self[int(preds["video"][i]) * self.n_windows] for i in chosen]  # a video's windows are in a row
        keep = [i for i, it in zip(chosen, items) if it["ok"]]
        clips = [it["clip"].numpy() for it in items if it["ok"]]
        return (np.stack(clips) if clips else np.zeros((0, 1, 3, 8, 8), np.uint8), preds["prob"][keep],
                preds["label"][keep], [self.names[int(preds["video"][i])] for i in keep])

    def __len__(self):
        return len(self.items)

    def _load_frames(self, row, window, rng):
        rec = self.table.iloc[row]
        cache = str(rec.get("cache_path", "") or "")
        if cache:
            if rng is not None:
                window = int(rng.integers(0, self.n_windows))
            return frames_from_cache(self.root / cache, window)
        if not is_safe_relative(rec["name"]):
            raise SampleError("unsafe_path", rec["name"])
        path = self.root / rec["name"]
        if path.is_dir():
            return frames_from_images(path, window, self.n_windows, self.num_frames, rng)
        if not path.is_file() and path.with_name(path.name + ".mp4").is_file():
            path = path.with_name(path.name + ".mp4")
        if not path.exists():
            raise SampleError("missing", str(rec["name"]))
        return frames_from_video(path, window, self.n_windows, self.num_frames, rng)

    def _clip(self, frames, rng):
        if not self.train:
            return evaluation_clip(frames, self.num_frames, self.crop_size)
        frames = frames[sub_window(len(frames), self.num_frames, rng)]
        return augment_clip(frames, self.crop_size, rng) if self.augment else eval_clip(frames, self.crop_size)

    def __getitem__(self, key):
        # The sampler passes (index, epoch) so that augmentation depends on the epoch but not on
        # which worker loads the sample: a resumed run repeats an uninterrupted one exactly.
        index, epoch = key if isinstance(key, tuple) else (key, 0)
        row, window = self.items[index]
        item = dict(label=int(self.table["label"].iat[row]), video=row, item=index, name=str(self.table["name"].iat[row]))
        rng = sample_rng(self.seed, epoch, index) if self.train else None
        try:
            frames = self._clip(self._load_frames(row, window, rng), rng)
        except SampleError as err:
            return dict(item, ok=False, reason=err.reason, clip=None)
        clip = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
        return dict(item, ok=True, reason="", clip=clip)


def collate_clips(items):
    """Stack the good samples; list the bad ones as (name, reason) under 'bad'."""
    good = [it for it in items if it["ok"]]
    batch = {
        "bad": [(it["name"], it["reason"]) for it in items if not it["ok"]],
        "label": torch.tensor([it["label"] for it in good], dtype=torch.long),
        "video": torch.tensor([it["video"] for it in good], dtype=torch.long),
        "item": torch.tensor([it["item"] for it in good], dtype=torch.long),
    }
    batch["clip"] = torch.stack([it["clip"] for it in good]) if good else torch.empty(0, dtype=torch.uint8)
    return batch
