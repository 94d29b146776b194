"""The encoder families: a --model_name -> a per-frame trunk with its input size and normalisation.

Each family is one module of this package that registers a factory under a name prefix:

    @register("timm/")
    def make_trunk(name, pretrained) -> Trunk

`pretrained` loads the family's own pretrained weights through its library (from the cache, or
downloaded into it); without it nothing is read or downloaded, and the architecture, the keys of
the state_dict, the mean/std and the input size must be the same (checkpoints are rebuilt that
way). Local weight files (--backbone_weights) and early fusion are handled generically around
the factory (models/local_weights.py, models/layers.py). A third family is one more file here
and one more name in the import at the bottom.
"""
from dataclasses import dataclass

from torch import nn

from utils.errors import UserError


@dataclass
class Trunk:
    module: nn.Module  # normalised frames (N, 3, H, W) -> pooled features (N, features)
    features: int
    mean: tuple  # per RGB channel, on the 0..1 scale: what the weights were trained with
    std: tuple
    input_size: tuple  # (H, W) the weights were trained at
    first_conv: str  # dotted name of the first conv / patch embedding (widened for early fusion)
    family: str  # registry prefix, for messages


FAMILIES = {}  # name prefix -> factory(name, pretrained) -> Trunk


def register(prefix):
    def add(factory):
        FAMILIES[prefix] = factory
        return factory
    return add


def make_trunk(name, pretrained=False):
    """The trunk of `name`, from the family with the longest matching prefix."""
    matches = [p for p in FAMILIES if name.startswith(p)]
    if not matches:
        raise UserError(f"--model_name {name!r}: no encoder family for it; names start with "
                        f"{', '.join(sorted(FAMILIES))}")
    prefix = max(matches, key=len)
    trunk = FAMILIES[prefix](name, pretrained)
    trunk.family = prefix
    return trunk


from . import resnet, timm  # noqa: E402,F401  (each registers its family)
