"""Groups, class balance and the train/val/test split, all deterministic from a seed.

A group is what must not be split: an original and all its fakes (DFDC), an FF++ pair, a Celeb-DF
identity cluster; the layout readers set it (DFDC's rule is add_groups: the REAL's own file name
for a REAL, the "original" for a FAKE; a FAKE whose original is absent groups with the other fakes
of that original; a FAKE with no original at all is its own group). Every group lies on exactly
one side of train/val/test: a model is never validated or tested on a face it trained on, and an
official test list is honoured as a whole.
"""
import numpy as np

from utils.errors import UserError

BALANCES = ("pair", "all")
SPLITS = ("original", "part")


class SplitLeakError(AssertionError):
    """Internal error: a group is on both sides of the split (a bug, never a user error)."""


def add_groups(table):
    table = table.copy()
    table["group"] = np.where(table["original"] != "", table["original"], table["file"])
    return table


def class_weights(labels):
    """[w_REAL, w_FAKE] with w_c = n / (2 * n_c), indexable by label; 0.0 for an absent class."""
    labels = np.asarray(labels)
    n = len(labels)
    return [n / (2.0 * int((labels == c).sum())) if (labels == c).any() else 0.0 for c in (0, 1)]


def balance_videos(table, how="pair", seed=0):
    """Choose the rows to keep -> (table, info). `table` needs a group column (add_groups).

    "pair": each REAL with one of its FAKEs chosen by the seed. REALs with no FAKE leave the
    classes short of fakes; that shortfall is filled with one FAKE from each of as many groups
    without a REAL (originals absent from the inputs) as needed, chosen by the seed. So the
    classes stay balanced even where many originals are missing (like ../shared/samples/dfdc).
    "all": every row; info["class_weights"] gives the weights that training uses.
    """
    if how not in BALANCES:
        raise UserError(f"--balance {how!r} is unknown; use one of {', '.join(BALANCES)}")
    if how == "all":
        kept = table
    else:
        rng = np.random.default_rng(seed)
        keep, orphans, unpaired_reals = [], [], 0
        for _, rows in table.sort_values("name").groupby("group", sort=True):
            reals, fakes = rows[rows.label == 0], rows[rows.label == 1]
            if len(reals):
                keep.extend(reals.name)
                if len(fakes):
                    keep.extend(rng.choice(fakes.name.to_numpy(), size=min(len(reals), len(fakes)),
                                           replace=False))
                unpaired_reals += max(len(reals) - len(fakes), 0)
            else:
                orphans.append(fakes.name.to_numpy())
        for i in rng.permutation(len(orphans))[:unpaired_reals]:
            keep.append(rng.choice(orphans[i]))
        kept = table[table.name.isin(set(keep))]
    kept = kept.sort_values("name").reset_index(drop=True)
    info = dict(balance=how, n_listed=len(table), n_kept=len(kept),
                n_not_selected=len(table) - len(kept), class_weights=class_weights(kept.label))
    return kept, info


SIDES = ("train", "val", "test")
RANK = {"": 0, "train": 1, "val": 2, "test": 3}  # a group with several official sides takes the last


def _home_part(rows):
    """The part that decides a group's side: its REAL's part, else its first row's part."""
    reals = rows[rows.label == 0]
    return (reals if len(reals) else rows).part.min()


def official_sides(table):
    """{group: side} for groups with an official split on any row; the most held-out side wins,
    so a group touching an official test video is test as a whole."""
    if "split" not in table.columns:
        return {}
    ranked = table[table.split != ""].groupby("group").split.agg(lambda s: max(s, key=RANK.get))
    return ranked.to_dict()


def split_videos(table, by="original", val_fraction=0.2, val_parts=None, seed=0, test_fractions=None):
    """Add split ("train"/"val"/"test") and is_valid (= split == "val") -> table.

    Official splits (a non-empty `split` on any row of a group) decide their groups. The other
    groups are drawn:
    "original": per dataset, round(test_fraction * groups) test groups, then round(val_fraction *
    groups) val groups, drawn by the seed separately among groups with a REAL and groups of fakes
    only, so every side keeps both classes (at least one val group when there are two or more, one
    test group when test is asked for and there are three or more), and stratified by what the
    groups' fakes are (their methods, else their fake kinds): each side gets its share of each.
    "part": groups whose home part (the REAL's part folder) is in val_parts are val; their fakes
    follow them even from other parts; none is drawn as test.
    test_fractions: {dataset: share} (absent = 0). Asserts that no group is on two sides.
    """
    if by not in SPLITS:
        raise UserError(f"--split_by {by!r} is unknown; use one of {', '.join(SPLITS)}")
    if not 0.0 <= float(val_fraction) < 1.0:
        raise UserError(f"--val_fraction {val_fraction} must be in [0, 1), e.g. 0.2")
    sides = official_sides(table)
    free = table[~table.group.isin(set(sides))]
    if by == "part":
        parts = sorted(table.part.unique())
        wanted = list(val_parts or [])
        if not wanted:
            raise UserError("--split_by part needs --val_parts, e.g. --val_parts dfdc_train_part_0")
        unknown = sorted(set(wanted) - set(parts))
        if unknown:
            raise UserError(f"--val_parts {', '.join(unknown)} not among the inputs' parts "
                            f"({', '.join(parts)})")
        for g, rows in free.groupby("group", sort=True):
            sides[g] = "val" if _home_part(rows) in wanted else "train"
    else:
        rng = np.random.default_rng(seed)
        datasets = free.dataset if "dataset" in free.columns else None
        for name, rows in free.groupby(datasets if datasets is not None else np.zeros(len(free)), sort=True):
            test_fraction = float((test_fractions or {}).get(name, 0.0))
            sides.update(_draw_groups(rows.groupby("group", sort=True), float(val_fraction),
                                      test_fraction, rng))
    table = table.copy()
    table["split"] = table.group.map(sides)
    table["is_valid"] = table.split == "val"
    check_no_group_leak(table)
    return table


def _stratum(rows):
    """What a group's fakes are: their methods (FF++), else their fake kinds (the demo); () for none."""
    fakes = rows[rows.label == 1]
    for column in ("method", "fake_kind"):
        if column in fakes.columns:
            kinds = set(fakes[column].dropna().astype(str)) - {"", "unknown", "original"}
            if kinds:
                return tuple(sorted(kinds))
    return ()


def _stratified_order(names, strata, rng):
    """`names` in a random order in which every prefix holds each stratum in proportion to its size
    (systematic sampling), so that a validation or test draw of any size gets its share of each."""
    by_stratum = {}
    for name in names:
        by_stratum.setdefault(strata[name], []).append(name)
    keyed = []
    for stratum in sorted(by_stratum):
        members = by_stratum[stratum]
        offset = rng.uniform()
        keyed += [((j + offset) / len(members), members[i]) for j, i in enumerate(rng.permutation(len(members)))]
    return [name for _, name in sorted(keyed, key=lambda pair: pair[0])]


def _draw_groups(groups, val_fraction, test_fraction, rng):
    """{group: side} for groups without an official split, stratified by what the groups' fakes are."""
    with_real = [g for g, rows in groups if (rows.label == 0).any()]
    fakes_only = [g for g, rows in groups if not (rows.label == 0).any()]
    strata = {g: _stratum(rows) for g, rows in groups}
    test, val = [], []
    for names in (with_real, fakes_only):
        order = _stratified_order(names, strata, rng)
        n_test = int(round(test_fraction * len(names)))
        test.extend(order[:n_test])
        val.extend(order[n_test:n_test + int(round(val_fraction * len(names)))])
    rest = [g for g in with_real + fakes_only if g not in set(test)]
    if not val and val_fraction > 0 and len(rest) >= 2:
        val.append(rest[rng.integers(len(rest))])
    rest = [g for g in rest if g not in set(val)]
    if not test and test_fraction > 0 and len(rest) >= 2:
        test.append(rest[rng.integers(len(rest))])
    sides = {g: "train" for g in with_real + fakes_only}
    sides.update({g: "val" for g in val})
    sides.update({g: "test" for g in test})
    return sides


def check_no_group_leak(table):
    """Raise SplitLeakError if any group has rows on two sides (train/val/test, or is_valid)."""
    column = "split" if "split" in table.columns else "is_valid"
    sides = table.groupby("group")[column].nunique()
    leaked = sorted(sides[sides > 1].index)
    if leaked:
        raise SplitLeakError(f"groups on two sides of the split: {leaked[:5]}")
    if "split" in table.columns and "is_valid" in table.columns:
        wrong = table[table.is_valid.astype(bool) != (table.split == "val")]
        if len(wrong):
            raise SplitLeakError(f"is_valid disagrees with split for {wrong.name.iloc[0]}")


def split_counts(table):
    """{"train": {"REAL": n, "FAKE": n}, "val": {...}, "test": {...}} for the report."""
    split = table.split if "split" in table.columns else table.is_valid.map({True: "val", False: "train"})
    return {side: {"REAL": int(((split == side) & (table.label == 0)).sum()),
                   "FAKE": int(((split == side) & (table.label == 1)).sum())} for side in SIDES}
