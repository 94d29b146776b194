"""predict.py end to end on the real samples, with bad files mixed in, and its user errors.

Two runs go through a real subprocess (exit code, one-line stderr, no traceback): the DFDC
folder, scored once by a module-scoped fixture (MTCNN on 1080p costs seconds per video), and a
wrong-architecture checkpoint. The other cases call predict.cli() in-process, the same code
path minus the interpreter start-up (~10 s of torch imports each on a loaded 2-core machine).
The models are tiny randomly initialised ones that the tests save in train.py's checkpoint format.
"""
import json
import os
from dataclasses import asdict, replace
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import pandas as pd
import pytest
import torch

import predict
from conftest import scratch_dir
from datasets.preparation.predict_inputs import find_videos
from args import Config, DataConfig, FaceConfig, ModelConfig
from models import build_model
from utils.errors import UserError

PROJECT = Path(__file__).resolve().parents[1]
SAMPLES = PROJECT.parent / "shared" / "samples"
DFDC_VIDEOS = ("lynaeydofd.mp4", "brtujopkby.mp4", "widuwuoiur.mp4")
SMALL_MODEL = ModelConfig(model_name="resnet18", temporal="gru", embed_dim=16, hidden_size=8, dropout=0.0)
SMALL_DATA = DataConfig(num_frames=2, crop_size=32)
SMALL_FACES = FaceConfig(n_windows=1, window_len=2, size=64, face_detector="mtcnn")


def save_checkpoint(path, model_cfg=SMALL_MODEL, data_cfg=SMALL_DATA, faces=SMALL_FACES, weights_from=None, **extra):
    """A checkpoint as train.py writes it; weights_from: the ModelConfig of another architecture's weights."""
    torch.manual_seed(0)
    weights = build_model(weights_from or model_cfg).state_dict()
    config = Config(data=data_cfg, model=model_cfg).to_dict()
    torch.save({"model": weights, "config": config, "faces": asdict(faces), "epoch": 1, **extra}, path)
    return path


def run_predict(*argv, cwd=PROJECT):
    return subprocess.run([sys.executable, str(PROJECT / "predict.py"), *map(str, argv)],
                          cwd=cwd, capture_output=True, text=True, timeout=600)


def predict_in_process(capsys, *argv):
    """predict.cli(argv) -> (exit code, stdout, stderr)."""
    try:
        predict.cli(list(map(str, argv)))
        code = 0
    except SystemExit as stop:
        code = stop.code
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(argv, code, out, err)


def assert_user_error(result, *words):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "error: " in lines[0], result.stderr
    for word in words:
        assert word in lines[0]


def assert_png(path):
    assert matplotlib.image.imread(path).ndim == 3


@pytest.fixture(scope="module")
def dfdc_run(tmp_path_factory):
    """Score a DFDC part (3 real clips + metadata.json) with bad files and entries added.

    Added: a zero-byte and a text '.mp4' (unlisted), a listed but absent video, and a listed
    name that leaves the folder (a real video sits there: opening it would score it).
    """
    with scratch_dir(tmp_path_factory, "predict_dfdc") as tmp:
        yield score_dfdc_part(tmp)


def score_dfdc_part(tmp):
    part = tmp / "dfdc_train_part_0"
    part.mkdir()
    for name in DFDC_VIDEOS:
        (part / name).symlink_to(SAMPLES / "dfdc" / name)
    (tmp / "outside.mp4").symlink_to(SAMPLES / "ffpp" / "004.mp4")
    meta = json.loads((SAMPLES / "dfdc" / "metadata.json").read_text())
    meta.update({"gone.mp4": {"label": "REAL"}, "../outside.mp4": {"label": "FAKE"}})
    (part / "metadata.json").write_text(json.dumps(meta))
    (part / "empty.mp4").write_bytes(b"")
    (part / "notes.mp4").write_text("this is not a video\n")
    ckpt = save_checkpoint(tmp / "best.pth")
    out = tmp / "out" / "submission.csv"
    result = run_predict("--checkpoint", ckpt, part, "--out", out, "--fallback", 0.25,
                         "--timeline", "lynaeydofd.mp4")
    return result, out


def test_one_row_per_video_with_probabilities(dfdc_run):
    result, out = dfdc_run
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out, keep_default_na=False)
    assert list(table.columns[:2]) == ["filename", "label"]
    assert sorted(table["filename"]) == sorted([*DFDC_VIDEOS, "empty.mp4", "notes.mp4", "gone.mp4", "../outside.mp4"])
    assert table["label"].between(0, 1).all()
    scored = table[table["filename"].isin(DFDC_VIDEOS)]
    assert (scored["reason"] == "").all(), scored
    assert "s per video" in result.stdout


def test_corrupt_files_get_the_fallback_and_a_reason(dfdc_run):
    result, out = dfdc_run
    table = pd.read_csv(out, keep_default_na=False).set_index("filename")
    reasons = {"empty.mp4": "unreadable", "notes.mp4": "unreadable", "gone.mp4": "missing",
               "../outside.mp4": "unsafe_path"}
    for name, reason in reasons.items():
        assert (table.loc[name, "label"], table.loc[name, "reason"]) == (0.25, reason)
    assert "4 scored with the fallback 0.25" in result.stdout


def test_metrics_and_plots_when_labels_are_known(dfdc_run):
    result, out = dfdc_run
    metrics = json.loads(out.with_name("submission_metrics.json").read_text())
    # the labelled videos: the 3 samples, gone.mp4 (REAL) and ../outside.mp4 (FAKE) at the fallback
    assert (metrics["n"], metrics["n_real"], metrics["n_fake"]) == (5, 2, 3)
    assert metrics["fallback_reasons"] == {"missing": 1, "unsafe_path": 1}
    assert 0 <= metrics["log_loss"] and 0 <= metrics["auc"] <= 1
    assert "log_loss" in result.stdout
    for suffix in ("roc", "hist", "timeline"):
        assert_png(out.with_name(f"submission_{suffix}.png"))


def test_settings_come_from_the_checkpoint(tmp_path, capsys):
    """Another architecture and data setting (no face detector, 2 windows) with the same command."""
    ckpt = save_checkpoint(tmp_path / "frame.pth", ModelConfig(temporal="mean", embed_dim=16),
                           DataConfig(num_frames=2, crop_size=24), FaceConfig(n_windows=2, window_len=3, face_detector="none"))
    out = tmp_path / "ffpp.csv"
    result = predict_in_process(capsys, "--checkpoint", ckpt, SAMPLES / "ffpp", "--out", out)
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out, keep_default_na=False)
    assert sorted(table["filename"]) == ["004.mp4", "004_982.mp4", "634.mp4", "634_660.mp4"]
    assert table["label"].between(0, 1).all() and (table["reason"] == "").all()
    assert not out.with_name("ffpp_metrics.json").exists()  # no labels, no metrics
    # model settings are not flags: the checkpoint is the only source
    assert_user_error(predict_in_process(capsys, "--checkpoint", ckpt, SAMPLES / "ffpp", "--temporal", "gru"), "--temporal")


@pytest.fixture
def checkpoint(tmp_path):
    return save_checkpoint(tmp_path / "best.pth")


class Payload:
    def __reduce__(self):  # unpickling would create this folder
        return os.makedirs, (self.marker,)


def test_user_errors_are_one_line(tmp_path, checkpoint, capsys):
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    video = SAMPLES / "ffpp" / "004.mp4"
    blocker = tmp_path / "file"
    blocker.write_text("")
    cases = [
        (("--checkpoint", tmp_path / "nope.pth", video), "does not exist"),
        (("--checkpoint", checkpoint, empty), "no videos found"),
        (("--checkpoint", checkpoint, tmp_path / "missing.mp4"), "does not exist"),
        (("--checkpoint", checkpoint, video, "--out", blocker / "sub.csv"), "--out"),
        (("--checkpoint", checkpoint, video, "--fallback", 2), "--fallback"),
        (("--checkpoint", checkpoint, video, "--timeline", "other.mp4"), "--timeline"),
    ]
    for argv, words in cases:
        assert_user_error(predict_in_process(capsys, *argv), words)


def test_wrong_architecture_checkpoint_is_refused(tmp_path, capsys):
    # the config says hidden_size 8, the weights come from hidden_size 32: a real CLI run
    ckpt = save_checkpoint(tmp_path / "other.pth", weights_from=replace(SMALL_MODEL, hidden_size=32))
    assert_user_error(run_predict("--checkpoint", ckpt, SAMPLES / "ffpp" / "004.mp4"), "architecture")
    bare = tmp_path / "bare.pth"
    torch.save({"model": build_model(SMALL_MODEL).state_dict()}, bare)  # no config
    assert_user_error(predict_in_process(capsys, "--checkpoint", bare, SAMPLES / "ffpp" / "004.mp4"), "no config")


def test_pickled_code_renamed_pth_is_refused(tmp_path, capsys):
    payload = Payload()
    payload.marker = str(tmp_path / "code_ran")
    evil = tmp_path / "evil.pth"
    torch.save({"model": payload, "config": {}}, evil)
    assert_user_error(predict_in_process(capsys, "--checkpoint", evil, SAMPLES / "ffpp" / "004.mp4"), "not a safe checkpoint")
    assert not Path(payload.marker).exists()


# ---- input discovery (no scoring) ----

def test_labelled_csv_and_dfdc_root(tmp_path):
    rows = find_videos([SAMPLES / "labels.csv"])
    assert len(rows) == 7 and rows[0].name == "dfdc/lynaeydofd.mp4" and rows[0].label == 0
    assert all(r.path.is_file() for r in rows) and sum(r.label for r in rows) == 4
    root = tmp_path / "dfdc_root"
    shutil.copytree(SAMPLES / "dfdc", root / "dfdc_train_part_7", symlinks=True)
    names = [r.name for r in find_videos([root])]
    assert sorted(names) == sorted(f"dfdc_train_part_7/{n}" for n in DFDC_VIDEOS)


def test_listed_but_absent_video_is_kept_for_the_fallback(tmp_path):
    (tmp_path / "metadata.json").write_text(json.dumps({"gone.mp4": {"label": "FAKE"}}))
    [row] = find_videos([tmp_path])
    assert (row.name, row.label, row.path.exists()) == ("gone.mp4", 1, False)


@pytest.mark.parametrize("name", ["../escape.mp4", "/etc/passwd", "a/../../b.mp4"])
def test_paths_leaving_the_folder_are_never_opened(tmp_path, name):
    (tmp_path / "metadata.json").write_text(json.dumps({name: {"label": "REAL"}}))
    [row] = find_videos([tmp_path])
    assert (row.name, row.path, row.label) == (name, None, 0)
    (tmp_path / "ok.mp4").write_bytes(b"")  # a CSV naming no existing video is refused whole
    (tmp_path / "list.csv").write_text(f"filename,label\n{name},FAKE\nok.mp4,REAL\n")
    row = find_videos([tmp_path / "list.csv"])[0]
    assert (row.path, row.label) == (None, 1)


@pytest.mark.parametrize("text", ["{not json", "[1, 2]"])  # a bad entry is one row: test_predict_bad_inputs
def test_malformed_metadata_is_a_user_error(tmp_path, text):
    (tmp_path / "metadata.json").write_text(text)
    with pytest.raises(UserError):
        find_videos([tmp_path])


def test_two_videos_with_one_name_are_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x.mp4").write_bytes(b"")
    (tmp_path / "b" / "x.mp4").write_bytes(b"")
    with pytest.raises(UserError, match="both named"):
        find_videos([tmp_path / "a", tmp_path / "b"])
    assert len(find_videos([tmp_path / "a", tmp_path / "a" / "x.mp4"])) == 1  # same file twice: once


# ---- parity with training's evaluation ----

def test_predict_scores_a_video_as_training_evaluation_does(tmp_path):
    """Prepared demo videos: predict's clips (from the mp4) give the same P(fake) as the
    validation dataset's clips (from the face cache), to the last bit."""
    from datasets import build_video_datasets
    from datasets.demo.generator import make_demo_dataset
    from datasets.preparation.pipeline import prepare_dataset
    from datasets.preparation.video_windows import video_windows
    from datasets.video_dataset import collate_clips
    from utils.metrics import aggregate_per_video

    raw = make_demo_dataset(tmp_path / "raw", n_originals=2, fakes_per_original=1, n_frames=12, size=64,
                            n_parts=1, workers=1)
    prepare_dataset([raw / "dfdc_train_part_0"], tmp_path / "prep", n_windows=2, window_len=4, size=32,
                    face_detector="none", workers=1, val_fraction=0.5, verbose=False)
    data_cfg = DataConfig(root_dir=str(tmp_path / "prep"), num_frames=3, crop_size=24)
    data = build_video_datasets(data_cfg)
    torch.manual_seed(0)
    model = build_model(SMALL_MODEL).eval()
    batch = collate_clips([data.val[i] for i in range(len(data.val))])
    with torch.inference_mode():
        videos, expected = aggregate_per_video(batch["video"].numpy(), model(batch["clip"]).numpy())
    detector = predict.Detector(model, SMALL_MODEL, data_cfg, FaceConfig(**data.faces), 1.0)  # what the checkpoint holds
    got = []
    for video in videos:
        clips = video_windows(data.val.table.iloc[video]["source_path"], detector.faces, detector.data, "cpu").clips
        got.append(aggregate_per_video([0] * len(clips), predict.clip_logits(model, clips, "cpu", 8))[1][0])
    assert len(videos) >= 2
    assert got == pytest.approx(expected.tolist(), abs=1e-6)  # batch composition changes the last bits
