"""Issue 16 in prepare: a bad item is dropped and listed; a bad input, flag or machine is one line."""
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from datasets.preparation.pipeline import prepare_dataset
from layout_fixtures import tiny_video
from utils.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
FAST = dict(n_windows=1, window_len=2, size=16, face_detector="none", workers=1, verbose=False)


def run_cli(*args):
    return subprocess.run([sys.executable, str(ROOT / "prepare.py"), *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


def part_with(root, entries, videos):
    part = root / "part"
    for i, name in enumerate(videos):
        tiny_video(part / name, seed=i)
    (part / "metadata.json").write_text(json.dumps(entries))
    return part


@pytest.fixture
def part(tmp_path):
    return part_with(tmp_path, {"r.mp4": {"label": "REAL"}, "f.mp4": {"label": "FAKE", "original": "r.mp4"}},
                     ["r.mp4", "f.mp4"])


@pytest.mark.parametrize("flags, needle", [(["--seed", "-1"], "--seed must be at least 0"),
                                           (["--min_frames", "-5"], "--min_frames must be at least 1"),
                                           (["--test_fraction", "1.5"], "--test_fraction must be in"),
                                           (["--val_fraction", "0.5", "--test_fraction", "0.5"], "below 1"),
                                           (["--shard", "3/2"], "--shard must be i/n"),
                                           (["--methods", "Magic"], "'Magic'")])
def test_bad_flags_are_one_line_and_exit_2(tmp_path, part, flags, needle):
    result = run_cli(part, "--out", tmp_path / "out", *flags)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and needle in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()


def test_bogus_device_is_one_line_before_any_work(tmp_path, part):
    result = run_cli(part, "--out", tmp_path / "out", "--device", "bogus", "--face_detector", "none")
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "--device 'bogus' is not a device" in result.stderr and not (tmp_path / "out").exists()


def test_cuda_without_a_gpu_is_one_line_before_any_work(tmp_path, part, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(UserError, match="no CUDA GPU"):
        prepare_dataset([part], tmp_path / "out", device="cuda", **FAST)
    assert not (tmp_path / "out").exists()


def test_an_empty_result_is_one_line_and_a_non_zero_exit(tmp_path, part):
    result = run_cli(part, "--out", tmp_path / "out", "--min_frames", "1000", "--face_detector", "none",
                     "--size", "16", "--workers", "1")
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: prepared 0 videos: every one was dropped (too_short 2)")
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["dropped_counts"] == {"too_short": 2} and not (tmp_path / "out" / "videos_df.csv").exists()


def test_bad_metadata_entries_do_not_stop_the_run(tmp_path):
    entries = {"r.mp4": {"label": "REAL"}, "f.mp4": {"label": "FAKE", "original": "r.mp4"},
               "maybe.mp4": {"label": "MAYBE"}, "nolabel.mp4": {}, "self.mp4": {"label": "FAKE", "original": "self.mp4"}}
    part = part_with(tmp_path, entries, ["r.mp4", "f.mp4", "maybe.mp4", "nolabel.mp4", "self.mp4"])
    report = prepare_dataset([part], tmp_path / "out", **FAST)
    assert report["n_videos"] == 2
    assert report["dropped_counts"] == {"bad_label": 2, "self_original": 1}
    assert sorted(d["name"] for d in report["dropped"]) == ["part/maybe.mp4", "part/nolabel.mp4", "part/self.mp4"]


def test_manifest_conflicts_and_spellings_in_the_report(tmp_path):
    data = tmp_path / "data"
    for i, name in enumerate(["a.mp4", "b.mp4", "c.mp4"]):
        tiny_video(data / "videos" / name, seed=i)
    (data / "list.csv").write_text("path,label\nvideos/a.mp4,0\n./videos/a.mp4,0\nvideos/b.mp4,0\n"
                                   "videos/b.mp4,1\nvideos/c.mp4,1\n")
    report = prepare_dataset([data / "list.csv"], tmp_path / "out", test_fraction=0, **FAST)
    csv = pd.read_csv(tmp_path / "out" / "videos_df.csv")
    assert sorted(csv.name) == ["data/videos/a.mp4", "data/videos/c.mp4"]
    assert report["dropped_counts"] == {"conflicting_labels": 2, "duplicate": 1}
