"""Video-level detection metrics and clip-to-video aggregation (scikit-learn does the maths).

Labels are 1 = FAKE, 0 = REAL; probabilities are P(fake). Everything returned is a plain Python
float/int/list, so it goes straight into metrics.csv or JSON (see `to_jsonable` for NaN).
"""
import math
import warnings

import numpy as np
from scipy.special import expit
from sklearn.metrics import (accuracy_score, average_precision_score, balanced_accuracy_score,
                             confusion_matrix, log_loss, roc_auc_score, roc_curve)

# Log loss clips probabilities to [eps, 1 - eps]. 1e-15 is the clip of Kaggle's own log-loss
# scorer, which judged DFDC, so our figures compare with the leaderboard: one confident wrong
# answer costs -ln(1e-15) = 34.5, exactly as it did there. It is only a numerical guard: clipping
# predictions to e.g. [0.01, 0.99] to hedge against that cost is a submission strategy, not part
# of the metric, and is left to the user.
LOGLOSS_EPS = 1e-15

AGGREGATIONS = ("prob", "logit")
# Averaging clip probabilities, as the DFDC winners did: one overconfident clip cannot dominate a
# video's score, which is what log loss punishes; training's evaluation and predict.py share it.
DEFAULT_AGGREGATION = "prob"


def _check(labels, probs):
    labels = np.asarray(labels).astype(np.int64).ravel()
    probs = np.asarray(probs, dtype=np.float64).ravel()
    if labels.shape != probs.shape or labels.size == 0:
        raise ValueError(f"need as many labels as probabilities, at least one "
                         f"(got {labels.size} labels, {probs.size} probabilities)")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("labels must be 0 (REAL) or 1 (FAKE)")
    if not np.isfinite(probs).all() or (probs < 0).any() or (probs > 1).any():
        raise ValueError("probabilities must be finite and in [0, 1]")
    return labels, probs


def equal_error_rate(labels, probs):
    """Error rate where the false positive and false negative rates are equal.

    Read off the ROC curve: FNR - FPR falls from 1 to -1 along it; the EER is where it crosses 0,
    interpolated linearly between the two ROC points on either side. NaN for a single class.
    """
    labels, probs = _check(labels, probs)
    if len(np.unique(labels)) < 2:
        return math.nan
    fpr, tpr, _ = roc_curve(labels, probs, drop_intermediate=False)
    gap = (1.0 - tpr) - fpr
    i = int(np.argmax(gap <= 0))  # first point at or past the crossing (the last point has gap -1)
    if gap[i] == 0 or i == 0:
        return float(fpr[i])
    t = gap[i - 1] / (gap[i - 1] - gap[i])
    return float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))


def video_metrics(labels, probs, threshold=0.5):
    """All the per-video scores: log loss, AUC, AP, accuracy, balanced accuracy, EER, confusion.

    AUC, AP and EER need both classes; with one class they are NaN (no exception, no warning).
    """
    labels, probs = _check(labels, probs)
    both = len(np.unique(labels)) == 2
    preds = (probs >= threshold).astype(np.int64)
    clipped = np.clip(probs, LOGLOSS_EPS, 1 - LOGLOSS_EPS)
    with warnings.catch_warnings():
        # balanced accuracy with one class present warns, then averages the class that exists
        warnings.simplefilter("ignore")
        balanced = balanced_accuracy_score(labels, preds)
    return {
        "log_loss": float(log_loss(labels, clipped, labels=[0, 1])),
        "auc": float(roc_auc_score(labels, probs)) if both else math.nan,
        "ap": float(average_precision_score(labels, probs)) if both else math.nan,
        "acc": float(accuracy_score(labels, preds)),
        "balanced_acc": float(balanced),
        "eer": equal_error_rate(labels, probs),
        "confusion": confusion_matrix(labels, preds, labels=[0, 1]).tolist(),
        "n": int(labels.size),
        "n_real": int((labels == 0).sum()),
        "n_fake": int((labels == 1).sum()),
    }


def metrics_by_group(labels, probs, groups, reference_label=0):
    """ROC AUC of each group of positives (e.g. each fake_kind) against all the references (reals).

    Returns {group: auc} as plain floats, groups in first-seen order (NaN when there are no
    references). The reference rows' own group values are ignored.
    """
    labels, probs = _check(labels, probs)
    groups = np.asarray(groups, dtype=object).ravel()
    if groups.shape != labels.shape:
        raise ValueError("need one group per label")
    ref = labels == reference_label
    out = {}
    for group in dict.fromkeys(groups[~ref]):
        sel = ref | (groups == group)
        out[str(group)] = float(roc_auc_score(~ref[sel], probs[sel])) if ref.any() else math.nan
    return out


def aggregate_per_video(video_ids, scores, how=DEFAULT_AGGREGATION):
    """Combine clip scores into one P(fake) per video.

    scores: (N, 2) logits [real, fake] per clip. how="prob" averages the clips' softmax P(fake);
    how="logit" averages the fake-minus-real logit margin and then applies the sigmoid (a
    geometric-style mean: confident clips dominate). Returns (ids in first-seen order, probs).
    """
    if how not in AGGREGATIONS:
        raise ValueError(f"how must be one of {AGGREGATIONS}, not {how!r}")
    scores = np.asarray(scores, dtype=np.float64)
    ids = np.asarray(video_ids).ravel()
    if scores.ndim != 2 or scores.shape[1] != 2 or len(scores) != len(ids):
        raise ValueError(f"scores must be (N, 2) logits, one row per video id; got {scores.shape}"
                         f" for {len(ids)} ids")
    margin = scores[:, 1] - scores[:, 0]  # softmax P(fake) of 2 logits == sigmoid(margin)
    unique, inverse = np.unique(ids, return_inverse=True)
    counts = np.bincount(inverse, minlength=len(unique))
    if how == "prob":
        agg = np.bincount(inverse, weights=expit(margin), minlength=len(unique)) / counts
    else:
        agg = expit(np.bincount(inverse, weights=margin, minlength=len(unique)) / counts)
    order = np.sort(np.unique(inverse, return_index=True)[1])  # first occurrence of each id
    first_seen = inverse[order]
    return unique[first_seen].tolist(), agg[first_seen]


def to_jsonable(value):
    """Replace NaN by None (JSON null) recursively; json.dump would write a non-standard NaN."""
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
