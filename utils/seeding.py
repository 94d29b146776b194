"""Seeds: one --seed makes a CPU run repeatable, also across --resume."""
import random

import numpy as np
import torch


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def epoch_seed(seed, epoch):
    """The torch seed of one epoch; re-seeding per epoch makes a resumed run repeat the original."""
    return (seed * 1_000_003 + epoch) % 2**63


def sample_rng(seed, epoch, index):
    """The random generator of one sample in one epoch, independent of the worker that loads it."""
    return np.random.default_rng([seed % 2**32, epoch, index])
