"""metadata.json parsing: inputs layouts, missing keys, absent originals, bad files."""
import json
import string

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from datasets.preparation.dfdc import COLUMNS, load_metadata
from utils.paths import is_safe_relative
from utils.errors import UserError

DROP_REASONS = ("missing", "unsafe_path", "bad_entry", "bad_label", "bad_original", "self_original",
                "duplicate", "conflicting_labels")


def make_part(root, name, entries, present=None):
    """A part folder with metadata.json; `present` (default: every entry) get a dummy .mp4."""
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "metadata.json").write_text(json.dumps(entries))
    for file in entries if present is None else present:
        (folder / file).write_bytes(b"x")
    return folder


def by_file(table):
    return table.set_index("file")


def test_parent_folder_of_parts_and_originals_in_other_parts(tmp_path):
    make_part(tmp_path, "dfdc_train_part_0", {"r.mp4": {"label": "REAL", "split": "train"},
                                              "f1.mp4": {"label": "FAKE", "original": "r.mp4"}})
    make_part(tmp_path, "dfdc_train_part_1", {"f2.mp4": {"label": "FAKE", "original": "r.mp4",
                                                         "fake_kind": "flicker"}})
    table, dropped = load_metadata([tmp_path])
    assert list(table.columns) == COLUMNS and dropped == []
    assert table.name.tolist() == ["dfdc_train_part_0/f1.mp4", "dfdc_train_part_0/r.mp4",
                                   "dfdc_train_part_1/f2.mp4"]
    t = by_file(table)
    assert t.loc["r.mp4", "original"] == "r.mp4" and t.loc["r.mp4", "label"] == 0
    assert t.loc["f2.mp4", "original"] == "r.mp4" and t.loc["f2.mp4", "part"] == "dfdc_train_part_1"
    assert t.loc["f2.mp4", "fake_kind"] == "flicker" and t.loc["f1.mp4", "fake_kind"] == ""
    # the same parts given one by one, or as metadata.json files, give the same table
    one_by_one, _ = load_metadata([tmp_path / "dfdc_train_part_1", tmp_path / "dfdc_train_part_0"])
    files, _ = load_metadata(sorted(tmp_path.glob("*/metadata.json")))
    pd.testing.assert_frame_equal(table, one_by_one)
    pd.testing.assert_frame_equal(table, files)


def test_missing_or_null_original_and_absent_original(tmp_path):
    make_part(tmp_path, "train_sample_videos", {"a.mp4": {"label": "FAKE"},
                                                "b.mp4": {"label": "FAKE", "original": None},
                                                "c.mp4": {"label": "fake", "original": "gone.mp4"}})
    t = by_file(load_metadata([tmp_path / "train_sample_videos"])[0])
    assert t.original.to_dict() == {"a.mp4": "", "b.mp4": "", "c.mp4": "gone.mp4"}
    assert t.label.tolist() == [1, 1, 1]


def test_listed_but_absent_and_unsafe_names_are_dropped(tmp_path):
    make_part(tmp_path, "p", {"here.mp4": {"label": "REAL"}, "gone.mp4": {"label": "REAL"},
                              "../escape.mp4": {"label": "FAKE"}, "/etc/abs.mp4": {"label": "FAKE"}},
              present=["here.mp4"])
    (tmp_path / "escape.mp4").write_bytes(b"x")  # exists outside the folder: still refused
    table, dropped = load_metadata([tmp_path / "p"])
    assert table.file.tolist() == ["here.mp4"]
    reasons = {d["name"]: d["reason"] for d in dropped}
    assert reasons == {"p/gone.mp4": "missing", "p/../escape.mp4": "unsafe_path",
                       "p//etc/abs.mp4": "unsafe_path"}


@pytest.mark.parametrize("name, unsafe", [("a.mp4", False), ("sub/a.mp4", False), ("../a.mp4", True),
                                          ("a/../../b.mp4", True), ("/a.mp4", True), ("C:\\a.mp4", True),
                                          ("..\\a.mp4", True), ("", True), ("a\0.mp4", True)])
def test_unsafe_names(name, unsafe):
    assert is_safe_relative(name) is not unsafe


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '"text"', "\xff\xfe"])
def test_malformed_metadata_is_a_one_line_user_error_naming_the_file(tmp_path, text):
    folder = tmp_path / "part"
    folder.mkdir()
    (folder / "metadata.json").write_bytes(text.encode("latin-1"))
    with pytest.raises(UserError) as err:
        load_metadata([folder])
    message = str(err.value)
    assert "metadata.json" in message and "\n" not in message


def test_bad_entries_are_dropped_with_their_reason_and_the_rest_is_read(tmp_path):
    entries = {"ok.mp4": {"label": "REAL"}, "nolabel.mp4": {}, "maybe.mp4": {"label": "MAYBE"},
               "three.mp4": 3, "seven.mp4": {"label": "FAKE", "original": 7},
               "kind.mp4": {"label": "FAKE", "fake_kind": [1]},
               "self.mp4": {"label": "FAKE", "original": "self.mp4"}}
    make_part(tmp_path, "p", entries)
    table, dropped = load_metadata([tmp_path / "p"])
    assert table.file.tolist() == ["ok.mp4"]
    assert {d["name"]: d["reason"] for d in dropped} == {
        "p/nolabel.mp4": "bad_label", "p/maybe.mp4": "bad_label", "p/three.mp4": "bad_entry",
        "p/seven.mp4": "bad_original", "p/kind.mp4": "bad_entry", "p/self.mp4": "self_original"}
    assert len(dropped) == 6 and all("metadata.json" in d["detail"] for d in dropped)


def test_one_file_under_two_spellings_is_one_row_and_conflicting_labels_are_dropped(tmp_path):
    entries = {"x.mp4": {"label": "FAKE"}, "./x.mp4": {"label": "FAKE"},
               "y.mp4": {"label": "REAL"}, "./y.mp4": {"label": "FAKE", "original": "z.mp4"}}
    make_part(tmp_path, "p", entries, present=["x.mp4", "y.mp4"])
    table, dropped = load_metadata([tmp_path / "p"])
    assert table.name.tolist() == ["p/x.mp4"]
    assert sorted((d["name"], d["reason"]) for d in dropped) == [
        ("p/x.mp4", "duplicate"), ("p/y.mp4", "conflicting_labels"), ("p/y.mp4", "conflicting_labels")]


def test_inputs_without_metadata_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="no metadata.json"):
        load_metadata([tmp_path])
    with pytest.raises(UserError, match="does not exist"):
        load_metadata([tmp_path / "nowhere"])


def test_two_parts_with_the_same_name_are_refused(tmp_path):
    make_part(tmp_path / "a", "part", {"x.mp4": {"label": "REAL"}})
    make_part(tmp_path / "b", "part", {"y.mp4": {"label": "REAL"}})
    with pytest.raises(UserError, match="named 'part'"):
        load_metadata([tmp_path / "a" / "part", tmp_path / "b" / "part"])


# Property test: any JSON or text in metadata.json gives a clear UserError or a valid table.
names = st.one_of(st.sampled_from(["a.mp4", "b.mp4", "../c.mp4", "/d.mp4", "", "sub/e.mp4"]),
                  st.text(string.printable, max_size=12))
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                           max_leaves=8)
entries = st.fixed_dictionaries({}, optional={"label": st.sampled_from(["REAL", "FAKE", "real", "x"]) | json_values,
                                              "original": st.none() | names | json_values,
                                              "fake_kind": st.text(max_size=5) | json_values,
                                              "split": json_values}) | json_values
documents = st.one_of(st.dictionaries(names, entries, max_size=5).map(json.dumps),
                      json_values.map(json.dumps), st.text(max_size=60))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=documents, present=st.sets(st.sampled_from(["a.mp4", "b.mp4", "c.mp4"])))
def test_any_metadata_gives_a_user_error_or_a_valid_table(tmp_path_factory, document, present):
    folder = tmp_path_factory.mktemp("meta") / "part"
    folder.mkdir()
    (folder / "metadata.json").write_text(document, encoding="utf-8", errors="surrogatepass")
    for file in present:
        (folder / file).write_bytes(b"x")
    try:
        table, dropped = load_metadata([folder])
    except UserError as err:
        assert "\n" not in str(err) and str(err)
        return
    assert list(table.columns) == COLUMNS
    assert set(table.label) <= {0, 1} and table.name.is_unique
    assert all(isinstance(v, str) for v in table.original) and set(table.file) <= present
    assert all(d["reason"] in DROP_REASONS for d in dropped)
    # every entry is either a row or dropped, and a dropped entry is listed once
    # (two spellings of one file share a row: its other entries are listed as duplicate or conflicting)
    assert len(table) + len(dropped) == len(json.loads(document))
