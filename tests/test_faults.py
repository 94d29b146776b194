"""Faults never cost more than the epoch in progress: atomic checkpoints and tables, SIGKILL and
resume, Ctrl-C, a NaN loss, a full disk, too many bad samples; and worker processes do not
change a seeded run.

Already covered elsewhere: checkpoints load with weights_only (test_trainer), resume from
last.pth after Ctrl-C repeats an uninterrupted run in-process (test_trainer), two runs with the same
seed give the same metrics.csv bit for bit (test_trainer, --workers 0), prepare resumes after a
crash (test_prepare).
"""
import errno
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import trainer
from conftest import make_cache_dataset
from run_helpers import PROJECT, last_error_line, light_train_argv, run_cli
from train import main as train_main
from utils.checkpoint import load_checkpoint, save_checkpoint
from utils.run_writer import write_table


def disk_full(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def half_then_disk_full(write):
    """A writer that writes half of what it is given, then finds the disk full."""
    def failing(obj, target, *args, **kwargs):
        write(obj, target, *args, **kwargs)
        path = Path(target)
        path.write_bytes(path.read_bytes()[:path.stat().st_size // 2])
        disk_full()
    return failing


def temp_files(folder):
    return [p.name for p in Path(folder).rglob("*.tmp")]


# ---- atomic writes ----

def test_failed_checkpoint_save_keeps_the_previous_one(tmp_path, monkeypatch):
    last = tmp_path / "last.pth"
    save_checkpoint(last, dict(model={}, config={}, epoch=1))
    monkeypatch.setattr(torch, "save", half_then_disk_full(torch.save))
    with pytest.raises(OSError):
        save_checkpoint(last, dict(model={}, config={}, epoch=2))
    assert load_checkpoint(last)["epoch"] == 1
    assert temp_files(tmp_path) == []


def test_failed_table_write_keeps_the_previous_one(tmp_path, monkeypatch):
    metrics = tmp_path / "metrics.csv"
    write_table(metrics, [dict(epoch=1, loss=0.5)])
    before = metrics.read_text()
    real_write_text = Path.write_text
    monkeypatch.setattr(Path, "write_text", lambda self, text: (real_write_text(self, text[:len(text) // 2]), disk_full()))
    with pytest.raises(OSError):
        write_table(metrics, [dict(epoch=1, loss=0.5), dict(epoch=2, loss=0.4)])
    assert metrics.read_text() == before and temp_files(tmp_path) == []


# ---- faults in a training run (in-process) ----

@pytest.fixture
def small_data(tmp_path):
    return make_cache_dataset(tmp_path / "data", n_per_class=3)


def run_expecting_exit(argv, capsys):
    """train.py's main(argv) -> (exit status, the one error line on stderr)."""
    with pytest.raises(SystemExit) as stop:
        train_main(argv)
    return stop.value.code, last_error_line(capsys.readouterr().err)


def assert_holds_epoch_1(run):
    assert load_checkpoint(run / "last.pth")["epoch"] == 1
    assert not (run / "epoch_2.pth").exists() and temp_files(run) == []


def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(small_data, tmp_path, monkeypatch, capsys):
    real_epoch = trainer.train_one_epoch

    def nan_in_epoch_2(model, loader, optimizer, criterion, device, epoch, **kwargs):
        if epoch == 1:
            criterion = (lambda crit: lambda logits, labels: crit(logits, labels) * float("nan"))(criterion)
        return real_epoch(model, loader, optimizer, criterion, device, epoch, **kwargs)
    monkeypatch.setattr(trainer, "train_one_epoch", nan_in_epoch_2)
    code, line = run_expecting_exit(light_train_argv(small_data, tmp_path, "run"), capsys)
    assert code == 2 and "loss became nan" in line and "--lr" in line
    assert_holds_epoch_1(tmp_path / "run")


def test_full_disk_while_saving_keeps_the_last_good_checkpoint(small_data, tmp_path, monkeypatch, capsys):
    real_save = torch.save
    failing = half_then_disk_full(real_save)

    def disk_fills_in_epoch_2(obj, target, *args, **kwargs):
        write = failing if isinstance(obj, dict) and obj.get("epoch") == 2 else real_save
        return write(obj, target, *args, **kwargs)
    monkeypatch.setattr(torch, "save", disk_fills_in_epoch_2)
    code, line = run_expecting_exit(light_train_argv(small_data, tmp_path, "run"), capsys)
    assert code == 2 and "No space left on device" in line and "--resume" in line
    assert_holds_epoch_1(tmp_path / "run")


def test_too_many_bad_samples_stop_the_run_and_keep_its_checkpoint(small_data, tmp_path):
    train_main(light_train_argv(small_data, tmp_path, "run", "--epochs", "1"))
    for video in ("real2", "fake2"):  # the training videos' caches, damaged after epoch 1
        cache = small_data / "faces" / "part_0" / f"{video}.npz"
        cache.write_bytes(cache.read_bytes()[:100])
    result = run_cli("train.py", *light_train_argv(small_data, tmp_path, "run", "--resume", tmp_path / "run" / "last.pth"))
    assert result.returncode == 2
    line = last_error_line(result.stderr)
    assert "2 of 2 training samples are unusable" in line and "--max_bad_fraction" in line
    assert_holds_epoch_1(tmp_path / "run")


def test_worker_processes_do_not_change_the_metrics(small_data, tmp_path):
    """The demo trains with --workers 2; each sample's randomness comes from (seed, epoch, index)."""
    for workers in ("0", "2"):
        train_main(light_train_argv(small_data, tmp_path, f"w{workers}", "--workers", workers))
    assert (tmp_path / "w0" / "metrics.csv").read_bytes() == (tmp_path / "w2" / "metrics.csv").read_bytes()


# ---- signals: a real training process, stopped in epoch 2 ----

@pytest.fixture(scope="module")
def signal_data(tmp_path_factory):
    # enough clips that epoch 2 lasts well beyond the polling interval
    return make_cache_dataset(tmp_path_factory.mktemp("signal_data"), n_per_class=10)


def start_and_signal_in_epoch_2(argv, sig):
    """Start train.py, send `sig` once epoch 1 is fully written; -> (return code, stdout, stderr)."""
    run = Path(argv[argv.index("--save_model_path") + 1]) / argv[argv.index("--run_name") + 1]
    proc = subprocess.Popen([sys.executable, str(PROJECT / "train.py"), *map(str, argv)], cwd=PROJECT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as from a terminal
    deadline = time.monotonic() + 300
    log = run / "log.txt"
    while not (log.is_file() and "epoch 1:" in log.read_text()):  # logged after epoch 1's files
        assert proc.poll() is None and time.monotonic() < deadline, "training ended before epoch 2"
        time.sleep(0.02)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=300)
    assert not (run / "epoch_2.pth").exists(), "epoch 2 ended before the signal; give it more data"
    return proc.returncode, out, err


def test_sigkill_in_epoch_2_then_resume_repeats_an_uninterrupted_run(signal_data, tmp_path):
    argv = light_train_argv(signal_data, tmp_path, "killed")
    code, _, _ = start_and_signal_in_epoch_2(argv, signal.SIGKILL)
    assert code == -signal.SIGKILL
    run = tmp_path / "killed"
    assert load_checkpoint(run / "last.pth")["epoch"] == 1  # only the epoch in progress is lost
    train_main([*argv, "--resume", str(run / "last.pth")])
    train_main(light_train_argv(signal_data, tmp_path, "whole"))
    resumed = (run / "metrics.csv").read_text()
    assert resumed == (tmp_path / "whole" / "metrics.csv").read_text()
    assert [line.split(",")[0] for line in resumed.splitlines()[1:]] == ["1", "2"]  # no gap, no repeat


def test_sigint_in_epoch_2_exits_130_and_says_how_to_resume(signal_data, tmp_path):
    code, out, err = start_and_signal_in_epoch_2(light_train_argv(signal_data, tmp_path, "stopped"), signal.SIGINT)
    assert code == 130 and "Traceback" not in err, err[-2000:]
    last = tmp_path / "stopped" / "last.pth"
    assert f"--resume {last}" in out and "interrupted in epoch 2" in out
    assert load_checkpoint(last)["epoch"] == 1
