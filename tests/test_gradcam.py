"""explain.gradcam: one heatmap per backbone stream, per frame of a clip, and one that moves with
the evidence once a model has learned it."""
import numpy as np
import pytest
import torch

from explain.gradcam import clip_cams
from args import ModelConfig
from models import build_model

SMALL = dict(model_name="resnet18", temporal="gru", embed_dim=8, hidden_size=8, dropout=0.0)


def random_clip(t=3, size=32, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (t, size, size, 3), dtype=np.uint8)


def test_two_streams_get_separate_maps_and_the_model_is_left_as_it_was():
    torch.manual_seed(0)
    model = build_model(ModelConfig(**SMALL, input_mode="both", fusion="two_stream")).eval()
    flags = [p.requires_grad for p in model.parameters()]
    with torch.inference_mode():  # predict scores under inference mode
        cams = clip_cams(model, random_clip())
    assert sorted(cams) == ["diff", "rgb"]
    for cam in cams.values():
        assert cam.shape == (3, 32, 32) and cam.dtype == np.float32
        assert 0 <= cam.min() and cam.max() <= 1
    assert not cams["diff"][0].any()  # step 0 has no previous frame: no difference, no heat
    assert [p.requires_grad for p in model.parameters()] == flags
    assert all(p.grad is None for p in model.parameters())
    assert not model.training


def test_early_fusion_has_one_trunk_and_one_map():
    torch.manual_seed(0)
    model = build_model(ModelConfig(**SMALL, input_mode="both", fusion="early")).train()
    cams = clip_cams(model, random_clip())
    assert list(cams) == ["rgb_diff"] and cams["rgb_diff"].shape == (3, 32, 32)
    assert model.training  # restored after Grad-CAM's eval()


# The artefact: a checkerboard patch on a flat, slightly noisy background. A few Adam steps from
# scratch learn "patch anywhere = FAKE"; a trunk this young has a strong centre bias in its CAM,
# so the test compares the same region across clips whose patch sits in opposite quadrants: the
# heat must move with the patch (the brief's "mass in the region higher than outside", made
# robust to that bias).
SIZE, PATCH, HALF = 64, 16, 32  # 64 px: layer4 is 2x2, one cell per quadrant
CHECKER = np.where((np.arange(PATCH)[:, None] // 2 + np.arange(PATCH)[None] // 2) % 2 == 0, 255, 0)


def backgrounds(n, rng):
    return (rng.integers(60, 140, (n, 1, 1, 1, 3)) + rng.integers(-6, 7, (n, 1, SIZE, SIZE, 3))).astype(np.uint8)


def add_patch(clip, quadrant, rng):
    qy, qx = divmod(quadrant, 2)
    y, x = rng.integers(0, HALF - PATCH + 1, size=2) + (qy * HALF, qx * HALF)
    clip[:, y:y + PATCH, x:x + PATCH] = CHECKER[..., None]


def train_patch_detector(steps=8, batch=8):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = build_model(ModelConfig(**SMALL, input_mode="rgb"))
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    for _ in range(steps):
        clips, labels = backgrounds(batch, rng), np.arange(batch) % 2
        for i in np.flatnonzero(labels):
            add_patch(clips[i], int(rng.integers(0, 4)), rng)
        logits = model(torch.from_numpy(clips).permute(0, 1, 4, 2, 3))
        loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(labels))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


def test_heatmap_moves_with_the_evidence():
    model = train_patch_detector()
    rng = np.random.default_rng(1)  # held-out clips
    contrast = {}
    for quadrant in (0, 3):  # top-left, bottom-right
        values = []
        for _ in range(3):
            clip = backgrounds(1, rng)[0]
            add_patch(clip, quadrant, rng)
            with torch.no_grad():
                p_fake = torch.softmax(model(torch.from_numpy(clip).permute(0, 3, 1, 2)[None]), -1)[0, 1]
            assert p_fake > 0.5  # the model has learned the artefact
            cam = clip_cams(model, clip)["rgb"]
            values.append(cam[:, :HALF, :HALF].mean() - cam[:, HALF:, HALF:].mean())  # top-left minus bottom-right
        contrast[quadrant] = float(np.mean(values))
    assert contrast[0] > 0.02, contrast   # patch top-left: more heat top-left than bottom-right
    assert contrast[3] < -0.02, contrast  # patch bottom-right: the other way round
    assert contrast[0] - contrast[3] > 0.15, contrast
