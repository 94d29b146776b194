"""The per-frame encoder, with the motion stream (issue 8).

Input modes:
  rgb   the normalised frames;
  diff  x_t - x_{t-1} of the normalised frames (flicker and jitter show up here, not in one frame);
  both  RGB and difference, fused before the RNN:
        two_stream  two trunks, their features concatenated per time step (about 2x the cost);
        early       one trunk whose first conv takes 6 channels (RGB and difference stacked).

The first time step has no previous frame: its difference is ZERO ("no change seen yet"). This
keeps T steps for every mode, so per-step timelines line up with the frames and RGB step t is
fused with difference step t. Differences are taken along the time axis of each batch item, so
they never mix two clips (or two windows of a video: every window is its own item).
"""
import torch
from torch import nn

from .backbones import make_trunk

INPUT_MODES = ("rgb", "diff", "both")
FUSIONS = ("two_stream", "early")


def frame_differences(clips):
    """(B, T, C, H, W) -> same shape: step t holds clips[:, t] - clips[:, t-1]; step 0 is zero."""
    return torch.cat([torch.zeros_like(clips[:, :1]), clips[:, 1:] - clips[:, :-1]], dim=1)


def stream_names(input_mode, fusion):
    """Which trunks the encoder holds, each named by the input it reads."""
    if input_mode != "both":
        return (input_mode,)
    return ("rgb", "diff") if fusion == "two_stream" else ("rgb_diff",)


def _stream_input(name, clips):
    if name == "rgb":
        return clips
    diffs = frame_differences(clips)
    return diffs if name == "diff" else torch.cat([clips, diffs], dim=2)


class FrameEncoder(nn.Module):
    """Normalised clips (B, T, 3, H, W) -> per-step features (B, T, out_features).

    Every trunk sees all B*T frames as one batch (never a Python loop over time).
    """

    def __init__(self, backbone="resnet18", input_mode="rgb", fusion="two_stream",
                 pretrained=False, weights_path=None):
        super().__init__()
        self.streams = nn.ModuleDict()
        self.out_features = 0
        for name in stream_names(input_mode, fusion):
            copies = 2 if name == "rgb_diff" else 1
            trunk, features = make_trunk(backbone, pretrained, weights_path, copies)
            self.streams[name] = trunk
            self.out_features += features

    def forward(self, clips):
        b, t = clips.shape[:2]
        features = []
        for name, trunk in self.streams.items():
            frames = _stream_input(name, clips).flatten(0, 1)
            if trunk.conv1.weight.is_contiguous(memory_format=torch.channels_last):
                # follow model.to(memory_format=torch.channels_last) for the fast conv kernels
                frames = frames.contiguous(memory_format=torch.channels_last)
            features.append(trunk(frames).view(b, t, -1))
        return torch.cat(features, dim=-1) if len(features) > 1 else features[0]
