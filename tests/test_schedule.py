"""The learning-rate plan: warmup, cosine to zero, and a resumed run with more epochs that keeps
the rate falling instead of raising it again (the old per-epoch cosine's T_max problem)."""
import numpy as np
import pytest

from args import TrainConfig
from utils.schedule import LRPlan


def factors(plan, start=0, stop=None):
    return np.array([plan.factor(s) for s in range(start, plan.total_steps if stop is None else stop)])


def test_warmup_then_cosine_to_zero():
    plan = LRPlan.for_run(TrainConfig(epochs=10, warmup_epochs=1), steps_per_epoch=5)
    f = factors(plan)
    assert plan.total_steps == 50 and plan.warmup_steps == 5
    assert np.allclose(f[:5], [0.2, 0.4, 0.6, 0.8, 1.0])
    assert (np.diff(f[5:]) <= 0).all() and f[-1] < 0.01


def test_more_epochs_on_resume_continue_smoothly_from_the_current_rate():
    old = LRPlan.for_run(TrainConfig(epochs=4), steps_per_epoch=10)
    at = 40  # the old run ended: its rate is near zero
    new = old.extended(LRPlan.for_run(TrainConfig(epochs=8), steps_per_epoch=10).total_steps, at)
    assert new.factor(at) == pytest.approx(old.factor(at))  # no jump
    f = factors(new, at)
    assert (np.diff(f) <= 1e-12).all() and f[-1] < 1e-3  # never rises, ends at zero at the new end
    mid = old.extended(80, 20)  # extended half way: from the rate reached, down over the new span
    assert mid.factor(20) == pytest.approx(old.factor(20)) and (np.diff(factors(mid, 20)) <= 1e-12).all()


def test_step_and_flat_plans():
    step = LRPlan.for_run(TrainConfig(epochs=6, scheduler="step", step_size=2, gamma=0.5), steps_per_epoch=3)
    assert [step.factor(s) for s in (0, 5, 6, 12)] == [1.0, 1.0, 0.5, 0.25]
    assert set(factors(LRPlan.for_run(TrainConfig(scheduler="none"), 4))) == {1.0}
