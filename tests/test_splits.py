"""Groups, balance and split: invariants and determinism."""
import pandas as pd
import pytest

from datasets.splits import (SplitLeakError, add_groups, balance_videos, check_no_group_leak,
                             class_weights, split_videos)
from utils.errors import UserError


def video_table(n_reals=20, fakes_per_real=3, n_orphans=4, n_parts=3):
    """REAL i (part i % n_parts) with its fakes in the next part; fakes of absent originals."""
    rows = []
    for i in range(n_reals):
        part = f"p{i % n_parts}"
        rows.append(dict(file=f"r{i}.mp4", part=part, label=0, original=f"r{i}.mp4"))
        for k in range(fakes_per_real * (i % 5 != 4)):  # every 5th REAL has no fake
            rows.append(dict(file=f"f{i}_{k}.mp4", part=f"p{(i + 1) % n_parts}", label=1,
                             original=f"r{i}.mp4"))
    for j in range(n_orphans):
        for k in range(2):
            rows.append(dict(file=f"o{j}_{k}.mp4", part="p0", label=1, original=f"absent{j}.mp4"))
    rows.append(dict(file="lonely.mp4", part="p1", label=1, original=""))
    table = pd.DataFrame(rows)
    table["name"] = table.part + "/" + table.file
    return add_groups(table.sort_values("name").reset_index(drop=True))


def test_groups_follow_originals():
    t = video_table().set_index("file")
    assert t.loc["r3.mp4", "group"] == t.loc["f3_1.mp4", "group"] == "r3.mp4"
    assert t.loc["o1_0.mp4", "group"] == t.loc["o1_1.mp4", "group"] == "absent1.mp4"
    assert t.loc["lonely.mp4", "group"] == "lonely.mp4"


def test_pair_keeps_each_real_with_one_of_its_fakes_and_balances_with_orphans():
    table = video_table()
    kept, info = balance_videos(table, "pair", seed=0)
    assert (kept.label == 0).sum() == 20 and (kept.label == 1).sum() == 20  # 4 unpaired reals topped up
    for group, rows in kept.groupby("group"):
        assert len(rows) <= 2
    paired = kept[kept.group.str.startswith("r")]
    assert (paired.groupby("group").label.sum() <= 1).all()
    assert info["n_not_selected"] == len(table) - len(kept) and info["class_weights"] == [1.0, 1.0]


def test_balance_all_keeps_every_video_and_reports_class_weights():
    table = video_table()
    kept, info = balance_videos(table, "all", seed=0)
    assert len(kept) == len(table)
    n, n_real = len(kept), int((kept.label == 0).sum())
    assert info["class_weights"] == pytest.approx([n / (2 * n_real), n / (2 * (n - n_real))])
    assert class_weights([0, 0, 0, 1]) == pytest.approx([4 / 6, 2.0])


@pytest.mark.parametrize("balance", ["pair", "all"])
def test_split_by_original_never_splits_a_group_and_is_deterministic(balance):
    for seed in range(5):
        kept, _ = balance_videos(video_table(), balance, seed)
        split = split_videos(kept, "original", 0.25, seed=seed)
        assert (split.groupby("group").is_valid.nunique() == 1).all()
        assert 0.1 < split.is_valid.mean() < 0.45
        assert set(split[split.is_valid].label) == {0, 1} and set(split[~split.is_valid].label) == {0, 1}
        again = split_videos(balance_videos(video_table(), balance, seed)[0], "original", 0.25, seed=seed)
        pd.testing.assert_frame_equal(split, again)
    a = split_videos(balance_videos(video_table(), "pair", 0)[0], "original", 0.25, seed=0)
    b = split_videos(balance_videos(video_table(), "pair", 1)[0], "original", 0.25, seed=1)
    assert not a.equals(b)


def test_split_by_part_keeps_fakes_with_their_real():
    table = video_table()
    split = split_videos(table, "part", val_parts=["p1"])
    t = split.set_index("file")
    assert t.loc["r1.mp4", "is_valid"] and t.loc["f1_0.mp4", "is_valid"]  # fake lives in p2
    assert not t.loc["r0.mp4", "is_valid"] and not t.loc["f0_0.mp4", "is_valid"]  # fake lives in p1
    assert t.loc["lonely.mp4", "is_valid"]
    check_no_group_leak(split)


def test_leak_check_raises_an_internal_error():
    split = split_videos(video_table(), "original", 0.2, seed=0).copy()
    first_real_group = split[split.label == 0].group.iloc[0]
    rows = split.index[split.group == first_real_group]
    split.loc[rows[0], "is_valid"] = not split.loc[rows[0], "is_valid"]
    assert issubclass(SplitLeakError, AssertionError)
    with pytest.raises(SplitLeakError, match=first_real_group):
        check_no_group_leak(split)


def test_tiny_sets_still_have_a_validation_side():
    table = video_table(n_reals=1, fakes_per_real=0, n_orphans=2)
    table = table[table.file != "lonely.mp4"]
    kept, _ = balance_videos(table, "pair", seed=0)
    assert sorted(kept.label) == [0, 1]
    split = split_videos(kept, "original", 0.2, seed=0)
    assert split.is_valid.sum() == 1


@pytest.mark.parametrize("kwargs", [dict(by="folds"), dict(by="part"), dict(by="part", val_parts=["p9"]),
                                    dict(val_fraction=1.0), dict(val_fraction=-0.1)])
def test_bad_split_options_are_user_errors(kwargs):
    with pytest.raises(UserError):
        split_videos(video_table(), **kwargs)
    with pytest.raises(UserError):
        balance_videos(video_table(), "most")


def test_validation_and_test_get_their_share_of_every_fake_kind():
    # 30 originals, each with fakes of one kind (10 of each); 20% val and 20% test of the groups
    rows = []
    for i in range(30):
        kind = "ABC"[i % 3]
        rows.append(dict(file=f"r{i}.mp4", label=0, original="", fake_kind=""))
        rows += [dict(file=f"f{i}_{j}.mp4", label=1, original=f"r{i}.mp4", fake_kind=kind) for j in range(2)]
    table = add_groups(pd.DataFrame(rows).assign(part="p", dataset="d"))
    table["name"] = table["file"]
    for seed in range(5):
        split = split_videos(table, val_fraction=0.2, seed=seed, test_fractions={"d": 0.2})
        fakes = split[split.label == 1]
        for side in ("val", "test"):
            counts = fakes[fakes.split == side].groupby("fake_kind")["original"].nunique().to_dict()
            assert counts == {"A": 2, "B": 2, "C": 2}, (seed, side, counts)
        assert split.groupby("group")["split"].nunique().max() == 1
