"""evaluate.py: one table over several prepared datasets, with intervals; the same clips and
scores as validation; Celeb-DF and DFDC-test layouts end to end; datasets with no test videos or
one class still report what can be computed."""
import json
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest
import torch

import evaluate
from args import Config, DataConfig, FaceConfig, ModelConfig
from conftest import make_cache_dataset
from datasets.preparation.pipeline import prepare_dataset
from layout_fixtures import make_celebdf, make_dfdc_test
from models import build_model
from utils.metrics import aggregate_per_video

MODEL = ModelConfig(temporal="gru", embed_dim=8, hidden_size=8, dropout=0.0)
FAST = dict(n_windows=1, window_len=2, size=16, face_detector="none", workers=1, verbose=False)


def checkpoint(path, faces, num_frames=2, temperature=None):
    torch.manual_seed(0)
    state = dict(model=build_model(MODEL).state_dict(), epoch=1, faces=asdict(faces),
                 config=Config(data=DataConfig(num_frames=num_frames, crop_size=16), model=MODEL).to_dict())
    if temperature:
        state["calibration"] = dict(temperature=temperature)
    torch.save(state, path)
    return path


def with_test_split(root, methods=("A", "B")):
    """make_cache_dataset's CSV with a test side: its validation videos become the test set."""
    table = pd.read_csv(root / "videos_df.csv")
    table["split"] = np.where(table["is_valid"], "test", "train")  # groups real0, real1: test
    table.loc[table["group"].isin(["real2.mp4", "real3.mp4"]), "split"] = "val"
    table["is_valid"] = table["split"] == "val"
    fakes = table["label"] == 1
    table["method"] = "original"
    table.loc[fakes, "method"] = [methods[i % len(methods)] for i in range(fakes.sum())]
    table["compression"], table["dataset"] = "c23", root.name
    table.to_csv(root / "videos_df.csv", index=False)
    return root


def run(capsys, *argv):
    try:
        evaluate.cli([str(a) for a in argv])
        code = 0
    except SystemExit as stop:
        code = stop.code
    out, err = capsys.readouterr()
    return code, out, err


def test_two_datasets_give_one_table_with_intervals(tmp_path, capsys):
    a = with_test_split(make_cache_dataset(tmp_path / "alpha", n_per_class=6))
    b = with_test_split(make_cache_dataset(tmp_path / "beta", n_per_class=6, seed=1), methods=("C",))
    ckpt = checkpoint(tmp_path / "best.pth", FaceConfig(n_windows=2, window_len=4, size=24, face_detector="none"))
    code, out, err = run(capsys, "--checkpoint", ckpt, a, b, "--out", tmp_path / "eval", "--n_boot", 200, "--workers", 0)
    assert code == 0, err
    table = pd.read_csv(tmp_path / "eval" / "results.csv")
    for column in ("dataset", "group", "n_real", "n_fake", "auc", "auc_low", "auc_high", "log_loss", "ap", "eer",
                   "balanced_acc", "frame_auc"):
        assert column in table.columns, column
    assert table[["dataset", "group"]].values.tolist() == [
        ["alpha", "all"], ["alpha", "method=A"], ["alpha", "method=B"], ["alpha", "compression=c23"],
        ["beta", "all"], ["beta", "method=C"], ["beta", "compression=c23"]]
    all_rows = table[table["group"] == "all"]
    assert (all_rows[["n_real", "n_fake"]].values == [[2, 2], [2, 2]]).all()  # the test videos only
    assert (table["auc_low"] <= table["auc"]).all() and (table["auc"] <= table["auc_high"]).all()
    scores = pd.read_csv(tmp_path / "eval" / "scores.csv")
    assert len(scores) == 8 and scores["prob"].between(0, 1).all() and set(scores["windows"]) == {2}
    for name in ("results.md", "results.json", "roc.png"):
        assert (tmp_path / "eval" / name).stat().st_size > 0
    assert "| alpha | all |" in out


def test_scores_are_validation_scores_at_the_checkpoint_temperature(tmp_path, capsys):
    """--split val gives, per video, the mean of the windows' P(fake) that validation computes."""
    root = with_test_split(make_cache_dataset(tmp_path / "d", n_per_class=6))
    faces = FaceConfig(n_windows=2, window_len=4, size=24, face_detector="none")
    ckpt = checkpoint(tmp_path / "best.pth", faces, temperature=2.0)
    assert run(capsys, "--checkpoint", ckpt, root, "--out", tmp_path / "e", "--split", "val", "--workers", 0)[0] == 0
    got = pd.read_csv(tmp_path / "e" / "scores.csv").set_index("name")["prob"]

    from datasets import get_dataset
    from datasets.video_dataset import collate_clips
    data = get_dataset(DataConfig(root_dir=str(root), num_frames=2, crop_size=16))
    torch.manual_seed(0)
    model = build_model(MODEL).eval()
    batch = collate_clips([data.val[i] for i in range(len(data.val))])
    with torch.inference_mode():
        videos, expected = aggregate_per_video(batch["video"].numpy(), model(batch["clip"]).numpy() / 2.0)
    names = data.val.names
    assert got[[names[v] for v in videos]].to_numpy() == pytest.approx(expected, abs=1e-6)


def test_celebdf_and_dfdc_test_layouts_prepare_and_evaluate(tmp_path, capsys):
    celeb = make_celebdf(tmp_path / "Celeb-DF-v2")
    dfdc = make_dfdc_test(tmp_path / "dfdc_test", {"aaa.mp4": 1, "bbb.mp4": 0, "ccc.mp4": 1})
    for src, out in ((celeb, tmp_path / "p_celeb"), (dfdc, tmp_path / "p_dfdc")):
        prepare_dataset([src], out, seed=1, **FAST)
    ckpt = checkpoint(tmp_path / "best.pth", FaceConfig(n_windows=1, window_len=2, size=16, face_detector="none"))
    code, out, err = run(capsys, "--checkpoint", ckpt, tmp_path / "p_celeb", tmp_path / "p_dfdc", "--out",
                         tmp_path / "eval", "--n_boot", 100, "--workers", 0)
    assert code == 0, err
    table = pd.read_csv(tmp_path / "eval" / "results.csv").set_index(["dataset", "group"])
    assert table.loc[("celebdf", "all"), ["n_real", "n_fake"]].tolist() == [3, 1]  # the official test list
    assert table.loc[("dfdc", "all"), ["n_real", "n_fake"]].tolist() == [1, 2]


def test_no_test_videos_and_one_class_are_said_and_the_rest_is_reported(tmp_path, capsys):
    empty = make_cache_dataset(tmp_path / "notest", n_per_class=3)  # no split column: train and val only
    one_class = with_test_split(make_cache_dataset(tmp_path / "reals", n_per_class=4))
    table = pd.read_csv(one_class / "videos_df.csv")
    table[(table["split"] != "test") | (table["label"] == 0)].to_csv(one_class / "videos_df.csv", index=False)
    ckpt = checkpoint(tmp_path / "best.pth", FaceConfig(n_windows=2, window_len=4, size=24, face_detector="none"))
    code, out, err = run(capsys, "--checkpoint", ckpt, empty, one_class, "--out", tmp_path / "e", "--workers", 0)
    assert code == 0, err
    assert "notest: no test videos" in out and "only REAL videos" in out
    row = pd.read_csv(tmp_path / "e" / "results.csv").iloc[0]
    assert (row["n_real"], row["n_fake"]) == (2, 0)
    assert np.isnan(row["auc"]) and np.isnan(row["auc_low"]) and row["log_loss"] >= 0  # empty, not 0.5
    code, _, err = run(capsys, "--checkpoint", ckpt, empty, "--out", tmp_path / "e2", "--workers", 0)
    assert code == 2 and "has test videos" in err and len(err.strip().splitlines()) == 1


def test_a_held_out_method_stays_only_in_test(tmp_path):
    from benchmarks.unseen_method import hold_out
    from datasets import sides
    root = with_test_split(make_cache_dataset(tmp_path / "d", n_per_class=6))
    hold_out(root, "A", tmp_path / "no_a")
    table = pd.read_csv(tmp_path / "no_a" / "videos_df.csv", keep_default_na=False)
    side = sides(table).to_numpy()
    assert "A" not in set(table.loc[side != "test", "method"])
    assert set(table.loc[table["method"] == "A", "split"]) == {"test"}  # every A video is scored
    held = set(table.loc[table["method"] == "A", "group"])
    assert set(table.loc[table["group"].isin(held), "split"]) == {"test"}  # its people are unseen too
    assert {"train", "val"} <= set(side) and len(table) == len(pd.read_csv(root / "videos_df.csv"))
    assert (tmp_path / "no_a" / "faces" / "part_0").is_dir()  # the same cache, not a copy


def test_split_all_scores_every_video_grouped_by_fake_kind_and_uncalibrated_undoes_the_temperature(tmp_path, capsys):
    """A dataset never trained on is scored whole; DFDC-style rows (method unknown) are grouped
    by fake_kind; --uncalibrated scores at temperature 1."""
    root = make_cache_dataset(tmp_path / "d", n_per_class=6)
    table = pd.read_csv(root / "videos_df.csv")
    fakes = table["label"] == 1
    table["method"] = "unknown"
    table["fake_kind"] = ""
    table.loc[fakes, "fake_kind"] = [("swap", "flicker")[i % 2] for i in range(fakes.sum())]
    table.to_csv(root / "videos_df.csv", index=False)
    ckpt = checkpoint(tmp_path / "best.pth", FaceConfig(n_windows=2, window_len=4, size=24, face_detector="none"),
                      temperature=3.0)
    for tag, extra in (("cal", []), ("raw", ["--uncalibrated"])):
        code, _, err = run(capsys, "--checkpoint", ckpt, root, "--split", "all", "--out", tmp_path / tag,
                           "--n_boot", 50, "--workers", 0, *extra)
        assert code == 0, err
    results = pd.read_csv(tmp_path / "cal" / "results.csv")
    assert results["group"].tolist() == ["all", "method=flicker", "method=swap"]
    assert results.iloc[0][["n_real", "n_fake"]].tolist() == [6, 6]  # train and val videos too
    cal = pd.read_csv(tmp_path / "cal" / "scores.csv").set_index("name")["prob"]
    raw = pd.read_csv(tmp_path / "raw" / "scores.csv").set_index("name")["prob"]
    assert len(cal) == 12 and not np.allclose(cal, raw)
    # the temperature shrinks every logit gap 3x: the calibrated score is nearer 0.5 on every video
    assert ((cal[raw.index] - 0.5).abs() <= (raw - 0.5).abs() + 1e-6).all()
    assert json.loads((tmp_path / "raw" / "results.json").read_text())["temperature"] == 1.0


def test_cv_folds_test_every_group_once_and_keep_validation_apart(tmp_path):
    from benchmarks.cv_folds import cv_folds
    from datasets import sides
    root = make_cache_dataset(tmp_path / "d", n_per_class=9)
    folds = cv_folds(root, 3, tmp_path / "cv", seed=0)
    tested = []
    for folder in folds:
        table = pd.read_csv(folder / "videos_df.csv", keep_default_na=False)
        side = sides(table).to_numpy()
        for name in ("train", "val", "test"):
            assert set(table.loc[side == name, "label"]) == {0, 1}, (folder.name, name)  # both classes everywhere
        groups = {name: set(table.loc[side == name, "group"]) for name in ("train", "val", "test")}
        assert not (groups["train"] & groups["val"]) and not (groups["test"] & (groups["train"] | groups["val"]))
        tested += table.loc[side == "test", "name"].tolist()
        assert (folder / "faces" / "part_0").is_dir()
    assert sorted(tested) == sorted(pd.read_csv(root / "videos_df.csv")["name"])  # each video tested exactly once
