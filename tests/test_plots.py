"""Every plot is written, opens as a PNG, and leaves no temp file behind."""
import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from utils.plots import plot_curves, plot_roc, plot_score_hist, plot_timeline

HISTORY = [
    {"epoch": 1, "train_loss": 0.7, "val_loss": 0.69, "train_acc": 0.5, "val_acc": 0.52,
     "train_log_loss": 0.7, "val_log_loss": 0.69, "val_auc": 0.55},
    {"epoch": 2, "train_loss": 0.5, "val_loss": 0.6, "train_acc": 0.7, "val_acc": 0.65,
     "train_log_loss": 0.5, "val_log_loss": 0.6, "val_auc": float("nan")},
]


def _assert_png(path):
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize("history", [HISTORY, pd.DataFrame(HISTORY), HISTORY[:1], []])
def test_curves(tmp_path, history):
    path = plot_curves(history, tmp_path / "curves.png")
    _assert_png(path)


@pytest.mark.parametrize("labels", [[0, 0, 1, 1], [1, 1, 1, 1]])
def test_roc_and_histogram(tmp_path, labels):
    probs = [0.1, 0.4, 0.35, 0.8]
    _assert_png(plot_roc(labels, probs, tmp_path / "roc.png"))
    _assert_png(plot_score_hist(labels, probs, tmp_path / "hist.png"))


def test_timeline_with_two_windows(tmp_path):
    frames = [10, 11, 12, 13, 200, 201, 202, 203]
    probs = np.linspace(0, 1, len(frames))
    path = plot_timeline(probs, frames, tmp_path / "timeline.png", title="clip.mp4")
    _assert_png(path)


def test_overwrites_existing_png(tmp_path):
    path = tmp_path / "roc.png"
    path.write_bytes(b"old")
    plot_roc([0, 1], [0.2, 0.7], path)
    _assert_png(path)
