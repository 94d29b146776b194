"""prepare_dataset and prepare.py: outputs, bad videos, resume, shards, determinism, CLI."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import datasets.preparation.pipeline as prepare_module
from datasets.preparation import faces
from datasets.face_cache import load_face_cache
from datasets.preparation.pipeline import CSV_COLUMNS, prepare_dataset
from datasets.video_io import write_video
from utils.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "samples"
STEP = 12  # frame i of a synthetic video has brightness STEP * i
FAST = dict(n_windows=2, window_len=3, size=16, face_detector="none", workers=1, verbose=False, balance="pair")


def index_video(path, n=20):
    frames = np.zeros((n, 24, 24, 3), np.uint8)
    for i in range(n):
        frames[i] = STEP * i
    write_video(path, frames)


def make_dfdc(root, n_reals=6, fakes_per_real=2, n_parts=2):
    """DFDC-like parts of tiny index videos; each REAL's fakes live in the next part."""
    metas = [dict() for _ in range(n_parts)]
    for i in range(n_reals):
        metas[i % n_parts][f"real{i}.mp4"] = {"label": "REAL", "split": "train", "original": None}
        for k in range(fakes_per_real):
            metas[(i + 1) % n_parts][f"fake{i}_{k}.mp4"] = {"label": "FAKE", "original": f"real{i}.mp4"}
    for p, meta in enumerate(metas):
        folder = root / f"dfdc_train_part_{p}"
        folder.mkdir(parents=True)
        (folder / "metadata.json").write_text(json.dumps(meta))
        for file in meta:
            index_video(folder / file)
    return root


@pytest.fixture
def dfdc(tmp_path):
    return make_dfdc(tmp_path / "dfdc")


def count_extractions(monkeypatch):
    calls = []
    real = faces.extract_faces  # the unpatched one, however often this is called

    def counted(path, *args, **kwargs):
        calls.append(Path(path).name)
        return real(path, *args, **kwargs)
    monkeypatch.setattr(prepare_module, "extract_faces", counted)
    return calls


def test_csv_cache_and_report(dfdc, tmp_path):
    out = tmp_path / "out"
    report = prepare_dataset([dfdc], out, **FAST)
    csv = pd.read_csv(out / "videos_df.csv", keep_default_na=False)
    assert list(csv.columns) == CSV_COLUMNS and len(csv) == 12  # 6 REALs, one FAKE each
    assert (csv.groupby("group").is_valid.nunique() == 1).all()
    assert csv.label.sum() == 6 and set(csv.frames) == {20} and set(csv.fps) == {25.0}
    fake = csv[csv.label == 1].iloc[0]
    assert fake.original == fake.group and fake.original.startswith("real")
    assert report == json.loads((out / "report.json").read_text())
    assert sum(sum(side.values()) for side in report["counts"].values()) == 12
    assert "config" not in report  # the face settings have one home: prepare_config.json
    assert json.loads((out / "prepare_config.json").read_text()) == dict(
        n_windows=2, window_len=3, size=16, face_detector="none", center_fraction=1.0, min_frames=1,
        detect_every=4)
    assert set(csv.split) <= {"train", "val"} and (csv.is_valid == (csv.split == "val")).all()
    assert set(csv.dataset) == {"dfdc"} and set(csv.method) == {"original", "unknown"}
    for row in csv.itertuples():
        cache = load_face_cache(out / row.cache_path)
        assert cache.frames.shape == (6, 16, 16, 3)
        # cached windows are consecutive frames of the source: brightness tells the index
        brightness = cache.frames.reshape(6, -1).mean(axis=1) / STEP
        assert np.abs(brightness - cache.frame_indices).max() < 0.5
        assert cache.frame_indices.tolist() == [0, 1, 2, 17, 18, 19]


def test_same_seed_same_csv_other_seed_other_split(dfdc, tmp_path):
    prepare_dataset([dfdc], tmp_path / "a", seed=3, **FAST)
    prepare_dataset([dfdc], tmp_path / "b", seed=3, **{**FAST, "workers": 2})
    prepare_dataset([dfdc], tmp_path / "c", seed=4, **FAST)
    a, b, c = ((tmp_path / d / "videos_df.csv").read_text() for d in "abc")
    assert a == b and a != c


def test_balance_all_and_split_by_part(dfdc, tmp_path):
    report = prepare_dataset([dfdc], tmp_path / "out", split_by="part",
                             val_parts=["dfdc_train_part_1"], **{**FAST, "balance": "all"})
    csv = pd.read_csv(tmp_path / "out" / "videos_df.csv")
    assert len(csv) == 18 and report["class_weights"][1] < 1 < report["class_weights"][0]
    assert (csv.groupby("group").is_valid.nunique() == 1).all()
    reals = csv[csv.label == 0]
    assert (reals.is_valid == (reals.part == "dfdc_train_part_1")).all()


class Killed(BaseException):
    """Like a kill: not an Exception, so nothing in prepare may swallow it."""


def test_resume_after_an_interrupted_run(dfdc, tmp_path, monkeypatch):
    out = tmp_path / "out"
    calls = count_extractions(monkeypatch)
    counted = prepare_module.extract_faces

    def dies_on_the_fifth(path, *args, **kwargs):
        if len(calls) == 4:
            raise Killed  # the run dies mid-way
        return counted(path, *args, **kwargs)
    monkeypatch.setattr(prepare_module, "extract_faces", dies_on_the_fifth)
    with pytest.raises(Killed):
        prepare_dataset([dfdc], out, **FAST)
    done = sorted(out.glob("faces/*/*.npz"))
    assert len(done) == 4 and not (out / "videos_df.csv").exists()
    # a half-written cache (e.g. copied by hand) and a temp file left by a killed writer
    done[0].write_bytes(done[0].read_bytes()[:100])
    done[1].with_name(f".{done[1].name}.x1y2.tmp").write_bytes(b"partial")  # utils/atomic.py's temp name

    calls = count_extractions(monkeypatch)
    prepare_dataset([dfdc], out, **FAST)
    assert len(calls) == 12 - 3  # the 3 good caches are reused, the damaged one is redone
    assert done[0].stem + ".mp4" in calls
    assert not list(out.rglob("*.tmp"))
    assert len(pd.read_csv(out / "videos_df.csv")) == 12

    calls = count_extractions(monkeypatch)
    prepare_dataset([dfdc], out, **FAST)
    assert calls == []


def test_shards_extract_then_a_final_run_writes_the_csv(dfdc, tmp_path, monkeypatch):
    out = tmp_path / "out"
    sizes = [prepare_dataset([dfdc], out, shard=(i, 3), **FAST)["n_videos"] for i in range(3)]
    assert sizes == [4, 4, 4] and not (out / "videos_df.csv").exists()
    calls = count_extractions(monkeypatch)
    prepare_dataset([dfdc], out, **FAST)
    assert calls == []
    prepare_dataset([dfdc], tmp_path / "whole", **FAST)
    assert (out / "videos_df.csv").read_text() == (tmp_path / "whole" / "videos_df.csv").read_text()


def test_bad_videos_are_reported_and_the_run_finishes(tmp_path):
    part = tmp_path / "part"
    part.mkdir()
    os.symlink(SAMPLES / "dfdc" / "lynaeydofd.mp4", part / "good.mp4")
    (part / "zero.mp4").write_bytes(b"")
    (part / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(3000))
    ramp = np.linspace(0, 255, 64, dtype=np.uint8)
    write_video(part / "noface.mp4", np.stack([np.dstack([np.tile(ramp, (64, 1))] * 3)] * 8))
    meta = {"good.mp4": {"label": "REAL"}, "zero.mp4": {"label": "REAL"},
            "corrupt.mp4": {"label": "FAKE", "original": "good.mp4"},
            "noface.mp4": {"label": "FAKE", "original": "good.mp4"},
            "absent.mp4": {"label": "FAKE", "original": "zero.mp4"},
            "../outside.mp4": {"label": "REAL"}}
    (part / "metadata.json").write_text(json.dumps(meta))
    report = prepare_dataset([part], tmp_path / "out", balance="all", n_windows=2, window_len=2,
                             size=32, workers=1, device="cpu", verbose=False)
    reasons = {d["name"]: d["reason"] for d in report["dropped"]}
    assert reasons == {"part/zero.mp4": "unreadable", "part/corrupt.mp4": "unreadable",
                       "part/noface.mp4": "no_face", "part/absent.mp4": "missing",
                       "part/../outside.mp4": "unsafe_path"}
    csv = pd.read_csv(tmp_path / "out" / "videos_df.csv")
    assert csv.name.tolist() == ["part/good.mp4"]
    assert report["dropped_counts"] == {"missing": 1, "no_face": 1, "unreadable": 2, "unsafe_path": 1}


def test_sample_dfdc_folder_gives_a_usable_csv(tmp_path):
    report = prepare_dataset([SAMPLES / "dfdc"], tmp_path / "out", n_windows=2, window_len=4, size=64,
                             workers=1, device="cpu", verbose=False, balance="pair")
    csv = pd.read_csv(tmp_path / "out" / "videos_df.csv")
    assert sorted(csv.label) == [0, 1] and csv.is_valid.sum() == 1  # the REAL + one orphan FAKE
    assert report["balance"]["n_not_selected"] == 1 and report["dropped"] == []


def test_metadata_with_no_usable_video_is_a_user_error(tmp_path):
    part = tmp_path / "part"
    part.mkdir()
    (part / "metadata.json").write_text(json.dumps({"gone.mp4": {"label": "REAL"}}))
    with pytest.raises(UserError, match="part/gone.mp4: missing"):
        prepare_dataset([part], tmp_path / "out", **FAST)


def test_other_settings_in_the_same_out_dir_are_refused(dfdc, tmp_path):
    prepare_dataset([dfdc], tmp_path / "out", **FAST)
    with pytest.raises(UserError, match="window_len=3->4"):
        prepare_dataset([dfdc], tmp_path / "out", **{**FAST, "window_len": 4})


def test_center_fraction_is_checked_and_folders_from_before_it_still_resume(dfdc, tmp_path):
    with pytest.raises(UserError, match="needs --face_detector none"):
        prepare_dataset([dfdc], tmp_path / "a", **{**FAST, "face_detector": "mtcnn", "center_fraction": 0.5})
    with pytest.raises(UserError, match=r"must be in \(0, 1\]"):
        prepare_dataset([dfdc], tmp_path / "b", **{**FAST, "center_fraction": 1.5})
    out = tmp_path / "old"
    prepare_dataset([dfdc], out, **FAST)
    config = json.loads((out / "prepare_config.json").read_text())
    del config["center_fraction"]  # as written before the setting existed
    (out / "prepare_config.json").write_text(json.dumps(config))
    assert prepare_dataset([dfdc], out, **FAST)["n_videos"] == 12
    with pytest.raises(UserError, match="center_fraction=1.0->0.5"):
        prepare_dataset([dfdc], out, **{**FAST, "center_fraction": 0.5})


def run_cli(*args):
    return subprocess.run([sys.executable, str(ROOT / "prepare.py"), *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_cli_user_errors_are_one_line_and_exit_2(tmp_path, dfdc):
    for args in ([tmp_path / "nowhere", "--out", tmp_path / "o"],
                 [dfdc, "--out", tmp_path / "o", "--shard", "3/2"]):
        result = run_cli(*args)
        assert result.returncode == 2, result.stderr
        assert "error: " in result.stderr and result.stderr.count("\n") == 1


def test_cli_prepares_and_prints_a_summary(tmp_path, dfdc):
    result = run_cli(dfdc, "--out", tmp_path / "o", "--face_detector", "none", "--size", "16",
                     "--n_windows", "2", "--window_len", "3", "--workers", "1", "--balance", "pair")
    assert result.returncode == 0, result.stderr
    assert "prepared 12 videos" in result.stdout and (tmp_path / "o" / "videos_df.csv").is_file()


def test_folders_from_before_detect_every_resume_only_with_its_old_value(dfdc, tmp_path):
    out = tmp_path / "old"
    prepare_dataset([dfdc], out, **{**FAST, "detect_every": 2})
    config = json.loads((out / "prepare_config.json").read_text())
    del config["detect_every"]  # as written when every 2nd frame was the only choice
    (out / "prepare_config.json").write_text(json.dumps(config))
    with pytest.raises(UserError, match="detect_every=2->4"):
        prepare_dataset([dfdc], out, **FAST)
    assert prepare_dataset([dfdc], out, **{**FAST, "detect_every": 2})["n_videos"] == 12
