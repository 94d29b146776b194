"""Issue 16: one bad item is listed, the whole input or environment is one line and exit 2.

Predict: bad or conflicting labels (CSV rows, metadata entries), one file under two spellings,
prepare.py's own CSV, a CSV whose videos are all absent. Messages: unsafe and unreadable
checkpoints, folders, terminal escape codes, a failed --resume, the NaN-loss hint, --device cuda.
"""
import json
import os
import subprocess
import sys

import pandas as pd
import pytest
import torch

import trainer
from args import DataConfig, FaceConfig, ModelConfig, parse_args
from bad_inputs import noise, write_pickle_with_code
from datasets.preparation.predict_inputs import find_videos
from datasets.video_io import write_video
from run_helpers import PROJECT, assert_one_line_error
from test_predict import assert_user_error, predict_in_process, save_checkpoint
from train import main as train_main
from utils.checkpoint import read_torch_file
from utils.errors import UserError, exit_on_user_error

BAD_LABELS = ("2", "-1", "NaN", "", "maybe")


def by_name(rows):
    return {r.name: (r.label, r.problem) for r in rows}


# ---- discovery (no scoring) ----

@pytest.mark.parametrize("word", BAD_LABELS)
def test_a_bad_csv_label_is_listed_not_fatal(tmp_path, word):
    (tmp_path / "a.mp4").write_bytes(b"")
    (tmp_path / "list.csv").write_text(f"filename,label\na.mp4,{word}\nb.mp4,FAKE\n")
    assert by_name(find_videos([tmp_path / "list.csv"])) == {"a.mp4": (None, "bad_label"), "b.mp4": (1, "")}


@pytest.mark.parametrize("entry", [{}, {"label": "MAYBE"}, {"label": None}, 3])
def test_a_bad_metadata_label_is_listed_not_fatal(tmp_path, entry):
    (tmp_path / "metadata.json").write_text(json.dumps({"a.mp4": entry, "b.mp4": {"label": "REAL"}}))
    assert by_name(find_videos([tmp_path])) == {"a.mp4": (None, "bad_label"), "b.mp4": (0, "")}


def test_one_file_twice_is_one_row_and_conflicting_labels_are_unknown(tmp_path):
    (tmp_path / "videos").mkdir()
    for name in ("x.mp4", "y.mp4"):
        (tmp_path / "videos" / name).write_bytes(b"")
    (tmp_path / "list.csv").write_text("filename,label\nvideos/x.mp4,0\n./videos/x.mp4,1\n"
                                       "videos/y.mp4,1\nvideos//y.mp4,1\n")
    rows = find_videos([tmp_path / "list.csv", tmp_path / "videos"])  # the folder names both again
    assert by_name(rows) == {"videos/x.mp4": (None, "conflicting_labels"), "videos/y.mp4": (1, "")}


def test_prepare_csv_is_read_through_its_source_paths(tmp_path):
    from datasets.demo.generator import make_demo_dataset
    from datasets.preparation.pipeline import prepare_dataset

    raw = make_demo_dataset(tmp_path / "raw", n_originals=2, fakes_per_original=1, n_frames=12, size=64,
                            n_parts=1, workers=1)
    prepare_dataset([raw / "dfdc_train_part_0"], tmp_path / "prep", n_windows=1, window_len=2, size=16,
                    face_detector="none", workers=1, val_fraction=0.5, verbose=False)
    csv = tmp_path / "prep" / "videos_df.csv"
    rows = find_videos([csv])
    table = pd.read_csv(csv)
    assert len(rows) == len(table) >= 2
    assert all(r.path.is_file() and raw in r.path.parents for r in rows)
    assert sorted(r.label for r in rows) == sorted(table["label"])


def test_absolute_source_path_is_trusted_only_in_prepares_csv(tmp_path):
    video = tmp_path / "elsewhere" / "v.mp4"
    video.parent.mkdir()
    video.write_bytes(b"")
    (tmp_path / "here").mkdir()
    (tmp_path / "here" / "v.mp4").write_bytes(b"")
    csv = tmp_path / "here" / "list.csv"
    csv.write_text(f"name,label,source_path\nv.mp4,1,{video}\n")  # not prepare's: the name decides
    [row] = find_videos([csv])
    assert row.path == tmp_path / "here" / "v.mp4"


def test_a_csv_naming_only_absent_videos_is_one_user_error(tmp_path, checkpoint, capsys):
    csv = tmp_path / "list.csv"
    csv.write_text("filename,label\ngone.mp4,0\nlost.mp4,1\n")
    result = predict_in_process(capsys, "--checkpoint", checkpoint, csv, "--out", tmp_path / "s.csv")
    assert_user_error(result, f"none of the 2 videos in {csv} exist", str(tmp_path))
    assert not (tmp_path / "s.csv").exists()


# ---- scoring: the reason column, the summary line, the metrics ----

@pytest.fixture
def checkpoint(tmp_path):
    return save_checkpoint(tmp_path / "best.pth", ModelConfig(temporal="mean", embed_dim=16),
                           DataConfig(num_frames=2, crop_size=16), FaceConfig(n_windows=1, window_len=3, face_detector="none"))


def test_predict_scores_videos_with_bad_labels_and_lists_them(tmp_path, checkpoint, capsys):
    for i, name in enumerate("abcde"):
        write_video(tmp_path / f"{name}.mp4", noise(6, seed=i))
    csv = tmp_path / "list.csv"
    csv.write_text("filename,label\na.mp4,0\nb.mp4,1\nc.mp4,2\nd.mp4,NaN\ne.mp4,0\n./e.mp4,1\n./a.mp4,0\n")
    out = tmp_path / "sub.csv"
    result = predict_in_process(capsys, "--checkpoint", checkpoint, csv, "--out", out)
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out, keep_default_na=False).set_index("filename")
    assert sorted(table.index) == ["a.mp4", "b.mp4", "c.mp4", "d.mp4", "e.mp4"]
    assert table["reason"].to_dict() == {"a.mp4": "", "b.mp4": "", "c.mp4": "bad_label", "d.mp4": "bad_label",
                                         "e.mp4": "conflicting_labels"}
    assert table["true_label"].astype(str).to_dict() == {"a.mp4": "0", "b.mp4": "1", "c.mp4": "", "d.mp4": "", "e.mp4": ""}
    assert table["label"].between(0, 1).all()
    assert ("5 videos, 0 scored with the fallback 0.5, 3 with no usable label, left out of the metrics "
            "(bad_label: 2, conflicting_labels: 1)") in result.stdout
    metrics = json.loads(out.with_name("sub_metrics.json").read_text())
    assert metrics["n"] == 2 and metrics["skipped_labels"] == {"bad_label": 2, "conflicting_labels": 1}


# ---- messages ----

def test_checkpoint_with_code_is_refused_in_one_whole_line(tmp_path):
    evil = write_pickle_with_code(tmp_path / "evil.pth", tmp_path / "code_ran")
    with pytest.raises(UserError) as err:
        read_torch_file(evil)
    text = str(err.value)
    assert "\n" not in text and "not a safe checkpoint" in text
    with pytest.raises(Exception) as raw:  # torch's own line naming the culprit, quoted whole
        torch.load(evil, weights_only=True)
    culprit = next(ln.strip() for ln in str(raw.value).splitlines() if "GLOBAL" in ln)
    assert f"({culprit})" in text, text
    assert not (tmp_path / "code_ran").exists()


def test_random_bytes_are_not_a_readable_checkpoint(tmp_path):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(UserError, match="not a readable checkpoint") as err:
        read_torch_file(junk)
    assert "safe" not in str(err.value) and "\n" not in str(err.value)


def test_escape_codes_are_stripped_from_error_lines(capsys):
    with pytest.raises(SystemExit) as stop, exit_on_user_error():
        raise UserError("bad file (\x1b[1mWeights only load failed\x1b[0m)\nsecond line")
    assert stop.value.code == 2
    assert capsys.readouterr().err == "error: bad file (Weights only load failed) second line\n"


def test_a_folder_given_as_a_checkpoint_says_so(tmp_path, capsys):
    folder = tmp_path / "ckpt.pth"
    folder.mkdir()
    assert_user_error(predict_in_process(capsys, "--checkpoint", folder, tmp_path), "is a folder")
    for flag in ("--resume", "--encoder_init"):
        with pytest.raises(SystemExit):
            parse_args([flag, str(folder)])
        err = capsys.readouterr().err
        assert f"{flag} {folder} is a folder" in err and "does not exist" not in err


def test_a_failed_resume_leaves_no_run_folder(tmp_path, capsys):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(os.urandom(2048))
    with pytest.raises(SystemExit) as stop:
        train_main(["--resume", str(junk), "--run_name", "fresh", "--save_model_path", str(tmp_path / "runs"),
                    "--device", "cpu"])
    assert stop.value.code == 2 and "not a readable checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "runs" / "fresh").exists()


@pytest.mark.parametrize("amp,hint", [("none", "--grad_clip"), ("bf16", "--grad_clip"), ("fp16", "--amp bf16")])
def test_nan_loss_hint_fits_the_precision(amp, hint):
    with pytest.raises(trainer.NonFiniteLoss) as err:
        trainer.check_finite(torch.tensor(float("nan")), 0, 3, amp)
    assert hint in str(err.value) and "last good checkpoint" in str(err.value)
    if amp != "fp16":
        assert "fp16" not in str(err.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_cuda_without_a_gpu_is_one_line(device):
    result = subprocess.run([sys.executable, str(PROJECT / "train.py"), "--device", device], cwd=PROJECT,
                            capture_output=True, text=True, timeout=300)
    assert_one_line_error(result, f"--device {device}: no CUDA GPU", "--device cpu")
