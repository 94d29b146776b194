"""torchrun with 2 gloo processes on the CPU: one set of outputs, whole-set validation, --resume."""
import shutil
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import torch

from args import Config
from conftest import make_cache_dataset, scratch_dir, tiny_train_argv
from datasets import get_dataset
from datasets.loader import build_loader
from models import rebuild_model
from trainer import evaluate
from utils.distributed import merge_shards
from utils.distributed import DistInfo

PROJECT = Path(__file__).resolve().parents[1]
DROPPED_VAL_VIDEO = "part_0/fake1.mp4"  # 3 validation videos x 3 windows: 9 clips, odd on 2 ranks


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(argv, nproc=2):
    """Run train.py under torchrun, as a user would; returns the finished process."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc),
           "--master_addr", "127.0.0.1", "--master_port", str(free_port()), str(PROJECT / "train.py"), *argv]
    done = subprocess.run(cmd, cwd=PROJECT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def odd_dataset(tmp_path_factory):
    root = make_cache_dataset(tmp_path_factory.mktemp("odd"), n_windows=3)
    table = pd.read_csv(root / "videos_df.csv")
    table[table["name"] != DROPPED_VAL_VIDEO].to_csv(root / "videos_df.csv", index=False)
    return root


@pytest.fixture(scope="module")
def two_rank_run(odd_dataset, tmp_path_factory):
    with scratch_dir(tmp_path_factory, "runs") as save:
        # full precision: the test compares the ranks' merged metrics with a one-process re-evaluation
        yield save, torchrun(tiny_train_argv(odd_dataset, save, "ddp", "--epochs", "1", "--amp", "none"))


def single_process_metrics(root, checkpoint):
    """Validation metrics of a saved checkpoint, evaluated by one process over the same data."""
    state = torch.load(checkpoint, weights_only=True)
    cfg = Config.from_dict(state["config"])
    model = rebuild_model(cfg.model)
    model.load_state_dict(state["model"])
    data = get_dataset(replace(cfg.data, root_dir=str(root)), cfg.run.seed)
    loader = build_loader(data.val, 3, 0, False, cfg.run.seed, DistInfo(), False)
    metrics, _ = evaluate(model, loader, torch.device("cpu"), DistInfo(), show_progress=False)
    return metrics


def test_merge_shards_drops_padded_duplicates():
    # DistributedSampler over 5 items on 2 ranks: rank 0 gets 0, 2, 4; rank 1 gets 1, 3 and item 0 again
    def shard(items):
        items = torch.tensor(items)
        return dict(item=items, video=items // 2, label=items % 2, logits=items.float().repeat(2, 1).T,
                    bad=[("v.mp4", "unreadable")])
    merged = merge_shards([shard([0, 2, 4]), shard([1, 3, 0])])
    assert merged["item"].tolist() == [0, 2, 4, 1, 3]
    assert merged["logits"][:, 0].tolist() == [0.0, 2.0, 4.0, 1.0, 3.0]
    assert merged["video"].tolist() == [0, 1, 2, 0, 1]
    assert merged["bad"] == [("v.mp4", "unreadable")]


def test_two_processes_write_one_run_and_match_one_process(two_rank_run, odd_dataset):
    save, done = two_rank_run
    run = save / "ddp"
    assert not [p for p in save.iterdir() if p.name not in ("ddp", "resumed")]
    assert sorted(p.name for p in run.glob("*.pth")) == ["best.pth", "epoch_1.pth", "last.pth"]
    log = (run / "log.txt").read_text()
    assert log.count("run folder") == 1 and "x 2 processes" in log  # rank 1 is quiet
    assert done.stdout.count("epoch 1: train loss") == 1
    row = pd.read_csv(run / "metrics.csv").iloc[-1]
    assert row["n_val_clips"] == 9  # the sampler's padded repeat is not counted

    expected = single_process_metrics(odd_dataset, run / "last.pth")
    assert expected["n_val_clips"] == 9
    for key in ("val_loss", "val_log_loss", "val_acc", "val_auc", "val_ap", "val_balanced_acc"):
        assert row[key] == pytest.approx(expected[key], rel=1e-4, abs=1e-6, nan_ok=True), key


def test_resume_under_torchrun(two_rank_run, odd_dataset):
    save, _ = two_rank_run
    run = save / "resumed"
    shutil.copytree(save / "ddp", run)  # leaves the other test's run as it was
    first = pd.read_csv(run / "metrics.csv")
    torchrun(tiny_train_argv(odd_dataset, save, "resumed", "--epochs", "2", "--resume", str(run / "last.pth")))
    metrics = pd.read_csv(run / "metrics.csv")
    assert metrics["epoch"].tolist() == [1, 2]
    pd.testing.assert_frame_equal(metrics.iloc[:1], first)  # epoch 1 is kept, not re-run
    assert torch.load(run / "last.pth", weights_only=True)["epoch"] == 2
    assert (run / "log.txt").read_text().count("resumed from") == 1


def test_a_rank_with_an_all_bad_batch_does_not_hang(odd_dataset, tmp_path):
    # One clip per batch and one unreadable training video: one rank skips a step the other takes.
    root = tmp_path / "data"
    shutil.copytree(odd_dataset, root)
    (root / "faces" / "part_0" / "real3.npz").write_bytes(b"not a cache file")
    torchrun(tiny_train_argv(root, tmp_path, "uneven", "--epochs", "1", "--batch_size", "1", "--max_bad_fraction", "0.5"))
    bad = pd.read_csv(tmp_path / "uneven" / "bad_samples.csv")
    assert bad[["split", "name", "reason"]].values.tolist() == [["train", "part_0/real3.mp4", "unreadable"]]
    assert pd.read_csv(tmp_path / "uneven" / "metrics.csv")["epoch"].tolist() == [1]
