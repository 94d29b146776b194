"""Kept for nbs/train_fastai.py, which checks the cache with the main tool's rule: the encoders
live in models/encoders/ now (the ResNets in models/encoders/resnet.py)."""
from .encoders.resnet import IMAGENET_WEIGHTS, cached_weights_path, imagenet_weights  # noqa: F401
