"""Grad-CAM of a clip, per backbone stream (pytorch_grad_cam on each trunk's layer4).

The model scores a clip (1, T, 3, H, W); each trunk sees its T frames as one batch, so layer4's
activations are (T, C, h, w) and the CAM comes out per frame. pytorch_grad_cam takes a 5-D input
for a 3-D (volume) CAM, so ClipAsBatch hands it the clip as a 4-D batch of T frames and puts the
clip axis back before the model: one output row, one target (FAKE), T heatmaps.

Each stream gets its own GradCAM: the RGB trunk and the difference trunk look at different
evidence (a colour seam against a flicker), and the package's multi-layer mean would blur them
into one map. Heatmaps are scaled by the clip's maximum, not per frame as the package does, so a
frame with little evidence stays cool instead of being stretched to full heat.
"""
import contextlib

import cv2
import numpy as np
import torch
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

FAKE = 1
STREAM_TITLES = {
    "rgb": "RGB stream",
    "diff": "difference stream (frame t minus frame t-1; step 0 has no previous frame and no heat)",
    "rgb_diff": "early fusion: one trunk sees RGB and difference stacked, so its evidence cannot be split by stream",
}


class ClipAsBatch(torch.nn.Module):
    """(T, 3, H, W) frames of one clip -> the model's (1, K) logits for that clip."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, frames):
        return self.model(frames.unsqueeze(0))


class _ClipGradCAM(GradCAM):
    """GradCAM with one scale for the whole clip (the package normalises every frame alone).

    blank_first: the difference stream's step 0 is an all-zero input (no previous frame); any
    heat there would be the trunk's biases, not evidence, so it is set to zero.
    """

    def __init__(self, model, target_layers, blank_first=False):
        super().__init__(model, target_layers)
        self.blank_first = blank_first

    def compute_cam_per_layer(self, input_tensor, targets, eigen_smooth):
        activations = self.activations_and_grads.activations[0].cpu().numpy()
        grads = self.activations_and_grads.gradients[0].cpu().numpy()
        cam = np.maximum(self.get_cam_image(input_tensor, self.target_layers[0], targets,
                                            activations, grads, eigen_smooth), 0)
        if self.blank_first:
            cam[0] = 0
        cam = cam / max(float(cam.max()), 1e-12)
        width, height = self.get_target_width_height(input_tensor)
        return [np.stack([cv2.resize(np.float32(c), (width, height), interpolation=cv2.INTER_LINEAR)
                          for c in cam])[:, None]]

    def aggregate_multi_layers(self, cam_per_target_layer):
        return np.clip(cam_per_target_layer[0][:, 0], 0, 1)


def stream_trunks(model):
    """{stream name: trunk} of a FrameRNN: rgb, diff (two streams) or rgb_diff (early fusion)."""
    return dict(model.encoder.streams.items())


def clip_cams(model, clip, device="cpu"):
    """Grad-CAM for FAKE of one uint8 clip (T, S, S, 3) -> {stream: float32 (T, S, S) in [0, 1]}.

    Runs with gradients even inside torch.inference_mode (predict scores under it), and with
    cuDNN off: cuDNN's RNN backward refuses a model in eval mode. Only the target layer4 asks for
    gradients, so the backward pass stops there instead of running down the whole trunk.
    """
    frames = torch.from_numpy(np.ascontiguousarray(clip)).permute(0, 3, 1, 2).float().to(device)
    wrapper = ClipAsBatch(model)
    was_training = model.training
    wanted = {p: p.requires_grad for p in model.parameters()}
    cams = {}
    try:
        with torch.inference_mode(False), torch.enable_grad(), _no_cudnn(device):
            for name, trunk in stream_trunks(model).items():
                model.requires_grad_(False)
                trunk.layer4.requires_grad_(True)
                with _ClipGradCAM(wrapper, [trunk.layer4], blank_first=name == "diff") as cam:
                    cams[name] = cam(frames, targets=[ClassifierOutputTarget(FAKE)])
    finally:
        for p, flag in wanted.items():
            p.requires_grad_(flag)
        model.zero_grad(set_to_none=True)  # no gradient left on the weights of a scoring model
        model.train(was_training)
    return cams


def _no_cudnn(device):
    return torch.backends.cudnn.flags(enabled=False) if str(device).startswith("cuda") else contextlib.nullcontext()


def overlay(crop, cam, alpha=0.45):
    """A face crop (S, S, 3) uint8 RGB with its heatmap (S, S) in [0, 1] laid over it (JET)."""
    heat = cv2.applyColorMap(np.uint8(np.clip(cam, 0, 1) * 255), cv2.COLORMAP_JET)[..., ::-1]
    return np.uint8(np.clip((1 - alpha) * crop.astype(np.float32) + alpha * heat, 0, 255))
