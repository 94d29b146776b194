"""The run folder: one run at a time (a lock), temp files of killed writes removed, a full disk or
a failed torch.save as one line, epoch files pruned to --keep_epochs, files readable by others."""
import os
import stat

import pytest
import torch

from utils.errors import UserError
from utils.run_writer import RunWriter


def writer(tmp_path, **kw):
    return RunWriter(tmp_path, "run", resuming=False, **dict(dict(tensorboard=False), **kw))


def save(w, epoch, improved=True):
    row = dict(epoch=epoch, train_loss=1.0 / epoch, val_log_loss=1.0 / epoch)
    w.save_epoch(epoch, dict(model={}, config={}, epoch=epoch), dict(model={}, config={}, epoch=epoch, optimizer={}),
                 improved, [row], [dict(epoch=epoch, seconds=1.0)], [], [dict(name="a", label=1, prob_fake=0.5)])


def test_a_second_run_with_the_same_name_is_refused_while_the_first_writes(tmp_path):
    first = writer(tmp_path)
    with pytest.raises(UserError, match="in use by another training run"):
        RunWriter(tmp_path, "run", resuming=True, tensorboard=False)
    first.close()
    RunWriter(tmp_path, "run", resuming=True, tensorboard=False).close()  # free again once the first ended


def test_temp_files_of_a_killed_write_are_removed_at_start(tmp_path):
    (tmp_path / "run").mkdir()
    left = tmp_path / "run" / ".last.pth.abc123.tmp"
    left.write_bytes(b"x" * 1000)
    writer(tmp_path).close()
    assert not left.exists()


def test_only_the_most_recent_epoch_files_are_kept_and_best_survives(tmp_path):
    w = writer(tmp_path, keep_epochs=2)
    for epoch in (1, 2, 3, 4):
        save(w, epoch, improved=epoch == 1)
    names = sorted(p.name for p in w.dir.glob("*.pth"))
    assert names == ["best.pth", "epoch_3.pth", "epoch_4.pth", "last.pth"]
    assert torch.load(w.dir / "best.pth", weights_only=True)["epoch"] == 1  # its own link to epoch 1's weights
    w.close()
    keep_all = RunWriter(tmp_path, "all", resuming=False, keep_epochs=0, tensorboard=False)
    for epoch in (1, 2, 3):
        save(keep_all, epoch)
    assert len(list(keep_all.dir.glob("epoch_*.pth"))) == 3


def test_a_failing_torch_save_is_one_line_and_keeps_last_pth(tmp_path, monkeypatch):
    w = writer(tmp_path)
    save(w, 1)
    real_save = torch.save

    def full_disk(obj, f, *a, **k):  # what torch.save raises on a full disk
        raise RuntimeError("[enforce fail at inline_container.cc:626] . unexpected pos 1216 vs 1106")
    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(UserError, match="cannot write epoch 2") as err:
        save(w, 2)
    assert "\n" not in str(err.value) and "--resume" in str(err.value)
    monkeypatch.setattr(torch, "save", real_save)
    assert torch.load(w.dir / "last.pth", weights_only=True)["epoch"] == 1
    assert w.saved_epoch == 1 and not list(w.dir.glob(".*.tmp"))


def test_files_get_the_users_umask(tmp_path):
    old = os.umask(0o022)
    try:
        w = writer(tmp_path)
        save(w, 1)
    finally:
        os.umask(old)
    for name in ("last.pth", "epoch_1.pth", "metrics.csv", "curves.png"):
        assert stat.S_IMODE((w.dir / name).stat().st_mode) == 0o644, name
