"""CSV rows -> clips, from JPEG folders (the seed's format), mp4 files and bad samples."""
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from datasets.clip_augment import augment_clip
from datasets.video_dataset import VideoClipDataset, collate_clips

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"


def write_jpeg_folder(folder, n, size=40):
    """Frames whose brightness is 10 * their index, named like the seed's crops."""
    folder.mkdir(parents=True)
    for i in range(n):
        cv2.imwrite(str(folder / f"face_{i}.jpg"), np.full((size, size, 3), 10 * i, np.uint8))


def table(*rows):
    return pd.DataFrame([dict(name=n, label=lab, is_valid=v) for n, lab, v in rows])


def test_jpeg_folder_clips_are_consecutive_frames(tmp_path):
    write_jpeg_folder(tmp_path / "fake" / "aaa", 12)
    ds = VideoClipDataset(tmp_path, table(("fake/aaa", 1, True)), num_frames=4, crop_size=32, train=False, n_windows=3)
    assert len(ds) == 3  # one item per evaluation window
    for index in range(3):
        item = ds[index]
        assert item["ok"] and item["label"] == 1 and item["clip"].shape == (4, 3, 32, 32)
        assert item["clip"].dtype.is_floating_point is False
        levels = item["clip"].float().mean(dim=(1, 2, 3)).numpy() / 10
        assert np.allclose(np.diff(levels), 1, atol=0.3)  # consecutive frame indices
    firsts = [ds[i]["clip"].float().mean().item() for i in range(3)]
    assert firsts[0] < firsts[1] < firsts[2]  # windows spread over the video


def test_frames_sorted_by_numeric_index(tmp_path):
    folder = tmp_path / "real" / "b"
    folder.mkdir(parents=True)
    for i in (10, 2, 1):
        cv2.imwrite(str(folder / f"b_{i}.jpg"), np.full((20, 20, 3), 10 * i, np.uint8))
    ds = VideoClipDataset(tmp_path, table(("real/b", 0, True)), num_frames=3, crop_size=16, train=False, n_windows=1)
    levels = ds[0]["clip"].float().mean(dim=(1, 2, 3)).numpy() / 10
    assert np.allclose(levels, [1, 2, 10], atol=0.5)


def test_training_clips_from_mp4(tmp_path):
    rows = table(("ffpp/004.mp4", 0, False), ("ffpp/004_982.mp4", 1, False))
    ds = VideoClipDataset(SAMPLES, rows, num_frames=3, crop_size=48, train=True, seed=1)
    item = ds[(1, 0)]
    assert item["ok"] and item["label"] == 1 and item["clip"].shape == (3, 3, 48, 48)
    again = ds[(1, 0)]["clip"]
    assert (again == item["clip"]).all()  # same (index, epoch): same augmentation
    assert not (ds[(1, 1)]["clip"] == item["clip"]).all()  # another epoch: another draw


def test_short_video_repeats_frames(tmp_path):
    path = tmp_path / "short.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (32, 32))
    for i in range(3):
        writer.write(np.full((32, 32, 3), 60 * i, np.uint8))
    writer.release()
    ds = VideoClipDataset(tmp_path, table(("short.mp4", 0, True)), num_frames=8, crop_size=16, train=False, n_windows=2)
    assert all(ds[i]["ok"] and ds[i]["clip"].shape == (8, 3, 16, 16) for i in range(2))


def test_bad_samples_are_reported_not_raised(tmp_path):
    write_jpeg_folder(tmp_path / "good", 4)
    write_jpeg_folder(tmp_path / "broken", 4)
    (tmp_path / "broken" / "face_1.jpg").write_bytes(b"not a jpeg")
    (tmp_path / "empty.mp4").write_bytes(b"")
    rows = table(("good", 0, True), ("broken", 1, True), ("absent.mp4", 1, True), ("empty.mp4", 0, True))
    ds = VideoClipDataset(tmp_path, rows, num_frames=4, crop_size=16, train=False, n_windows=1)
    items = [ds[i] for i in range(len(ds))]
    assert [it["ok"] for it in items] == [True, False, False, False]
    assert [it["reason"] for it in items[1:]] == ["bad_image", "missing", "unreadable"]
    batch = collate_clips(items)
    assert batch["clip"].shape[0] == 1 and batch["label"].tolist() == [0]
    assert sorted(r for _, r in batch["bad"]) == ["bad_image", "missing", "unreadable"]


def test_augmentation_is_the_same_for_every_frame():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (1, 40, 40, 3), dtype=np.uint8)
    for seed in range(20):
        out = augment_clip(np.repeat(frame, 5, axis=0), 32, np.random.default_rng(seed))
        assert out.shape == (5, 32, 32, 3)
        assert (out == out[:1]).all(), "frames of one clip must share augmentation parameters"


@pytest.mark.parametrize("train", [True, False])
def test_real_dfdc_clip_shapes(train):
    rows = table(("dfdc/brtujopkby.mp4", 1, not train))  # portrait 1080x1920
    ds = VideoClipDataset(SAMPLES, rows, num_frames=2, crop_size=32, train=train, n_windows=1)
    item = ds[(0, 0)] if train else ds[0]
    assert item["ok"] and item["clip"].shape == (2, 3, 32, 32)
