"""The layout readers: FF++, Celeb-DF, the DFDC test set, CSV manifests, and recognising them."""
import json
import string

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from datasets.preparation.celebdf import load_celebdf, read_test_list
from datasets.preparation.ffpp import load_ffpp
from datasets.preparation.layouts import FORMATS, detect_layout, read_inputs
from datasets.preparation.manifest import read_manifest
from datasets.preparation.table import COLUMNS
from layout_fixtures import make_celebdf, make_dfdc_test, make_ffpp
from utils.errors import UserError


def by_name(table):
    return table.set_index("name")


def test_ffpp_pairs_share_a_group_and_fakes_know_their_method(tmp_path):
    table, dropped = load_ffpp(make_ffpp(tmp_path / "ffpp"))
    assert list(table.columns) == COLUMNS and dropped == [] and len(table) == 8
    t = table.set_index(table.part.str.split("/").str[1] + "/" + table.file)
    pair = ["youtube/033.mp4", "youtube/097.mp4", "Deepfakes/033_097.mp4", "Deepfakes/097_033.mp4",
            "Face2Face/097_033.mp4"]
    assert t.loc[pair, "group"].nunique() == 1
    assert t.loc["Deepfakes/035_036.mp4", "group"] == t.loc["youtube/036.mp4", "group"] != t.loc["youtube/033.mp4", "group"]
    assert t.loc["Face2Face/097_033.mp4", ["label", "method", "original", "compression"]].tolist() == [
        1, "Face2Face", "097.mp4", "c23"]
    assert t.loc["youtube/033.mp4", ["label", "method"]].tolist() == [0, "original"]
    assert set(table.split) == {""} and set(table.dataset) == {"ffpp"}


def test_ffpp_official_splits_decide(tmp_path):
    root = make_ffpp(tmp_path / "ffpp", splits={"train": [["033", "097"]], "test": [["035", "036"]]})
    t = by_name(load_ffpp(root)[0])
    assert t[t.group == "ffpp:033"].split.unique().tolist() == ["train"]
    assert t[t.group == "ffpp:035"].split.unique().tolist() == ["test"]


def test_ffpp_methods_compression_and_bad_names(tmp_path):
    root = make_ffpp(tmp_path / "ffpp")
    (root / "manipulated_sequences/Deepfakes/c23/videos/oops.mp4").write_bytes(b"x")
    table, dropped = load_ffpp(root, methods=["Face2Face"])
    assert set(table.method) == {"original", "Face2Face"} and dropped == []
    table, dropped = load_ffpp(root)
    assert [(d["name"], d["reason"]) for d in dropped] == [
        ("manipulated_sequences/Deepfakes/c23/videos/oops.mp4", "bad_name")]
    with pytest.raises(UserError, match="pass --compression c23"):
        load_ffpp(root, compression="c40")


def test_ffpp_deepfakedetection_groups_by_actor(tmp_path):
    for rel in ["original_sequences/actors/c23/videos/01__exit_phone_room.mp4",
                "original_sequences/actors/c23/videos/02__walk.mp4",
                "original_sequences/actors/c23/videos/03__walk.mp4",
                "manipulated_sequences/DeepFakeDetection/c23/videos/01_02__exit_phone_room__YVGY8LOK.mp4"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    t = load_ffpp(tmp_path)[0].set_index("file")
    assert t.loc["01__exit_phone_room.mp4", "group"] == t.loc["02__walk.mp4", "group"] == "ffpp:a01"
    assert t.loc["03__walk.mp4", "group"] == "ffpp:a03"
    assert t.loc["01_02__exit_phone_room__YVGY8LOK.mp4", "original"] == "01__exit_phone_room.mp4"


def test_celebdf_list_uses_1_for_real(tmp_path):
    table, dropped = load_celebdf(make_celebdf(tmp_path / "celeb", videos=False))
    t = by_name(table)
    assert dropped == []
    # the list says "1 YouTube-real/00000.mp4": 1 means REAL there, so our label is 0
    assert t.loc["YouTube-real/00000.mp4", ["label", "split"]].tolist() == [0, "test"]
    assert t.loc["Celeb-synthesis/id2_id3_0000.mp4", ["label", "split"]].tolist() == [1, "test"]
    assert t.loc["Celeb-real/id0_0000.mp4", "split"] == ""  # unlisted: drawn later
    fake = t.loc["Celeb-synthesis/id0_id1_0000.mp4"]
    assert fake.group == t.loc["Celeb-real/id1_0000.mp4", "group"] == t.loc["Celeb-real/id0_0000.mp4", "group"]
    assert fake.original == "id0_0000.mp4" and fake.method == "Celeb-synthesis"


def test_celebdf_list_label_against_the_folder_is_a_conflict(tmp_path):
    lines = ["0 YouTube-real/00000.mp4", "1 Celeb-real/id0_0000.mp4", "2 x.mp4", "1 YouTube-real/99.mp4",
             "1 ../escape.mp4", "1 Celeb-real/id0_0000.mp4"]
    table, dropped = load_celebdf(make_celebdf(tmp_path / "celeb", test_lines=lines, videos=False))
    assert sorted((d["name"], d["reason"]) for d in dropped) == [
        ("../escape.mp4", "unsafe_path"), ("Celeb-real/id0_0000.mp4", "duplicate"),
        ("List_of_testing_videos.txt:3", "bad_line"), ("YouTube-real/00000.mp4", "conflicting_labels"),
        ("YouTube-real/99.mp4", "missing")]
    assert "YouTube-real/00000.mp4" not in set(table.name)  # listed as test: never trained on
    assert by_name(table).loc["Celeb-real/id0_0000.mp4", "split"] == "test"


def test_dfdc_test_set_is_all_test(tmp_path):
    root = make_dfdc_test(tmp_path / "dfdc_test", {"aaa.mp4": 1, "bbb.mp4": 0})
    table, dropped, layouts = read_inputs([root])
    assert layouts == {str(root): "dfdc_test"} and dropped == []
    assert table.split.tolist() == ["test", "test"] and table.label.tolist() == [1, 0]
    assert table.method.tolist() == ["unknown", "original"] and set(table.dataset) == {"dfdc"}


def test_manifest_rows_spellings_and_conflicts(tmp_path):
    for name in ("a.mp4", "b.mp4", "c.mp4", "d.mp4"):
        (tmp_path / "videos").mkdir(exist_ok=True)
        (tmp_path / "videos" / name).write_bytes(b"x")
    (tmp_path / "list.csv").write_text(
        "path,label,group,split,method\n"
        "videos/a.mp4,FAKE,g1,,swap\n./videos/a.mp4,1,,,\n"          # one file, two spellings
        "videos/b.mp4,0,g1,,\nvideos/b.mp4,fake,,,\n"                # conflicting labels
        "videos/c.mp4,REAL,,test,\nvideos/d.mp4,maybe,,,\n"
        "videos/e.mp4,0,,,\n../x.mp4,0,,,\nvideos/c.mp4,0,,sometimes,\n")
    table, dropped = read_manifest(tmp_path / "list.csv")
    t = by_name(table)
    root = tmp_path.name
    assert sorted(t.index) == [f"{root}/videos/a.mp4", f"{root}/videos/c.mp4"]
    assert t.loc[f"{root}/videos/a.mp4", ["label", "group", "method"]].tolist() == [1, f"{root}:g1", "swap"]
    assert t.loc[f"{root}/videos/c.mp4", ["split", "method", "group"]].tolist() == ["test", "original", f"{root}/videos/c.mp4"]
    assert sorted((d["name"], d["reason"]) for d in dropped) == [
        (f"{root}/../x.mp4", "unsafe_path"), (f"{root}/videos/a.mp4", "duplicate"),
        (f"{root}/videos/b.mp4", "conflicting_labels"), (f"{root}/videos/b.mp4", "conflicting_labels"),
        (f"{root}/videos/c.mp4", "bad_split"), (f"{root}/videos/d.mp4", "bad_label"),
        (f"{root}/videos/e.mp4", "missing")]


@pytest.mark.parametrize("text, needle", [("path\nx.mp4\n", "lacks the column"), ("", "not a readable CSV")])
def test_bad_manifest_file_is_one_line(tmp_path, text, needle):
    (tmp_path / "m.csv").write_text(text)
    with pytest.raises(UserError, match=needle):
        read_manifest(tmp_path / "m.csv")


def test_layouts_are_recognised_and_an_unknown_folder_is_one_line(tmp_path):
    make_ffpp(tmp_path / "ffpp")
    make_celebdf(tmp_path / "celeb", videos=False)
    (tmp_path / "part").mkdir()
    (tmp_path / "part" / "metadata.json").write_text("{}")
    (tmp_path / "m.csv").write_text("path,label\n")
    (tmp_path / "other").mkdir()
    assert [detect_layout(tmp_path / n) for n in ("ffpp", "celeb", "part", "m.csv")] == [
        "ffpp", "celebdf", "dfdc", "manifest"]
    with pytest.raises(UserError) as err:
        detect_layout(tmp_path / "other")
    assert "\n" not in str(err.value) and "FaceForensics++" in str(err.value) and "--format" in str(err.value)


def test_layout_names_match_the_format_flag():
    from args import FFPP_METHODS, PREPARE_FORMATS
    from datasets.preparation.ffpp import METHODS
    assert PREPARE_FORMATS == FORMATS and FFPP_METHODS == METHODS


# Property tests: generated rows never crash a parser, and each bad row is reported once.
cells = st.one_of(st.sampled_from(["a.mp4", "./a.mp4", "b.mp4", "../c.mp4", "/d.mp4", "", "0", "1", "FAKE",
                                   "real", "test", "val", "maybe", " ", '"', ","]),
                  st.text(string.printable, max_size=8))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(cells, cells, cells, cells), max_size=8))
def test_any_manifest_rows_give_rows_or_reasons(tmp_path_factory, rows):
    import csv
    folder = tmp_path_factory.mktemp("manifest")
    for name in ("a.mp4", "b.mp4"):
        (folder / name).write_bytes(b"x")
    with open(folder / "m.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([("path", "label", "split", "group"), *rows])
    try:
        table, dropped = read_manifest(folder / "m.csv")
    except UserError as err:  # only when the file as a whole cannot be read
        assert "\n" not in str(err) and str(err)
        return
    assert list(table.columns) == COLUMNS and table.name.is_unique and set(table.label) <= {0, 1}
    assert set(table.file) <= {"a.mp4", "b.mp4"}
    assert len(table) + len(dropped) == len(rows)  # every row is a video or a reason, once


lines = st.one_of(st.tuples(st.sampled_from(["0", "1", "2", "", "x"]),
                            st.sampled_from(["YouTube-real/00000.mp4", "./YouTube-real/00000.mp4",
                                             "Celeb-synthesis/id2_id3_0000.mp4", "Celeb-real/id9_0000.mp4",
                                             "../x.mp4", "/abs.mp4", ""])).map(" ".join),
                  st.text(string.printable, max_size=20))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(test_lines=st.lists(lines, max_size=6))
def test_any_celebdf_test_list_gives_rows_or_reasons(tmp_path_factory, test_lines):
    text = "\n".join(test_lines)
    root = make_celebdf(tmp_path_factory.mktemp("celeb"), test_lines=[text], videos=False)
    entries, dropped = read_test_list(root / "List_of_testing_videos.txt")
    n_lines = sum(1 for line in (text + "\n").splitlines() if line.strip())
    assert len(entries) + len(dropped) == n_lines
    table, all_dropped = load_celebdf(root)
    assert set(table[table.split == "test"].name) <= {e["name"] for e in entries}
    assert not set(table.name) & {d["name"] for d in all_dropped if d["reason"] == "conflicting_labels"}
