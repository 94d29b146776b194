"""Calibrated probabilities: one temperature, fitted on the validation videos after training.

A video's P(fake) is the mean of its clips' softmax(logits / T). T is chosen to minimise the
video-level log loss on validation (a 1-D bounded search, scipy); predict.py and evaluate.py
apply the T stored in the checkpoint. Calibration keeps the ranking of videos with one clip, and
moves AUC little otherwise; it is there to make log loss honest on new data.
"""
import numpy as np
from scipy.optimize import minimize_scalar

from utils.metrics import aggregate_per_video, video_metrics

ECE_BINS = 15
T_RANGE = (0.2, 10.0)  # a wider search overfits a small validation set
MIN_PER_CLASS = 5  # fewer validation videos of a class than this: no temperature is fitted (T = 1)


def expected_calibration_error(labels, probs, bins=ECE_BINS):
    """ECE over equal-width bins of the predicted class's confidence (the usual definition)."""
    labels, probs = np.asarray(labels), np.asarray(probs, dtype=np.float64)
    if not len(labels):
        return float("nan")
    confidence = np.maximum(probs, 1 - probs)
    correct = (probs >= 0.5).astype(int) == labels
    edges = np.linspace(0.5, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            ece += sel.mean() * abs(correct[sel].mean() - confidence[sel].mean())
    return float(ece)


def video_probs(clip_videos, clip_logits, temperature=1.0):
    """Clip logits (N, 2) -> (video ids, P(fake) per video) at a temperature."""
    return aggregate_per_video(clip_videos, np.asarray(clip_logits, dtype=np.float64) / temperature)


def fit_temperature(clip_videos, clip_logits, videos, labels):
    """The temperature that minimises validation log loss, with the figures before and after."""
    label_of = dict(zip(np.asarray(videos).tolist(), np.asarray(labels).tolist()))

    def scored(t):
        ids, probs = video_probs(clip_videos, clip_logits, t)
        return np.array([label_of[i] for i in ids]), probs

    def loss(log_t):
        y, p = scored(np.exp(log_t))
        return video_metrics(y, p)["log_loss"]

    y0, p0 = scored(1.0)
    out = dict(temperature=1.0, n_videos=int(len(y0)), log_loss_before=float("nan"), log_loss_after=float("nan"),
               ece_before=float("nan"), ece_after=float("nan"))
    if len(y0) == 0:
        return out
    temperature = 1.0
    if min((y0 == 0).sum(), (y0 == 1).sum()) >= MIN_PER_CLASS:  # one class alone would push T to an extreme
        found = minimize_scalar(loss, bounds=np.log(T_RANGE), method="bounded", options=dict(xatol=1e-4))
        temperature = float(np.exp(found.x)) if loss(found.x) < loss(0.0) else 1.0
    y1, p1 = scored(temperature)
    out.update(temperature=temperature, log_loss_before=video_metrics(y0, p0)["log_loss"],
               log_loss_after=video_metrics(y1, p1)["log_loss"], ece_before=expected_calibration_error(y0, p0),
               ece_after=expected_calibration_error(y1, p1))
    return out
