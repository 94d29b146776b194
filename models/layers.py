"""Generic surgery on any trunk: widen its first conv (early fusion), freeze all but its norm layers."""
import copy

import torch
from torch import nn


def widen_first_conv(trunk, name, copies):
    """Make the conv (or patch embedding projection) at dotted `name` take `copies` stacked
    3-channel inputs, in place. Each copy starts as the original kernel divided by `copies`, so a
    pretrained trunk keeps its activation scale and every input stream starts from its filters.
    The module is copied, not rebuilt, so subclasses (timm's Conv2dSame) keep their padding."""
    conv = trunk.get_submodule(name)
    if not isinstance(conv, nn.Conv2d) or conv.groups != 1:
        raise TypeError(f"first layer {name} of {type(trunk).__name__} is {type(conv).__name__}, not a plain Conv2d")
    wide = copy.deepcopy(conv)
    wide.in_channels = conv.in_channels * copies
    with torch.no_grad():
        wide.weight = nn.Parameter(conv.weight.repeat(1, copies, 1, 1) / copies)
    parent_name, _, child = name.rpartition(".")
    setattr(trunk.get_submodule(parent_name) if parent_name else trunk, child, wide)
    return trunk


NORM_TYPES = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)


def is_norm(module):
    """torch's norm layers and their subclasses (timm's BatchNormAct2d, LayerNorm2d), plus other
    libraries' own norms (timm's RmsNorm), recognised by name."""
    return isinstance(module, NORM_TYPES) or type(module).__name__.endswith("Norm")


def norm_parameters(module):
    return [p for m in module.modules() if is_norm(m) for p in m.parameters(recurse=False)]


def freeze(module, keep_norms=False):
    """requires_grad off for every parameter of `module`, except its norm layers' with keep_norms."""
    module.requires_grad_(False)
    if keep_norms:
        for p in norm_parameters(module):
            p.requires_grad_(True)
