"""A short training run writes every output, its checkpoints load safely, and --resume repeats it."""
import json

import pandas as pd
import pytest
import torch
import yaml

import trainer
from conftest import tiny_train_argv
from train import main

RUN_FILES = ("config.yaml", "metrics.csv", "timing.csv", "log.txt", "curves.png", "epoch_1.pth", "epoch_2.pth",
             "last.pth", "best.pth", "results.json", "roc.png", "scores.png", "val_predictions.csv")


def test_short_run_writes_every_output(cache_dataset, tmp_path, capsys):
    main(tiny_train_argv(cache_dataset, tmp_path, "run"))
    run = tmp_path / "run"
    for name in RUN_FILES:
        assert (run / name).is_file(), name
    metrics = pd.read_csv(run / "metrics.csv")
    assert metrics["epoch"].tolist() == [1, 2]
    for col in ("train_loss", "train_acc", "val_loss", "val_acc", "val_log_loss", "val_auc", "val_ap",
                "val_balanced_acc", "val_eer", "lr", "val_auc_square"):
        assert col in metrics.columns, col
    state = torch.load(run / "last.pth", weights_only=True)
    assert state["epoch"] == 2 and len(state["history"]) == 2
    assert set(state) >= {"model", "optimizer", "plan", "step", "config", "faces", "rng", "best"}
    assert state["faces"]["window_len"] == 4 and state["config"]["data"]["num_frames"] == 4
    best = torch.load(run / "best.pth", weights_only=True)
    assert state["best"] == best["metrics"]["val_log_loss"] == metrics["val_log_loss"].min()
    assert best["calibration"]["temperature"] > 0 and "optimizer" not in best
    for n in (1, 2):  # epoch files: weights and that epoch's metrics, no optimizer state
        epoch_state = torch.load(run / f"epoch_{n}.pth", weights_only=True)
        assert "optimizer" not in epoch_state and epoch_state["metrics"]["epoch"] == n
        assert epoch_state["model"].keys() == state["model"].keys()
    with pytest.raises(SystemExit) as stop:
        main(tiny_train_argv(cache_dataset, tmp_path, "again", "--resume", str(run / "epoch_1.pth")))
    assert stop.value.code == 2 and "weights only" in capsys.readouterr().err
    assert yaml.safe_load((run / "config.yaml").read_text())["run"]["run_name"] == "run"
    results = json.loads((run / "results.json").read_text())
    assert results["final"]["epoch"] == 2


def test_resume_repeats_an_uninterrupted_run(cache_dataset, tmp_path, monkeypatch):
    main(tiny_train_argv(cache_dataset, tmp_path, "whole", "--epochs", "3"))
    real_epoch = trainer.train_one_epoch

    def ctrl_c_in_epoch_2(model, loader, optimizer, criterion, device, epoch, **kwargs):
        if epoch == 1:
            raise KeyboardInterrupt
        return real_epoch(model, loader, optimizer, criterion, device, epoch, **kwargs)
    with monkeypatch.context() as patch:
        patch.setattr(trainer, "train_one_epoch", ctrl_c_in_epoch_2)
        with pytest.raises(SystemExit):
            main(tiny_train_argv(cache_dataset, tmp_path, "resumed", "--epochs", "3"))
    main(tiny_train_argv(cache_dataset, tmp_path, "resumed", "--epochs", "3", "--resume", str(tmp_path / "resumed" / "last.pth")))
    whole = (tmp_path / "whole" / "metrics.csv").read_text()
    resumed = (tmp_path / "resumed" / "metrics.csv").read_text()
    assert whole == resumed


def test_same_seed_same_metrics_bit_for_bit(cache_dataset, tmp_path):
    for name in ("a", "b"):
        main(tiny_train_argv(cache_dataset, tmp_path, name, "--epochs", "1"))
    assert (tmp_path / "a" / "metrics.csv").read_bytes() == (tmp_path / "b" / "metrics.csv").read_bytes()
