"""The cross-dataset table: one row per (dataset, group) with 95% intervals, from per-video scores.

A group is `all`, each manipulation method (its fakes against all the dataset's real videos), and
each compression present (its real and fake videos). AUC, AP and EER need both classes: with one
class they are left empty, never 0.5.
"""
import math

import numpy as np
from sklearn.metrics import roc_auc_score

from utils.bootstrap import group_bootstrap
from utils.calibration import expected_calibration_error
from utils.metrics import LOGLOSS_EPS, video_metrics

COLUMNS = ["dataset", "group", "n_real", "n_fake", "auc", "auc_low", "auc_high", "log_loss", "log_loss_low",
           "log_loss_high", "ap", "eer", "balanced_acc", "ece", "frame_auc", "n_frames"]


def auc_of(y, p):
    return float(roc_auc_score(y, p))


def log_loss_of(y, p):
    p = np.clip(p, LOGLOSS_EPS, 1 - LOGLOSS_EPS)  # the same clip as utils/metrics.py (Kaggle's scorer)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def subsets(videos):
    """(group name, boolean mask over videos) for every group of one dataset's videos."""
    real = (videos["label"] == 0).to_numpy()
    out = [("all", np.ones(len(videos), bool))]
    for method in sorted(set(videos.loc[~real, "method"]) - {"", "original"}):
        out.append((f"method={method}", real | (videos["method"] == method).to_numpy()))
    compressions = sorted(set(videos["compression"]) - {""})
    if len(compressions) > 1 or (compressions and len(out) > 1):
        out += [(f"compression={c}", (videos["compression"] == c).to_numpy()) for c in compressions]
    return out


def row(dataset, group, videos, frames, n_boot, seed):
    """One table row: the figures of `videos` (label, prob, group columns), frame-level AUC from `frames`."""
    y, p, g = videos["label"].to_numpy(), videos["prob"].to_numpy(), videos["group"].to_numpy()
    out = dict(dataset=dataset, group=group, n_real=int((y == 0).sum()), n_fake=int((y == 1).sum()))
    if not len(y):
        return out
    m = video_metrics(y, p)
    both = out["n_real"] and out["n_fake"]
    out.update(auc=m["auc"], log_loss=m["log_loss"], ap=m["ap"], eer=m["eer"], balanced_acc=m["balanced_acc"],
               ece=expected_calibration_error(y, p))
    out["auc_low"], out["auc_high"] = group_bootstrap(y, p, g, auc_of, n_boot, seed) if both else (math.nan, math.nan)
    out["log_loss_low"], out["log_loss_high"] = group_bootstrap(y, p, g, log_loss_of, n_boot, seed) if both else (math.nan,) * 2
    fy, fp = frames
    out["n_frames"] = int(len(fy))
    out["frame_auc"] = auc_of(fy, fp) if len(np.unique(fy)) == 2 else math.nan
    return out


def dataset_rows(dataset, videos, frame_table, n_boot=1000, seed=0):
    """Every group's row of one dataset. frame_table: per-frame (video index, label, prob) arrays."""
    rows = []
    fv, fy, fp = frame_table
    for group, mask in subsets(videos):
        keep = np.isin(fv, np.flatnonzero(mask))
        rows.append(row(dataset, group, videos[mask], (fy[keep], fp[keep]), n_boot, seed))
    return rows


def markdown(rows):
    """The table as Markdown, figures to 3 decimals, intervals as [low, high]; empty cells stay empty."""
    def fmt(v):
        return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"
    lines = ["| dataset | group | real | fake | video AUC [95% CI] | log loss [95% CI] | AP | EER | bal. acc | ECE | frame AUC |",
             "| --- | --- | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        auc = fmt(r.get("auc")) + (f" [{fmt(r.get('auc_low'))}, {fmt(r.get('auc_high'))}]" if fmt(r.get("auc_low")) else "")
        ll = fmt(r.get("log_loss")) + (f" [{fmt(r.get('log_loss_low'))}, {fmt(r.get('log_loss_high'))}]"
                                       if fmt(r.get("log_loss_low")) else "")
        lines.append(f"| {r['dataset']} | {r['group']} | {r['n_real']} | {r['n_fake']} | {auc} | {ll} | {fmt(r.get('ap'))} | "
                     f"{fmt(r.get('eer'))} | {fmt(r.get('balanced_acc'))} | {fmt(r.get('ece'))} | {fmt(r.get('frame_auc'))} |")
    return "\n".join(lines) + "\n"
