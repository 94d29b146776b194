"""Groups, class balance and the train/validation split, all deterministic from a seed.

A group is an original video and all its fakes: the REAL's own file name for a REAL, the
"original" for a FAKE. A FAKE whose original is absent still groups with the other fakes of that
original (keyed by its name); a FAKE with no original at all is its own group. Groups never cross
the split: a model must not be validated on a face it trained on.
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


def _home_part(rows):
    """The part that decides a group's side: its REAL's part, else its first row's part."""
    reals = rows[rows.label == 0]
    return (reals if len(reals) else rows).part.min()


def split_videos(table, by="original", val_fraction=0.2, val_parts=None, seed=0):
    """Add is_valid (bool) -> table. Asserts that no group crosses the split.

    "original": round(val_fraction * groups) groups go to validation, drawn by the seed
    separately among groups with a REAL and groups of fakes only, so both sides keep both classes
    (at least one group goes to validation when there are two or more).
    "part": groups whose home part (the REAL's part folder) is in val_parts; their fakes follow
    them even from other parts.
    """
    if by not in SPLITS:
        raise UserError(f"--split_by {by!r} is unknown; use one of {', '.join(SPLITS)}")
    groups = table.groupby("group", sort=True)
    if by == "part":
        parts = sorted(table.part.unique())
        wanted = list(val_parts or [])
        if not wanted:
            raise UserError("--split_by part needs --val_parts, e.g. --val_parts dfdc_train_part_0")
        unknown = sorted(set(wanted) - set(parts))
        if unknown:
            raise UserError(f"--val_parts {', '.join(unknown)} not among the inputs' parts "
                            f"({', '.join(parts)})")
        val_groups = {g for g, rows in groups if _home_part(rows) in wanted}
    else:
        if not 0.0 <= float(val_fraction) < 1.0:
            raise UserError(f"--val_fraction {val_fraction} must be in [0, 1), e.g. 0.2")
        val_groups = _draw_val_groups(groups, float(val_fraction), seed)
    table = table.copy()
    table["is_valid"] = table.group.isin(val_groups)
    check_no_group_leak(table)
    return table


def _draw_val_groups(groups, val_fraction, seed):
    rng = np.random.default_rng(seed)
    with_real = [g for g, rows in groups if (rows.label == 0).any()]
    fakes_only = [g for g, rows in groups if not (rows.label == 0).any()]
    val = []
    for names in (with_real, fakes_only):
        order = rng.permutation(len(names))
        val.extend(names[i] for i in order[:int(round(val_fraction * len(names)))])
    all_groups = with_real + fakes_only
    if not val and val_fraction > 0 and len(all_groups) >= 2:
        val.append(all_groups[rng.integers(len(all_groups))])
    return set(val)


def check_no_group_leak(table):
    """Raise SplitLeakError if any group has rows on both sides of the split."""
    sides = table.groupby("group")["is_valid"].nunique()
    leaked = sorted(sides[sides > 1].index)
    if leaked:
        raise SplitLeakError(f"groups on both sides of the split: {leaked[:5]}")


def split_counts(table):
    """{"train": {"REAL": n, "FAKE": n}, "val": {...}} for the report."""
    counts = {}
    for side, rows in (("train", table[~table.is_valid]), ("val", table[table.is_valid])):
        counts[side] = {"REAL": int((rows.label == 0).sum()), "FAKE": int((rows.label == 1).sum())}
    return counts
