"""PNG plots of training curves, ROC, score histograms and per-frame timelines.

Figures are built with matplotlib's object API (Figure + its Agg canvas) instead of pyplot: no
window, no display needed, no global backend switch that would break a notebook importing this,
and no figure left open in pyplot's registry. Each PNG is written atomically (temp + os.replace),
so a crash never leaves half an image.
"""
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from sklearn.metrics import roc_auc_score, roc_curve

from utils.atomic import atomic_path

# curves.png panels: (title, metric name); metrics.csv columns are f"{split}_{metric}"
CURVE_PANELS = (("loss", "loss"), ("accuracy", "acc"), ("log loss", "log_loss"), ("ROC AUC", "auc"))
SPLITS = {"train": "tab:blue", "val": "tab:orange"}  # same colour for a split in every panel


def _new_figure(width=6.0, height=4.5, **subplots):
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(**subplots)


def _save(fig, path):
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    return Path(path)


def _both_classes(labels):
    return len(np.unique(labels)) == 2


def plot_curves(history, path):
    """Loss, accuracy, log loss and AUC against epoch, train and validation.

    history: list of dicts or a DataFrame of metrics.csv with an "epoch" column and columns
    like train_loss, val_loss, train_acc, val_auc...; absent columns are simply not drawn.
    """
    rows = history.to_dict("records") if hasattr(history, "to_dict") else list(history)
    fig, axes = _new_figure(10, 7, nrows=2, ncols=2)
    epochs = [r.get("epoch", i + 1) for i, r in enumerate(rows)]
    for ax, (title, metric) in zip(axes.flat, CURVE_PANELS):
        for split, color in SPLITS.items():
            values = [r.get(f"{split}_{metric}") for r in rows]
            values = np.array([np.nan if v is None else v for v in values], dtype=float)
            if np.isfinite(values).any():
                ax.plot(epochs, values, marker="o", color=color, label=split)
        ax.set(title=title, xlabel="epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if ax.has_data():
            ax.legend()
        else:
            ax.text(0.5, 0.5, "not recorded", ha="center", va="center", transform=ax.transAxes)
    return _save(fig, path)


def plot_roc(labels, probs, path):
    """ROC curve of P(fake) with its AUC; a note instead when only one class is present."""
    return plot_roc_curves({"": (labels, probs)}, path)


def plot_roc_curves(curves, path):
    """One ROC curve per named (labels, P(fake)) pair, each with its AUC (evaluate.py: one per
    dataset); a curve of one class only is named in a note instead."""
    fig, ax = _new_figure(5, 5)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    missing = []
    for name, (labels, probs) in curves.items():
        labels, probs = np.asarray(labels), np.asarray(probs, dtype=float)
        if _both_classes(labels):
            fpr, tpr, _ = roc_curve(labels, probs)
            ax.plot(fpr, tpr, label=f"{name + ': ' if name else ''}AUC = {roc_auc_score(labels, probs):.3f}")
        else:
            missing.append(name or "these videos")
    if missing:
        ax.text(0.5, 0.3, f"ROC needs both REAL and FAKE videos ({', '.join(missing)})", ha="center", wrap=True)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC",
           xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(loc="lower right")
    return _save(fig, path)


def plot_score_hist(labels, probs, path, bins=20):
    """Histogram of P(fake) for the REAL and the FAKE videos."""
    labels, probs = np.asarray(labels), np.asarray(probs, dtype=float)
    fig, ax = _new_figure()
    edges = np.linspace(0, 1, bins + 1)
    for value, name, color in ((0, "REAL", "tab:blue"), (1, "FAKE", "tab:red")):
        ax.hist(probs[labels == value], bins=edges, alpha=0.6, color=color,
                label=f"{name} (n={int((labels == value).sum())})")
    ax.axvline(0.5, color="grey", linestyle="--")
    ax.set(xlabel="P(fake)", ylabel="videos", title="scores per class", xlim=(0, 1))
    ax.legend()
    return _save(fig, path)


def plot_timeline(per_frame_probs, frame_indices, path, title=""):
    """Per-frame P(fake) over a video; the line breaks between non-adjacent windows."""
    probs = np.asarray(per_frame_probs, dtype=float).ravel()
    frames = np.asarray(frame_indices, dtype=float).ravel()
    order = np.argsort(frames, kind="stable")
    probs, frames = probs[order], frames[order]
    gaps = np.flatnonzero(np.diff(frames) > 1) + 1  # NaN at a gap stops the line there
    fig, ax = _new_figure(8, 3.5)
    ax.plot(np.insert(frames, gaps, np.nan), np.insert(probs, gaps, np.nan), marker=".")
    ax.axhline(0.5, color="grey", linestyle="--")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="frame", ylabel="P(fake)", ylim=(-0.02, 1.02), title=title or "P(fake) per frame")
    return _save(fig, path)
