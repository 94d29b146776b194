"""Each metric against a case computed by hand (the arithmetic is in the comments)."""
import json
import math
import warnings

import numpy as np
import pytest

from utils.metrics import (LOGLOSS_EPS, aggregate_per_video, equal_error_rate, metrics_by_group,
                           to_jsonable, video_metrics)

# labels [0, 0, 1, 1] (REAL, REAL, FAKE, FAKE), P(fake) [.1, .4, .35, .8]
LABELS = [0, 0, 1, 1]
PROBS = [0.1, 0.4, 0.35, 0.8]


def test_hand_computed_case():
    m = video_metrics(LABELS, PROBS)
    # AUC: fake-real pairs ranked right: (.35>.1) (.35<.4 wrong) (.8>.1) (.8>.4) -> 3/4
    assert m["auc"] == pytest.approx(0.75)
    # AP: ranked .8(F) .4(R) .35(F) .1(R); precision at each fake: 1/1, 2/3 -> (1 + 2/3)/2
    assert m["ap"] == pytest.approx((1 + 2 / 3) / 2)
    # at 0.5: predictions [0, 0, 0, 1]; right: .1 .4 .8 -> 3/4
    assert m["acc"] == pytest.approx(0.75)
    # TNR 2/2, TPR 1/2 -> (1 + .5)/2
    assert m["balanced_acc"] == pytest.approx(0.75)
    assert m["confusion"] == [[2, 0], [1, 1]]
    # -(ln .9 + ln .6 + ln .35 + ln .8)/4
    expected = -(math.log(0.9) + math.log(0.6) + math.log(0.35) + math.log(0.8)) / 4
    assert m["log_loss"] == pytest.approx(expected)
    # ROC points (FPR, FNR): (0,1) (0,.5) (.5,.5) (.5,0) (1,0): FPR == FNR == .5 at threshold .4
    assert m["eer"] == pytest.approx(0.5)
    assert (m["n"], m["n_real"], m["n_fake"]) == (4, 2, 2)


def test_plain_python_types():
    m = video_metrics(np.array(LABELS), np.array(PROBS, dtype=np.float32))
    for key, value in m.items():
        assert type(value) in (float, int, list), key
    json.dumps(m)


def test_eer_interpolates_between_roc_points():
    # labels [0,0,0,1,1], probs [.1,.2,.7,.6,.9]; ROC (FPR, FNR): (0,1) (0,.5) (1/3,.5) (1/3,0)...
    # FNR - FPR goes from +1/6 to -1/3 along the vertical segment FPR = 1/3; crossing at FNR = 1/3
    assert equal_error_rate([0, 0, 0, 1, 1], [0.1, 0.2, 0.7, 0.6, 0.9]) == pytest.approx(1 / 3)
    assert equal_error_rate([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 0.0  # perfectly separated
    assert equal_error_rate([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 1.0  # perfectly inverted


def test_log_loss_clips_zero_and_one():
    # confident and wrong: a FAKE at 0 and a REAL at 1 each cost ~ -ln(eps) = 34.5, not infinity
    # (rel 1e-4: 1 - 1e-15 rounds to 1 - 1.11e-15 in float64)
    m = video_metrics([1, 0], [0.0, 1.0])
    assert m["log_loss"] == pytest.approx(-math.log(LOGLOSS_EPS), rel=1e-4)
    # confident and right: ~ -ln(1 - eps) ~ 0
    assert video_metrics([0, 1], [0.0, 1.0])["log_loss"] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("label", [0, 1])
def test_single_class_gives_nan_without_warnings(label):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = video_metrics([label] * 3, [0.2, 0.6, 0.9])
    assert math.isnan(m["auc"]) and math.isnan(m["ap"]) and math.isnan(m["eer"])
    assert math.isfinite(m["log_loss"])
    # right at 0.5: REALs .2 -> 1/3; FAKEs .6 .9 -> 2/3
    assert m["acc"] == pytest.approx(1 / 3 if label == 0 else 2 / 3)
    assert to_jsonable(m)["auc"] is None


@pytest.mark.parametrize("labels, probs", [([0, 1], [0.5]), ([0, 2], [0.1, 0.2]),
                                           ([0, 1], [0.1, 1.5]), ([0, 1], [0.1, math.nan]),
                                           ([], [])])
def test_bad_inputs_raise(labels, probs):
    with pytest.raises(ValueError):
        video_metrics(labels, probs)


def test_aggregate_prob_vs_logit():
    # video "a": margins (fake - real logit) +4 and -2; video "b": one clip, margin 0
    ids = ["b", "a", "a"]
    logits = [[0.0, 0.0], [0.0, 4.0], [1.0, -1.0]]
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731 (softmax P(fake) of 2 logits)
    got_ids, probs = aggregate_per_video(ids, logits, how="prob")
    assert got_ids == ["b", "a"]  # first-seen order
    assert probs == pytest.approx([0.5, (sig(4) + sig(-2)) / 2])  # (0.982 + 0.119)/2 = 0.551
    got_ids, probs = aggregate_per_video(ids, logits, how="logit")
    assert got_ids == ["b", "a"]
    assert probs == pytest.approx([0.5, sig((4 - 2) / 2)])  # sigmoid(1) = 0.731


def test_aggregate_keeps_integer_ids_and_rejects_bad_shapes():
    ids, probs = aggregate_per_video(np.array([3, 3, 1]), np.zeros((3, 2)))
    assert ids == [3, 1] and type(ids[0]) is int and probs.tolist() == [0.5, 0.5]
    with pytest.raises(ValueError):
        aggregate_per_video([0, 1], np.zeros((2, 3)))
    with pytest.raises(ValueError):
        aggregate_per_video([0], np.zeros((1, 2)), how="median")


def test_metrics_by_group_auc_per_fake_kind():
    # reals .1 .4; kind "warp" fakes .35 .8 -> AUC 3/4 (as above); kind "seam" fake .05 -> 0/2
    labels = [0, 0, 1, 1, 1]
    probs = [0.1, 0.4, 0.35, 0.8, 0.05]
    groups = ["", "", "warp", "warp", "seam"]
    out = metrics_by_group(labels, probs, groups)
    assert list(out) == ["warp", "seam"]
    assert out["warp"] == pytest.approx(0.75) and out["seam"] == 0.0
    assert all(type(v) is float for v in out.values())
    assert math.isnan(metrics_by_group([1, 1], [0.2, 0.3], ["warp", "warp"])["warp"])  # no reals
