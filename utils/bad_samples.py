"""The bad-sample policy of training: skip, count and list each unusable sample; stop the run only
when too large a share of an epoch is unusable (then the data, not one file, is the problem)."""
from collections import Counter

from utils.errors import UserError


class TooManyBadSamples(UserError):
    pass


def bad_sample_rows(epoch, split, bad):
    return [dict(epoch=epoch + 1, split=split, name=name, reason=reason) for name, reason in bad]


def check_bad_share(bad, total, limit, split):
    if total and len(bad) / total > limit:
        reasons = Counter(r for _, r in bad)
        raise TooManyBadSamples(f"{len(bad)} of {total} {split} samples are unusable ({dict(reasons)}); fix the data "
                                f"(see bad_samples.csv) or raise --max_bad_fraction above {limit}")


def describe(bad):
    """' | skipped N bad samples {reason: n}' for a log line, '' when there were none."""
    if not bad:
        return ""
    return f" | skipped {len(bad)} bad samples {dict(Counter(r for _, r in bad))} (bad_samples.csv)"
