"""benchmarks/ablation.py's table: seeds averaged on the same videos, cv folds pooled, per-kind
AUC, intervals from the group bootstrap. (Its runs are train.py and evaluate.py, tested elsewhere.)"""
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from benchmarks.ablation import build_table, job_folder, markdown


def write_run(work, bench, recipe, part, seed, videos, probs, raw_probs):
    folder = job_folder(work, bench, recipe, part, seed)
    for tag, p in (("eval", probs), ("eval_raw", raw_probs)):
        (folder / tag).mkdir(parents=True)
        videos.assign(prob=p).to_csv(folder / tag / "scores.csv", index=False)
    record = dict(recipe=recipe, bench=bench, part=part, seed=seed, train_seconds=60.0 * (seed + 1))
    (folder / "job.json").write_text(json.dumps(record))
    return record


def videos_frame(names, labels, methods):
    return pd.DataFrame(dict(dataset="d", name=names, label=labels, windows=4, method=methods, compression="",
                             group=[f"g{i // 2}" for i in range(len(names))]))


def test_seeds_are_averaged_and_kinds_split(tmp_path):
    rng = np.random.default_rng(0)
    n = 40
    labels = np.tile([0, 1], n // 2)
    methods = np.where(labels == 1, np.where(np.arange(n) % 4 == 1, "swap", "flicker"), "original")
    videos = videos_frame([f"v{i}.mp4" for i in range(n)], labels, methods)
    records, per_seed = [], []
    for seed in (0, 1, 2):
        probs = np.clip(labels * 0.3 + rng.uniform(0, 0.7, n), 0.01, 0.99)
        per_seed.append(roc_auc_score(labels, probs))
        records.append(write_run(tmp_path, "synthetic", "defaults", 0, seed, videos, probs, probs ** 0.5))
    table = build_table(records, tmp_path, ["synthetic"], ["defaults"], {"synthetic": "all"}, n_boot=200)
    row = table.iloc[0]
    mean, interval = row["auc"].split(" [")
    assert float(mean) == pytest.approx(np.mean(per_seed), abs=1e-3)
    low, high = (float(x) for x in interval.rstrip("]").split(", "))
    assert low < float(mean) < high
    assert row["seeds"] == 3 and (row["n_real"], row["n_fake"]) == (20, 20)
    assert row["train_min"] == "2.0"  # the median of 1, 2 and 3 minutes
    assert row["log_loss_raw"] != row["log_loss"].split(" ")[0]  # the uncalibrated scores are read separately
    kinds = dict(part.split(" ") for part in row["auc_by_kind"].split(", "))
    assert set(kinds) == {"flicker", "swap"}
    assert "| synthetic | defaults | 3 | 20/20 |" in markdown(table)


def test_cv_folds_are_pooled_and_a_method_row_keeps_every_real(tmp_path):
    records = []
    for part in range(3):
        names = [f"f{part}_{i}.mp4" for i in range(8)]
        labels = np.tile([0, 1], 4)
        methods = np.where(labels == 1, np.where(np.arange(8) % 4 == 1, "Face2Face", "Deepfakes"), "original")
        probs = np.where(labels == 1, 0.8, 0.2)
        records.append(write_run(tmp_path, "ffpp_cv3", "real.yaml", part, 0, videos_frame(names, labels, methods),
                                 probs, probs))
    table = build_table(records, tmp_path, ["ffpp_cv3"], ["real.yaml"], {"ffpp_cv3": "all"}, n_boot=100)
    assert (table.iloc[0]["n_real"], table.iloc[0]["n_fake"]) == (12, 12)  # 3 folds x 4 + 4
    assert table.iloc[0]["auc"].startswith("1.000")
    f2f = build_table(records, tmp_path, ["ffpp_cv3"], ["real.yaml"], {"ffpp_cv3": "method=Face2Face"}, n_boot=100)
    assert (f2f.iloc[0]["n_real"], f2f.iloc[0]["n_fake"]) == (12, 6)
