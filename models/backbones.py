"""torchvision ResNet trunks (no fc layer) and their ImageNet weights, found offline.

Nothing here downloads: pretrained weights come from torchvision's cache
($TORCH_HOME/hub/checkpoints) or from a file the user names, and a missing file is a one-line
UserError raised before anything is built (a download attempt could hang for minutes offline).
"""
import os
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn
from torchvision import models as tv_models

from utils.errors import UserError

BACKBONES = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")


def imagenet_weights(backbone):
    """The torchvision weights enum entry we use: IMAGENET1K_V1 for every depth (the weights the
    original `pretrained=True` loaded, so files users already have in their cache keep working)."""
    return tv_models.get_model_weights(backbone).IMAGENET1K_V1


def cached_weights_path(backbone):
    """Where torchvision looks for (and would download) this backbone's ImageNet weights."""
    filename = os.path.basename(urlparse(imagenet_weights(backbone).url).path)
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def _require_cached(backbone):
    path = cached_weights_path(backbone)
    if not path.is_file():
        raise UserError(
            f"ImageNet weights for {backbone} not found: put {path.name} in {path.parent} "
            f"(torchvision's cache, $TORCH_HOME/hub/checkpoints; from {imagenet_weights(backbone).url}), "
            f"or run with --pretrained False")


def _read_state_dict(path, backbone):
    if not path.is_file():
        raise UserError(f"--weights_path {path}: no such file; give a torchvision {backbone} "
                        f"ImageNet state_dict file, or run with --pretrained False")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # any unreadable file is the user's to replace
        raise UserError(f"cannot read ImageNet weights {path}: {type(err).__name__}; "
                        f"replace the file or run with --pretrained False") from None
    return state.get("model", state) if isinstance(state, dict) else state


def widen_first_conv(conv, copies):
    """conv1 taking `copies` stacked 3-channel inputs. Each copy starts as the original kernel
    divided by `copies`, so a pretrained trunk keeps its activation scale and every input stream
    starts from the ImageNet filters."""
    wide = nn.Conv2d(conv.in_channels * copies, conv.out_channels, conv.kernel_size,
                     stride=conv.stride, padding=conv.padding, bias=conv.bias is not None)
    with torch.no_grad():
        wide.weight.copy_(conv.weight.repeat(1, copies, 1, 1) / copies)
    return wide


def make_trunk(backbone, pretrained=False, weights_path=None, copies=1):
    """A ResNet whose forward maps (N, 3*copies, H, W) to (N, F) pooled features.

    Returns (trunk, F). `weights_path` (a torchvision ResNet state_dict file) replaces the cache
    and implies pretrained.
    """
    weights = None
    if pretrained and weights_path is None:
        _require_cached(backbone)
        weights = imagenet_weights(backbone)  # the weights= API; it reads the cached file
    trunk = tv_models.get_model(backbone, weights=weights)
    if weights_path is not None:
        try:
            trunk.load_state_dict(_read_state_dict(Path(weights_path), backbone))
        except RuntimeError:
            raise UserError(f"{weights_path} does not hold {backbone} ImageNet weights; "
                            f"give the matching file or run with --pretrained False") from None
    features = trunk.fc.in_features
    trunk.fc = nn.Identity()
    if copies > 1:
        trunk.conv1 = widen_first_conv(trunk.conv1, copies)
    return trunk, features
