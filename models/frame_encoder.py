"""The per-frame encoder (any registered trunk family), with the motion stream (issue 8).

Input modes:
  rgb   the normalised frames;
  diff  x_t - x_{t-1} of the normalised frames (flicker and jitter show up here, not in one frame);
  both  RGB and difference, fused before the RNN:
        two_stream  two trunks, their features concatenated per time step (about 2x the cost);
        early       one trunk whose first conv (or patch embedding) takes 6 channels (RGB and
                    difference stacked).

The first time step has no previous frame: its difference is ZERO ("no change seen yet"). This
keeps T steps for every mode, so per-step timelines line up with the frames and RGB step t is
fused with difference step t. Differences are taken along the time axis of each batch item, so
they never mix two clips (or two windows of a video: every window is its own item).
"""
import torch
from torch import nn

from utils.errors import UserError

from .encoders import make_trunk
from .layers import widen_first_conv
from .local_weights import load_into, read_weights, stream_state

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


def _in_channels(state, conv_name):
    weight = state.get(f"{conv_name}.weight") if conv_name else None
    return weight.shape[1] if weight is not None and weight.dim() == 4 else None


def _first_conv_weight(trunk):
    return next((p for p in trunk.parameters() if p.dim() == 4), None)


class FrameEncoder(nn.Module):
    """Normalised clips (B, T, 3, H, W) -> per-step features (B, T, out_features).

    Every trunk sees all B*T frames as one batch (never a Python loop over time). `mean`, `std`
    (0..1 scale) and `input_size` (H, W) are those the trunk's weights were trained with.
    """

    def __init__(self, model_name="resnet18", input_mode="rgb", fusion="two_stream",
                 pretrained=False, backbone_weights=None):
        super().__init__()
        self.streams = nn.ModuleDict()
        self.out_features = 0
        saved = read_weights(backbone_weights) if backbone_weights else None
        for name in stream_names(input_mode, fusion):
            copies = 2 if name == "rgb_diff" else 1
            spec = make_trunk(model_name, pretrained and saved is None)  # a local file replaces the library's
            self.streams[name] = self._prepare(spec, model_name, name, copies, saved, backbone_weights)
            self.out_features += spec.features
        self.mean, self.std, self.input_size = spec.mean, spec.std, spec.input_size

    @staticmethod
    def _prepare(spec, model_name, stream, copies, saved, path):
        """Load the local weights and widen the first conv for early fusion, in the order the
        file needs: a 3-channel file before widening, a 6-channel one (this tool's early fusion) after."""
        trunk, first = spec.module, spec.first_conv
        if copies > 1 and first is None:
            raise UserError(f"--fusion early: {model_name} names no first conv in its pretrained config; "
                            f"use --fusion two_stream")
        state, picked = stream_state(saved, stream) if saved is not None else (None, None)
        wide_file = state is not None and _in_channels(state, first) == 3 * copies and copies > 1
        try:
            if wide_file:
                widen_first_conv(trunk, first, copies)
            if state is not None:
                label = f"{model_name} stream {stream}" + (f" (from the checkpoint's {picked})" if picked else "")
                load_into(trunk, state, path, label)
            if copies > 1 and not wide_file:
                widen_first_conv(trunk, first, copies)
        except TypeError as err:  # the first layer is not a plain conv
            raise UserError(f"--fusion early: {model_name}: {err}; use --fusion two_stream") from None
        return trunk

    def forward(self, clips):
        b, t = clips.shape[:2]
        features = []
        for name, trunk in self.streams.items():
            frames = _stream_input(name, clips).flatten(0, 1)
            weight = _first_conv_weight(trunk)
            if weight is not None and weight.is_contiguous(memory_format=torch.channels_last):
                # follow model.to(memory_format=torch.channels_last) for the fast conv kernels
                frames = frames.contiguous(memory_format=torch.channels_last)
            features.append(trunk(frames).view(b, t, -1))
        return torch.cat(features, dim=-1) if len(features) > 1 else features[0]
