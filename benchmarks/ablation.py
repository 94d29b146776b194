"""The ablation table: the demo-tuned defaults, each ingredient of configs/real.yaml added on its
own, and the whole recipe, over several seeds, on benchmarks the defaults were not designed on.

    python -m benchmarks.ablation --ffpp data/ffpp_c23 --synthetic data/synth_train data/synth_test --out ablation

Benchmarks (each leak-free by group: an FF++ pair, a synthetic original with its fakes):
  synthetic        train on one generator seed and setting (--synthetic TRAIN), score every video
                   of another (--synthetic ... TEST, prepared by prepare.py with its defaults)
  ffpp_identities  the prepared FF++ folder's own split: held-out pairs of every method
  ffpp_unseen_f2f  Face2Face left out of training and validation; its test fakes against the
                   test originals (benchmarks/unseen_method.py)
  ffpp_cv3         3-fold cross-validation over pairs (benchmarks/cv_folds.py); the folds' test
                   scores are pooled, so every video is scored once per seed

Every run is `python train.py <recipe flags> --root_dir SPLIT --seed S`, then evaluate.py on its
best.pth, calibrated and --uncalibrated. Runs already finished under --out are not run again, so
an interrupted table resumes. A figure is the mean over seeds, with a 95% bootstrap interval over
the test set's groups (each resample averages the seeds' metrics on the same videos; none for
ECE, which binning biases upwards on resamples) and the seeds' range. Time is the median training wall time of one run (one fold for cv).
"""
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.cv_folds import cv_folds
from benchmarks.unseen_method import hold_out
from utils.bootstrap import group_bootstrap
from utils.calibration import expected_calibration_error
from utils.cli import OneLineParser
from utils.errors import UserError, exit_on_user_error
from utils.results_table import auc_of, log_loss_of

PROJECT = Path(__file__).resolve().parents[1]
# Each ingredient on its own, with the value configs/real.yaml gives it.
RECIPES = {
    "defaults": [],
    "+ clips_per_video 4": ["--clips_per_video", "4"],
    "+ augment": ["--augment", "True"],
    "+ optimisation": ["--weight_decay", "0.05", "--warmup_epochs", "1", "--grad_clip", "1", "--ema_decay", "0.99"],
    "+ 4 frames": ["--num_frames", "4", "--batch_size", "16"],
    "real.yaml": ["--config", "configs/real.yaml"],
}
BENCHMARKS = ("synthetic", "ffpp_identities", "ffpp_unseen_f2f", "ffpp_cv3")
CV_FOLDS = 3


def slug(text):
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def benchmark_folders(name, args, work):
    """[(train folder, evaluate folder, evaluate split, subset of the table)] of one benchmark."""
    if name == "synthetic":
        if not args.synthetic:
            raise UserError("the synthetic benchmark needs --synthetic TRAIN TEST (two prepared folders)")
        train, test = args.synthetic
        return [(Path(train), Path(test), "all", "all")]
    if not args.ffpp:
        raise UserError(f"the {name} benchmark needs --ffpp (a prepared FaceForensics++ folder)")
    if name == "ffpp_identities":
        return [(Path(args.ffpp), Path(args.ffpp), "test", "all")]
    if name == "ffpp_unseen_f2f":
        folder = work / "splits" / "ffpp_no_f2f"
        if not (folder / "videos_df.csv").is_file():
            hold_out(args.ffpp, "Face2Face", folder)
        return [(folder, folder, "test", "method=Face2Face")]
    folders = [work / "splits" / "ffpp_cv" / f"fold_{k}" for k in range(CV_FOLDS)]
    if not all((f / "videos_df.csv").is_file() for f in folders):
        folders = cv_folds(args.ffpp, CV_FOLDS, work / "splits" / "ffpp_cv")
    return [(f, f, "test", "all") for f in folders]


def run_one(job, threads):
    """Train one recipe on one split with one seed, then evaluate it; returns the job's record."""
    recipe, bench, part, seed, (train_root, test_root, split, _), folder = job
    record_path = folder / "job.json"
    if record_path.is_file():
        return json.loads(record_path.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    train = [sys.executable, "train.py", *RECIPES[recipe], "--root_dir", str(train_root), "--seed", str(seed),
             "--save_model_path", str(folder), "--run_name", "run", "--keep_epochs", "1", "--workers", "1"]
    start = time.perf_counter()
    with open(folder / "train.log", "w") as log:
        done = subprocess.run(train, cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        return dict(recipe=recipe, bench=bench, part=part, seed=seed, failed=f"train.py exit {done.returncode}")
    for tag, extra in (("eval", []), ("eval_raw", ["--uncalibrated"])):
        cmd = [sys.executable, "evaluate.py", str(test_root), "--checkpoint", str(folder / "run" / "best.pth"),
               "--split", split, "--out", str(folder / tag), "--n_boot", "10", "--workers", "1", *extra]
        scored = subprocess.run(cmd, cwd=PROJECT, env=env, capture_output=True, text=True)
        if scored.returncode != 0:  # one failed run is listed, not fatal to the table
            return dict(recipe=recipe, bench=bench, part=part, seed=seed,
                        failed=f"evaluate.py exit {scored.returncode}: {scored.stderr.strip()[-200:]}")
    for path in (folder / "run").glob("*.pth"):  # keep the disk: best.pth stays, for reuse
        if path.name != "best.pth":
            path.unlink()
    record = dict(recipe=recipe, bench=bench, part=part, seed=seed, train_seconds=round(seconds, 1))
    record_path.write_text(json.dumps(record))
    return record


def scores_of(folder, tag, subset):
    """One run's scored videos in the table's `subset` (all, or method=M: M's fakes and every real)."""
    scores = pd.read_csv(folder / tag / "scores.csv", keep_default_na=False)
    scores["prob"] = scores["prob"].astype(float)
    if subset.startswith("method="):
        scores = scores[(scores["label"] == 0) | (scores["method"] == subset.split("=", 1)[1])]
    return scores


def across_seeds(metric):
    """A metric of (labels, probs[video, seed]): the mean of its value for each seed."""
    return lambda y, probs: float(np.mean([metric(y, probs[:, s]) for s in range(probs.shape[1])]))


def summarise(table_videos, n_boot, seed=0):
    """{metric: (mean over seeds, low, high, seed min, seed max)} from one cell's videos x seeds."""
    y = table_videos["label"].to_numpy()
    probs = table_videos.filter(like="seed_").to_numpy()
    groups = table_videos["group"].to_numpy()
    out = {}
    for name, metric in (("auc", auc_of), ("log_loss", log_loss_of), ("ece", expected_calibration_error)):
        per_seed = [metric(y, probs[:, s]) for s in range(probs.shape[1])]
        # no interval for ECE: binned on resamples with repeated videos it is biased upwards
        low, high = (group_bootstrap(y, probs, groups, across_seeds(metric), n_boot, seed) if name != "ece"
                     else (np.nan, np.nan))
        out[name] = (float(np.mean(per_seed)), low, high, min(per_seed), max(per_seed))
    return out


def cell_videos(records, bench, recipe, tag, subset, work):
    """One benchmark x recipe: every scored video with one prob column per seed (cv folds pooled)."""
    by_seed = {}
    for r in records:
        if r["bench"] == bench and r["recipe"] == recipe and "failed" not in r:
            folder = job_folder(work, bench, recipe, r["part"], r["seed"])
            by_seed.setdefault(r["seed"], []).append(scores_of(folder, tag, subset))
    if not by_seed:
        return None
    merged = None
    for seed, parts in sorted(by_seed.items()):
        keys = ["dataset", "name", "label", "group", "method"]
        frame = pd.concat(parts)[keys + ["prob"]].rename(columns={"prob": f"seed_{seed}"})
        merged = frame if merged is None else merged.merge(frame, on=keys)
    return merged


def job_folder(work, bench, recipe, part, seed):
    return work / "runs" / bench / slug(recipe) / f"part{part}_seed{seed}"


def kind_aucs(videos):
    """Per fake kind AUC (mean over seeds) for the synthetic benchmark: its fakes against all reals."""
    out = {}
    probs = videos.filter(like="seed_")
    for kind in sorted(set(videos.loc[videos["label"] == 1, "method"])):
        keep = ((videos["label"] == 0) | (videos["method"] == kind)).to_numpy()
        out[kind] = float(np.mean([auc_of(videos["label"][keep], probs[c][keep]) for c in probs.columns]))
    return out


def fmt(cell, digits=3):
    mean, low, high = cell[:3]
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def build_table(records, work, benches, recipes, subset_of, n_boot):
    rows = []
    for bench in benches:
        for recipe in recipes:
            cal = cell_videos(records, bench, recipe, "eval", subset_of[bench], work)
            raw = cell_videos(records, bench, recipe, "eval_raw", subset_of[bench], work)
            if cal is None:
                continue
            seeds = cal.filter(like="seed_").shape[1]
            s_cal, s_raw = summarise(cal, n_boot), summarise(raw, n_boot)
            times = [r["train_seconds"] for r in records if r["bench"] == bench and r["recipe"] == recipe
                     and "failed" not in r]
            row = dict(benchmark=bench, recipe=recipe, seeds=seeds, n_real=int((cal["label"] == 0).sum()),
                       n_fake=int((cal["label"] == 1).sum()), auc=fmt(s_cal["auc"]),
                       auc_seed_range=f"{s_cal['auc'][3]:.2f}-{s_cal['auc'][4]:.2f}",
                       log_loss_raw=f"{s_raw['log_loss'][0]:.3f}", log_loss=fmt(s_cal["log_loss"]),
                       ece_raw=f"{s_raw['ece'][0]:.3f}", ece=f"{s_cal['ece'][0]:.3f}",
                       train_min=f"{np.median(times) / 60:.1f}")
            if bench == "synthetic":
                kinds = kind_aucs(cal)
                row["auc_by_kind"] = ", ".join(f"{k} {v:.2f}" for k, v in kinds.items())
            rows.append(row)
    return pd.DataFrame(rows)


def markdown(table):
    head = ["benchmark", "recipe", "seeds", "real/fake", "AUC [95% CI]", "AUC seed range", "log loss raw",
            "log loss calibrated [95% CI]", "ECE raw", "ECE calibrated", "train min/run"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for _, r in table.iterrows():
        lines.append("| " + " | ".join([r["benchmark"], r["recipe"], str(r["seeds"]), f"{r['n_real']}/{r['n_fake']}",
                                        r["auc"], r["auc_seed_range"], r["log_loss_raw"], r["log_loss"], r["ece_raw"],
                                        r["ece"], r["train_min"]]) + " |")
    kinds = table.dropna(subset=["auc_by_kind"]) if "auc_by_kind" in table else table.iloc[:0]
    if len(kinds):
        lines += ["", "Synthetic AUC by fake kind (mean over seeds):", ""]
        lines += [f"- {r['recipe']}: {r['auc_by_kind']}" for _, r in kinds.iterrows()]
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = OneLineParser(prog="ablation", description=__doc__.split("\n\n")[0])
    p.add_argument("--ffpp", help="a prepared FaceForensics++ folder (prepare.py's output)")
    p.add_argument("--synthetic", nargs=2, metavar=("TRAIN", "TEST"),
                   help="two prepared synthetic folders from different generator seeds and settings")
    p.add_argument("--out", required=True, help="work folder: splits, runs, ablation.csv and ablation.md")
    p.add_argument("--benchmarks", nargs="+", default=list(BENCHMARKS), choices=BENCHMARKS)
    p.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES), metavar="RECIPE",
                   help=f"rows of the table (default all: {', '.join(RECIPES)})")
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--parallel", type=int, default=1,
                   help="runs at once; each gets cores / parallel threads (run nothing else beside it)")
    p.add_argument("--n_boot", type=int, default=1000, help="bootstrap resamples for the intervals")
    p.add_argument("--table_only", action="store_true", help="build the table from the finished runs; train nothing")
    args = p.parse_args(argv)
    with exit_on_user_error():
        work = Path(args.out)
        folders = {b: benchmark_folders(b, args, work) for b in args.benchmarks}
        subset_of = {b: folders[b][0][3] for b in args.benchmarks}
        # seed-major order: a stopped table still has whole seeds of every row
        jobs = [(recipe, bench, part, seed, split, job_folder(work, bench, recipe, part, seed))
                for seed in args.seeds for bench in args.benchmarks for recipe in args.recipes
                for part, split in enumerate(folders[bench])]
        threads = max(1, (os.cpu_count() or 1) // args.parallel)
        records = [json.loads((j[5] / "job.json").read_text()) for j in jobs if (j[5] / "job.json").is_file()]
        if not args.table_only:
            todo = [j for j in jobs if not (j[5] / "job.json").is_file()]
            print(f"{len(jobs) - len(todo)} runs done, {len(todo)} to run, {args.parallel} at a time")
            with ThreadPoolExecutor(args.parallel) as pool:
                for record in pool.map(lambda j: run_one(j, threads), todo):
                    print(json.dumps(record), flush=True)
                    if "failed" not in record:
                        records.append(record)
        table = build_table(records, work, args.benchmarks, args.recipes, subset_of, args.n_boot)
        if table.empty:
            raise UserError(f"no finished runs under {work}")
        table.to_csv(work / "ablation.csv", index=False)
        (work / "ablation.md").write_text(markdown(table))
        print(markdown(table), end="")


if __name__ == "__main__":
    main()
