"""prepare.py on each layout: the split column, held-out test sets, and no group on two sides."""
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from datasets.preparation.ffpp import check_pairs
from datasets.preparation.pipeline import CSV_COLUMNS, prepare_dataset
from datasets.splits import SplitLeakError
from layout_fixtures import make_celebdf, make_dfdc_test, make_ffpp

ROOT = Path(__file__).resolve().parents[1]
FAST = dict(n_windows=1, window_len=2, size=16, face_detector="none", workers=1, verbose=False)


def sides_of(csv):
    return csv.groupby("group").split.nunique()


def test_ffpp_from_the_command_line_keeps_pairs_on_one_side(tmp_path):
    root = make_ffpp(tmp_path / "ffpp")
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, str(ROOT / "prepare.py"), str(root), "--out", str(out),
                             "--face_detector", "none", "--size", "16", "--n_windows", "1", "--window_len", "2",
                             "--workers", "1"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "prepared 8 videos" in result.stdout
    csv = pd.read_csv(out / "videos_df.csv", keep_default_na=False)
    assert list(csv.columns) == CSV_COLUMNS and (sides_of(csv) == 1).all()
    assert set(csv.split) == {"train", "val"}  # 2 groups: one must train, and validation comes before test
    assert (csv.is_valid == (csv.split == "val")).all() and set(csv.compression) == {"c23"}
    assert set(csv.method) == {"original", "Deepfakes", "Face2Face"}
    pair = csv[csv.name.str.contains("/033") | csv.name.str.contains("/097")]
    assert len(pair) == 5 and pair.split.nunique() == 1


def test_ffpp_official_splits_are_honoured(tmp_path):
    root = make_ffpp(tmp_path / "ffpp", splits={"val": [["033", "097"]], "test": [["035", "036"]]})
    prepare_dataset([root], tmp_path / "out", **FAST)
    csv = pd.read_csv(tmp_path / "out" / "videos_df.csv", keep_default_na=False)
    assert dict(zip(csv.group, csv.split)) == {"ffpp:033": "val", "ffpp:035": "test"}


def test_the_pair_check_catches_a_pair_split_across_sides():
    table = pd.DataFrame(dict(dataset="ffpp", part=["original_sequences/youtube/c23/videos",
                                                    "manipulated_sequences/Deepfakes/c23/videos"],
                              label=[0, 1], split=["train", "train"]))
    table["name"] = table.part + "/" + pd.Series(["097.mp4", "033_097.mp4"])
    check_pairs(table)
    with pytest.raises(SplitLeakError, match="097"):
        check_pairs(table.assign(split=["train", "test"]))


def test_celebdf_official_test_list_and_identity_groups(tmp_path):
    root = make_celebdf(tmp_path / "celeb")
    report = prepare_dataset([root], tmp_path / "out", seed=1, **FAST)
    csv = pd.read_csv(tmp_path / "out" / "videos_df.csv", keep_default_na=False).set_index("name")
    assert (sides_of(csv) == 1).all()
    test = sorted(csv.index[csv.split == "test"])
    # listed: 00000 (REAL: 1 means REAL in the list) and id2_id3; id2 and id3's reals follow them
    assert test == ["Celeb-real/id2_0000.mp4", "Celeb-real/id3_0001.mp4", "Celeb-synthesis/id2_id3_0000.mp4",
                    "YouTube-real/00000.mp4"]
    assert csv.loc["YouTube-real/00000.mp4", "label"] == 0 and not csv.is_valid[test].any()
    assert report["counts"]["test"] == {"REAL": 3, "FAKE": 1}
    assert set(csv.split) == {"train", "val", "test"}  # unlisted groups: val drawn, no extra test


def test_dfdc_test_set_is_prepared_as_test_only(tmp_path):
    root = make_dfdc_test(tmp_path / "dfdc_test", {"aaa.mp4": 1, "bbb.mp4": 0, "ccc.mp4": "FAKE"})
    report = prepare_dataset([root], tmp_path / "out", **FAST)
    csv = pd.read_csv(tmp_path / "out" / "videos_df.csv")
    assert set(csv.split) == {"test"} and not csv.is_valid.any() and csv.label.tolist() == [1, 0, 1]
    assert report["counts"]["test"] == {"REAL": 1, "FAKE": 2}


def test_manifest_with_drawn_test_share(tmp_path):
    from layout_fixtures import tiny_video
    rows = []
    for i in range(10):
        tiny_video(tmp_path / "data" / f"v{i}.mp4", seed=i)
        rows.append(f"v{i}.mp4,{i % 2},g{i // 2}")
    (tmp_path / "data" / "list.csv").write_text("path,label,group\n" + "\n".join(rows) + "\n")
    prepare_dataset([tmp_path / "data" / "list.csv"], tmp_path / "out", test_fraction=0.4, val_fraction=0.2, **FAST)
    csv = pd.read_csv(tmp_path / "out" / "videos_df.csv")
    assert (sides_of(csv) == 1).all() and csv.groupby("split").group.nunique().to_dict() == {
        "test": 2, "train": 2, "val": 1}
