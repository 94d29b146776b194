"""utils.tensorboard_log: event files TensorBoard can read, with the tags the trainer's rows give;
a no-op when disabled or when the tensorboard package is missing."""
import builtins
import warnings

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from utils.plots import plot_curves
from utils.tensorboard_log import TensorBoardLog

ROW = dict(epoch=1, train_loss=0.7, train_acc=0.5, val_loss=0.69, val_log_loss=0.69, val_auc=float("nan"), lr=1e-3)
TIMING = dict(epoch=1, seconds=2.5, train_clips_per_s=12.0, data_wait_share=0.1, peak_rss_mb=900.0, peak_gpu_mb=float("nan"))


def read_events(run_dir):
    acc = EventAccumulator(str(run_dir), size_guidance={"images": 0, "scalars": 0, "tensors": 0})
    acc.Reload()
    return acc


def test_epochs_and_clips_are_readable(tmp_path):
    curves = plot_curves([ROW, {**ROW, "epoch": 2, "train_loss": 0.5}], tmp_path / "curves.png")
    tb = TensorBoardLog(tmp_path / "run")
    for epoch in (1, 2):
        tb.epoch(epoch, {**ROW, "epoch": epoch, "train_loss": 0.7 / epoch}, TIMING, curves=curves)
    clips = np.random.default_rng(0).integers(0, 255, (3, 4, 16, 16, 3), dtype=np.uint8)
    tb.clips(2, clips, probs=[0.9, 0.2, 0.5], labels=[1, 0, 1], names=["a.mp4", "b.mp4", "c.mp4"])
    tb.close()
    acc = read_events(tmp_path / "run")
    scalars = set(acc.Tags()["scalars"])
    assert {"train/loss", "train/acc", "val/loss", "val/log_loss", "train/lr", "speed/seconds",
            "speed/train_clips_per_s", "speed/data_wait_share"} <= scalars
    assert "val/auc" not in scalars and "speed/peak_gpu_mb" not in scalars  # NaN: nothing to draw
    assert [(e.step, round(e.value, 4)) for e in acc.Scalars("train/loss")] == [(1, 0.7), (2, 0.35)]
    images = set(acc.Tags()["images"])
    assert {"curves", "val_clips/0", "val_clips/1", "val_clips/2"} <= images
    grid = acc.Images("val_clips/0")[0]
    assert (grid.width, grid.height) == (4 * 16, 16)  # the clip's frames side by side
    texts = [t for t in acc.Tags()["tensors"] if t.startswith("val_clips/0")]
    caption = acc.Tensors(texts[0])[0].tensor_proto.string_val[0].decode()
    assert "a.mp4 FAKE: P(fake) 0.900" in caption


def test_disabled_writes_nothing(tmp_path):
    tb = TensorBoardLog(tmp_path / "run", enabled=False)
    tb.epoch(1, ROW, TIMING)
    tb.clips(1, np.zeros((1, 2, 8, 8, 3), np.uint8), [0.5])
    tb.close()
    assert not tb.enabled and not (tmp_path / "run").exists()


def test_without_tensorboard_one_warning_then_no_op(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("torch.utils.tensorboard") or name.startswith("tensorboard"):
            raise ImportError("No module named 'tensorboard'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tb = TensorBoardLog(tmp_path / "run")
        tb.epoch(1, ROW, TIMING)
        tb.close()
    assert len(caught) == 1 and "tensorboard" in str(caught[0].message).lower()
    assert len(str(caught[0].message).splitlines()) == 1
    assert not tb.enabled and not list(tmp_path.rglob("events.out.tfevents*"))
