"""torchvision ResNets (no fc layer), with their ImageNet weights through torchvision's weights= API."""
import os
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn
from torchvision import models as tv_models

from utils.errors import UserError

from ..fetch import downloading, fix_hint, require_download
from . import Trunk, register

# The better of torchvision's two ImageNet weights where it has two (V2: 80.9% top-1 for resnet50
# against V1's 76.1%); resnet18/34 have only V1. These are also torchvision's DEFAULT entries.
IMAGENET_WEIGHTS = {"resnet18": "IMAGENET1K_V1", "resnet34": "IMAGENET1K_V1", "resnet50": "IMAGENET1K_V2",
                    "resnet101": "IMAGENET1K_V2", "resnet152": "IMAGENET1K_V2"}


def imagenet_weights(name):
    return tv_models.get_model_weights(name)[IMAGENET_WEIGHTS[name]]


def cached_weights_path(name):
    """Where torchvision looks for (and downloads) the ImageNet weights of `name`."""
    filename = os.path.basename(urlparse(imagenet_weights(name).url).path)
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def _pretrained(name):
    weights, path = imagenet_weights(name), cached_weights_path(name)
    what = f"{name} ImageNet weights ({IMAGENET_WEIGHTS[name]})"
    if path.is_file():
        try:
            return tv_models.get_model(name, weights=weights)  # reads the cached file, no network
        except Exception as err:
            raise UserError(f"{what}: cannot load the cached {path} ({type(err).__name__}); delete it to "
                            f"download it again, {fix_hint()}") from None
    require_download(what, path.name, path.parent, weights.url)
    with downloading(what, path.name, path.parent, weights.url):
        return tv_models.get_model(name, weights=weights)  # torch.hub: temp file, then moved in place


@register("resnet")
def make_trunk(name, pretrained):
    if name not in IMAGENET_WEIGHTS:
        raise UserError(f"--model_name {name!r}: torchvision ResNets are {', '.join(IMAGENET_WEIGHTS)}")
    trunk = _pretrained(name) if pretrained else tv_models.get_model(name, weights=None)
    features = trunk.fc.in_features
    trunk.fc = nn.Identity()
    # mean/std/size of the weights' own preprocessing, known offline, with or without the file
    preprocess = imagenet_weights(name).transforms()
    side = preprocess.crop_size[0]
    return Trunk(trunk, features, tuple(preprocess.mean), tuple(preprocess.std), (side, side), "conv1", "resnet")
