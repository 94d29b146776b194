"""The videos CSV parser: the seed's videos_df, prepare.py's superset, and one-line errors."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datasets.videos_csv import parse_videos_csv, resolve_csv
from utils.paths import is_safe_relative
from utils.errors import UserError

SEED_CSV = ",name,label,is_valid\n0,fake/aaa,1,False\n1,real/bbb,0,True\n"


def test_reads_the_seed_format():
    df = parse_videos_csv(SEED_CSV)
    assert list(df.columns) == ["name", "label", "is_valid"]
    assert df["label"].tolist() == [1, 0] and df["is_valid"].tolist() == [False, True]


def test_split_column_with_test_rows():
    df = parse_videos_csv("name,label,is_valid,split\na,1,False,train\nb,0,True,val\nc,1,False,Test\n")
    assert df["split"].tolist() == ["train", "val", "test"] and df["is_valid"].tolist() == [False, True, False]


def test_label_words():
    df = parse_videos_csv("name,label,is_valid\na,FAKE,True\nb,real,false\nc,1,0\n")
    assert df["label"].tolist() == [1, 0, 1] and df["is_valid"].tolist() == [True, False, False]


@pytest.mark.parametrize("text,needle", [
    ("name,label\na,1\n", "is_valid"),
    ("name,label,is_valid\na,2,True\n", "label"),
    ("name,label,is_valid\na,1,perhaps\n", "is_valid"),
    ("name,label,is_valid\n", "no rows"),
    ("name,label,is_valid\n../etc/passwd,1,True\n", "outside the data root"),
    ("name,label,is_valid\n/etc/passwd,1,True\n", "outside the data root"),
    ("name,label,is_valid,cache_path\na,1,True,../../x.npz\n", "outside the data root"),
    ("name,label,is_valid,split\na,1,False,holdout\n", "split"),
    ("name,label,is_valid,split\na,1,True,test\n", "is_valid must be split == 'val'"),
])
def test_bad_csv_is_a_user_error(text, needle):
    with pytest.raises(UserError, match=needle):
        parse_videos_csv(text)


def test_csv_extension_may_be_left_off(tmp_path):
    (tmp_path / "videos_df.csv").write_text(SEED_CSV)
    assert resolve_csv(tmp_path, "videos_df") == tmp_path / "videos_df.csv"
    with pytest.raises(UserError, match="prepare.py"):
        resolve_csv(tmp_path, "other")


@pytest.mark.parametrize("path,ok", [("a/b.mp4", True), ("../a", False), ("/abs", False), ("a/../../b", False), ("", False), ("C:/x", False)])
def test_safe_relative(path, ok):
    assert is_safe_relative(path) is ok


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_is_a_table_or_a_user_error(text):
    try:
        df = parse_videos_csv(text)
    except UserError as err:
        assert "\n" not in str(err)
        return
    assert set(df["label"]) <= {0, 1} and df["is_valid"].dtype == bool


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=12), st.sampled_from(["0", "1", "REAL", "FAKE", "x", ""]),
                          st.sampled_from(["True", "False", "1", "0", "?"])), min_size=1, max_size=6))
def test_arbitrary_rows_are_a_table_or_a_user_error(rows):
    text = "name,label,is_valid\n" + "".join(f'"{n.replace(chr(34), "")}",{lab},{v}\n' for n, lab, v in rows)
    try:
        df = parse_videos_csv(text)
    except UserError:
        return
    assert len(df) >= 1 and df["label"].isin([0, 1]).all()
