"""95% bootstrap intervals over videos, resampling whole leak-free groups (an original with its
fakes, an FF++ pair, an identity): videos of one group are not independent, and resampling them
one by one would give intervals too narrow."""
import numpy as np

N_BOOT = 1000
LEVEL = 0.95


def group_bootstrap(labels, probs, groups, metric, n_boot=N_BOOT, seed=0):
    """(low, high) of `metric(labels, probs)` over resamples of the groups; NaN when undefined
    (one class only, or fewer than two groups)."""
    labels, probs = np.asarray(labels), np.asarray(probs, dtype=np.float64)
    groups = np.asarray(groups, dtype=object)
    names, index = np.unique(groups, return_inverse=True)
    if len(names) < 2 or len(np.unique(labels)) < 2:
        return float("nan"), float("nan")
    members = [np.flatnonzero(index == g) for g in range(len(names))]
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_boot):
        pick = np.concatenate([members[g] for g in rng.integers(0, len(names), len(names))])
        if len(np.unique(labels[pick])) == 2:
            values.append(metric(labels[pick], probs[pick]))
    if len(values) < n_boot // 2:  # the interval would describe a few lucky resamples only
        return float("nan"), float("nan")
    tail = (1 - LEVEL) / 2 * 100
    return float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))
