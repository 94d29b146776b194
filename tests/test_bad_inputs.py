"""Bad inputs never cost a run: user errors are one line and exit 2; bad samples are skipped,
counted and reported with a reason in preparation, training and prediction; checkpoints and
paths from the data cannot run code or leave the data root.

Already covered elsewhere (not repeated here): a missing --root_dir, flags out of range and an
unknown --model_name (test_args); the seed's JPEG folders and a zero-byte mp4 in the dataset
(test_video_dataset); prepare's no-face, zero-byte and random-bytes videos (test_prepare);
predict's zero-byte, text, absent and unsafe inputs, wrong-architecture and pickled-code
checkpoints, --out under a file (test_predict).
"""
import itertools
import json
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trainer
from bad_inputs import (BAD_CACHES, BAD_FOLDERS, BAD_VIDEOS, GOOD_VIDEOS, SHORT_VIDEO, UNSAFE_NAMES,
                        write_bad_caches, write_dfdc_part, write_frame_folders, write_pickle_with_code,
                        write_videos)
from conftest import make_cache_dataset, scratch_dir
from datasets.preparation.predict_inputs import find_videos
from datasets.preparation.pipeline import prepare_dataset
from datasets.videos_csv import read_videos_csv
from utils.paths import is_safe_relative
from args import Config, DataConfig, FaceConfig, ModelConfig
from models import build_model
from run_helpers import assert_one_line_error, light_train_argv, run_cli
from test_metadata import json_values
from test_predict import predict_in_process, save_checkpoint
from train import main as train_main
from utils.errors import UserError

# ---- user errors: real subprocesses, run concurrently (each one pays the torch import) ----

CSV_HEAD = "name,label,is_valid\n"


def csv_root(base, name, text):
    root = base / name
    root.mkdir()
    (root / "videos_df.csv").write_text(text)
    return root


def user_error_cases(base, data_root):
    """id -> (script, argv, words the one error line must hold, marker that must not appear)."""
    blocker = base / "a_file"
    blocker.write_text("")
    other_arch = base / "other_arch.pth"
    model_cfg = ModelConfig(temporal="gru", embed_dim=32, hidden_size=16)
    torch.save({"model": build_model(model_cfg).state_dict(), "config": Config(model=model_cfg).to_dict(), "epoch": 1},
               other_arch)
    evil = {flag: write_pickle_with_code(base / f"evil_{flag}.pth", base / f"code_ran_{flag}")
            for flag in ("resume", "encoder_init")}
    bad_meta = base / "bad_meta_part"
    bad_meta.mkdir()
    (bad_meta / "metadata.json").write_text('{"a.mp4": {"label": "FAKE"')
    part = write_dfdc_part(base / "corpus_part")
    (base / "no_csv").mkdir()

    def train(root, *extra):  # each case its own run folder: the processes run side by side
        return ("train.py", light_train_argv(root, base / "runs", f"run{next(numbers)}", *extra))
    numbers = itertools.count()
    return {
        "missing_csv": (*train(base / "no_csv"), ["no videos CSV", "prepare.py"], None),
        "csv_without_columns": (*train(csv_root(base, "cols", "name,label\na,1\n")), ["is_valid"], None),
        "csv_bad_label": (*train(csv_root(base, "labels", CSV_HEAD + "a,maybe,True\n")), ["label", "maybe"], None),
        "csv_parent_path": (*train(csv_root(base, "up", CSV_HEAD + "../x.mp4,1,True\n")), ["outside the data root"], None),
        "csv_absolute_path": (*train(csv_root(base, "abs", CSV_HEAD + "/etc/x.mp4,1,True\n")), ["outside the data root"], None),
        "unknown_dataset": (*train(data_root, "--dataset", "foo"), ["--dataset 'foo'", "video"], None),
        "max_bad_fraction_out_of_range": (*train(data_root, "--max_bad_fraction", "1.5"), ["--max_bad_fraction"], None),
        "save_path_under_a_file": ("train.py", light_train_argv(data_root, blocker / "runs", "run"), ["cannot write", "--save_model_path"], None),
        "resume_other_architecture": (*train(data_root, "--resume", other_arch), ["differs from the checkpoint"], None),
        "resume_pickled_code": (*train(data_root, "--resume", evil["resume"]), ["not a safe checkpoint"], base / "code_ran_resume"),
        "encoder_init_pickled_code": (*train(data_root, "--encoder_init", evil["encoder_init"]), ["--encoder_init"], base / "code_ran_encoder_init"),
        "prepare_malformed_metadata": ("prepare.py", [bad_meta, "--out", base / "prep"], ["metadata.json", "malformed JSON"], None),
        "prepare_out_under_a_file": ("prepare.py", [part, "--out", blocker / "prep", "--face_detector", "none"], ["--out"], None),
    }


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory, cache_dataset):
    with scratch_dir(tmp_path_factory, "user_errors") as base:
        cases = user_error_cases(base, cache_dataset)
        with ThreadPoolExecutor(max_workers=3) as pool:  # imports dominate; a few at a time
            futures = {key: pool.submit(run_cli, script, *argv) for key, (script, argv, _, _) in cases.items()}
        yield {key: (futures[key].result(), words, marker) for key, (_, _, words, marker) in cases.items()}


USER_ERRORS = ("missing_csv", "csv_without_columns", "csv_bad_label", "csv_parent_path", "csv_absolute_path",
               "unknown_dataset", "max_bad_fraction_out_of_range", "save_path_under_a_file",
               "resume_other_architecture", "resume_pickled_code", "encoder_init_pickled_code",
               "prepare_malformed_metadata", "prepare_out_under_a_file")


@pytest.mark.parametrize("case", USER_ERRORS)
def test_user_error_is_one_line_and_exit_2(cli_runs, case):
    result, words, marker = cli_runs[case]
    assert_one_line_error(result, *words)
    if marker is not None:
        assert not marker.exists(), "unpickling ran the file's code"


def test_every_user_error_case_is_checked(cli_runs):
    assert set(cli_runs) == set(USER_ERRORS)


# ---- bad samples in preparation ----

def test_prepare_keeps_every_good_video_and_reports_each_bad_one(tmp_path):
    part = write_dfdc_part(tmp_path / "part")
    report = prepare_dataset([part], tmp_path / "out", n_windows=2, window_len=3, size=16, face_detector="none",
                             balance="all", val_fraction=0.5, min_frames=4, workers=1, verbose=False)
    csv = pd.read_csv(tmp_path / "out" / "videos_df.csv")
    assert sorted(csv["name"]) == sorted(f"part/{n}" for n in GOOD_VIDEOS)
    expected = {f"part/{n}": r for n, r in BAD_VIDEOS.items()}
    expected.update({f"part/{SHORT_VIDEO}": "too_short", **{f"part/{n}": "unsafe_path" for n in UNSAFE_NAMES}})
    assert {d["name"]: d["reason"] for d in report["dropped"]} == expected
    assert all(d["detail"] for d in report["dropped"])  # each with its detail, for the user


# ---- bad samples in training ----

VAL_VIDEOS = ("header_lies.mp4", "truncated.mp4")  # every window of these is evaluated


def mixed_training_set(root):
    """make_cache_dataset's 12 videos plus the corpus: videos, JPEG folders and caches as CSV rows."""
    make_cache_dataset(root, n_per_class=3)  # 2 training, 4 validation videos
    write_videos(root / "videos")
    write_frame_folders(root)
    write_bad_caches(root, root / "faces/part_0/real0.npz")
    table = pd.read_csv(root / "videos_df.csv", keep_default_na=False)
    rows = [dict(name=f"videos/{n}", label=i % 2, is_valid=n in VAL_VIDEOS, cache_path="")
            for i, n in enumerate((*GOOD_VIDEOS, SHORT_VIDEO, *BAD_VIDEOS))]
    rows += [dict(name=folder, label=0, is_valid=False, cache_path="") for folder in BAD_FOLDERS]
    rows += [dict(name=cache, label=1, is_valid=False, cache_path=cache) for cache in BAD_CACHES]
    full = pd.concat([table, pd.DataFrame(rows).assign(group=lambda t: t["name"])])
    full.to_csv(root / "videos_df.csv", index=False)
    bad = {f"videos/{n}": r for n, r in BAD_VIDEOS.items()} | BAD_FOLDERS | BAD_CACHES
    n_good_train = int((~full["is_valid"].astype(bool) & ~full["name"].isin(bad)).sum())
    return bad, n_good_train


def test_training_skips_counts_and_lists_bad_samples(tmp_path, monkeypatch):
    bad, n_good_train = mixed_training_set(tmp_path / "data")
    seen = []
    real_epoch = trainer.train_one_epoch

    def counting(*args, **kwargs):
        result = real_epoch(*args, **kwargs)
        seen.append(result["seen"])
        return result
    monkeypatch.setattr(trainer, "train_one_epoch", counting)
    train_main(light_train_argv(tmp_path / "data", tmp_path, "run", "--epochs", "1", "--max_bad_fraction", "0.7"))
    run = tmp_path / "run"
    assert seen == [n_good_train]  # every good training clip was used
    metrics = pd.read_csv(run / "metrics.csv")
    assert metrics["n_val_clips"].tolist() == [10]  # 4 cached + header_lies, 2 windows each
    listed = pd.read_csv(run / "bad_samples.csv")
    assert dict(zip(listed["name"], listed["reason"])) == bad and len(listed) == len(bad)
    assert set(listed[listed["split"] == "val"]["name"]) == {"videos/truncated.mp4"}
    assert f"skipped {len(bad)} bad samples" in (run / "log.txt").read_text()


# ---- bad samples in prediction ----

def test_predict_scores_good_videos_and_gives_bad_ones_the_fallback(tmp_path, capsys):
    write_videos(tmp_path / "videos")
    names = [*GOOD_VIDEOS, SHORT_VIDEO, *BAD_VIDEOS, *UNSAFE_NAMES]
    (tmp_path / "videos" / "list.csv").write_text("filename\n" + "\n".join(names) + "\n")
    ckpt = save_checkpoint(tmp_path / "model.pth", data_cfg=DataConfig(num_frames=4, crop_size=16),
                           faces=FaceConfig(n_windows=2, window_len=4, size=32, face_detector="none"))
    out = tmp_path / "sub.csv"
    result = predict_in_process(capsys, "--checkpoint", ckpt, tmp_path / "videos" / "list.csv", "--out", out,
                                "--fallback", 0.3)
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out, keep_default_na=False).set_index("filename")
    # black.mp4 and short.mp4 decode, but hold no picture / not one whole window: the fallback, whatever the detector
    expected = {**{n: "" for n in GOOD_VIDEOS}, **BAD_VIDEOS, **{n: "unsafe_path" for n in UNSAFE_NAMES},
                "black.mp4": "blank", SHORT_VIDEO: "too_short"}
    assert table["reason"].to_dict() == expected
    bad = table[table["reason"] != ""]
    scored = [n for n in GOOD_VIDEOS if n != "black.mp4"]
    assert (bad["label"] == 0.3).all() and (table.loc[scored, "label"] != 0.3).all()
    assert f"{len(bad)} scored with the fallback 0.3" in result.stdout


def test_predict_video_without_a_face_gets_the_fallback(tmp_path, capsys):
    write_videos(tmp_path / "videos")
    ckpt = save_checkpoint(tmp_path / "model.pth", data_cfg=DataConfig(num_frames=2, crop_size=16),
                           faces=FaceConfig(n_windows=1, window_len=2, size=32, face_detector="mtcnn"))
    # black.mp4: searched, nothing found; good.mp4: 32 px, smaller than the smallest face searched
    result = predict_in_process(capsys, "--checkpoint", ckpt, *(tmp_path / "videos" / n for n in ("black.mp4", "good.mp4")),
                                "--out", tmp_path / "sub.csv")
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(tmp_path / "sub.csv", keep_default_na=False)
    assert table[["filename", "label", "reason"]].values.tolist() == [["black.mp4", 0.5, "no_face"],
                                                                       ["good.mp4", 0.5, "no_face"]]


# ---- property tests the parser suites lack ----

cells = st.one_of(st.sampled_from(["0", "1", "REAL", "fake", "True", "false", "", "../a", "/abs", "a/../../b",
                                   "C:/x", "ok/x.mp4", '"', ",", "\n"]), st.text(max_size=8))
columns = st.lists(st.sampled_from(["name", "label", "is_valid", "cache_path", "original", "Unnamed: 0", ""]),
                   min_size=1, max_size=5)


@settings(max_examples=150, deadline=None)
@given(header=columns, rows=st.lists(st.lists(cells, min_size=1, max_size=5), max_size=4))
def test_any_csv_is_a_user_error_or_a_table_with_safe_paths(tmp_path_factory, header, rows):
    path = tmp_path_factory.mktemp("csv") / "videos_df.csv"
    quote = lambda v: '"' + v.replace('"', '""') + '"'  # noqa: E731
    path.write_text("\n".join(",".join(map(quote, line)) for line in [header, *rows]) + "\n")
    try:
        table = read_videos_csv(path)
    except UserError as err:
        assert str(err) and "\n" not in str(err)
        return
    assert table["name"].map(is_safe_relative).all() and set(table["label"]) <= {0, 1}
    if "cache_path" in table.columns:
        assert all(c == "" or is_safe_relative(c) for c in table["cache_path"])


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_as_csv_are_a_user_error_or_a_table(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("bytes") / "videos_df.csv"
    path.write_bytes(data)
    try:
        read_videos_csv(path)
    except UserError as err:
        assert "\n" not in str(err)


names = st.sampled_from(["a.mp4", "../a.mp4", "/tmp/a.mp4", "sub/../../a.mp4", "..", "", "C:\\a.mp4"]) | st.text(max_size=8)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=st.dictionaries(names, json_values | st.fixed_dictionaries({"label": st.sampled_from(["REAL", "FAKE"])}),
                                max_size=4).map(json.dumps) | json_values.map(json.dumps) | st.binary(max_size=40))
def test_predict_reads_any_metadata_as_an_error_or_rows_inside_the_folder(tmp_path_factory, document):
    """prepare's metadata parser has its property test (test_metadata); predict's reader had none."""
    folder = tmp_path_factory.mktemp("part")
    (folder / "metadata.json").write_bytes(document.encode() if isinstance(document, str) else document)
    (folder / "a.mp4").write_bytes(b"")
    try:
        rows = find_videos([folder])
    except UserError as err:
        assert "\n" not in str(err)
        return
    for row in rows:
        assert row.path is None or folder.resolve() in row.path.resolve().parents
        assert row.label in (None, 0, 1)

