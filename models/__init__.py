"""The architecture selector.

build_model(**kwargs)        validated construction, optional weight loading
model_config(args_or_dict)   plain dict of exactly build_model's kwargs (saved in checkpoints)
get_model(args)              build_model(**model_config(args))
rebuild_model(config)        the same architecture without touching any weight file, for loading
                             a checkpoint's state_dict (predict, resume)
"""
import inspect
from collections.abc import Mapping

from utils.errors import UserError

from .backbones import BACKBONES
from .encoder_init import load_encoder
from .frame_encoder import FUSIONS, INPUT_MODES, frame_differences
from .resnet_rnn import POOLINGS, TEMPORALS, ResNetRNN
from .summary import model_summary, param_counts

__all__ = ["build_model", "model_config", "get_model", "rebuild_model", "model_summary",
           "param_counts", "frame_differences", "ResNetRNN", "CHOICES"]

CHOICES = {"backbone": BACKBONES, "temporal": TEMPORALS, "pooling": POOLINGS,
           "input_mode": INPUT_MODES, "fusion": FUSIONS}
# the original CLI's flag name for the backbone
ALIASES = {"model_name": "backbone"}


def _validate(cfg):
    for key, allowed in CHOICES.items():
        if cfg[key] not in allowed:
            raise UserError(f"unknown {key} {cfg[key]!r}; choose one of {', '.join(allowed)}")
    for key in ("embed_dim", "hidden_size", "num_layers", "num_classes"):
        if not isinstance(cfg[key], int) or cfg[key] < 1:
            raise UserError(f"{key} must be a positive integer, got {cfg[key]!r}")
    if not 0 <= cfg["dropout"] < 1:
        raise UserError(f"dropout must be in [0, 1), got {cfg['dropout']!r}")


def build_model(backbone="resnet18", pretrained=False, embed_dim=512, temporal="lstm",
                hidden_size=256, num_layers=1, bidirectional=False, pooling="last", dropout=0.3,
                num_classes=2, freeze_backbone=False, input_mode="rgb", fusion="two_stream",
                weights_path=None, encoder_init=None):
    """ResNet(+RNN) video classifier; see models/resnet_rnn.py for the data flow.

    pretrained      start every trunk (RGB and difference streams) from ImageNet weights, read
                    from torchvision's cache; missing file -> UserError, never a download
    weights_path    a torchvision ResNet state_dict file to use instead of the cache (implies
                    pretrained)
    temporal        lstm | gru | mean (per-frame logits averaged, no RNN; pooling is ignored)
    pooling         last | mean over the RNN outputs (bidirectional "last": final state of each
                    direction, i.e. forward at T-1 and backward at step 0)
    input_mode      rgb | diff | both (frame differences, see models/frame_encoder.py)
    fusion          two_stream | early; only used with input_mode="both"
    freeze_backbone ResNet trunk(s) get no gradient and stay in eval mode (projection trains)
    encoder_init    checkpoint whose encoder (trunks + projection) is loaded: two-stage recipe
    """
    cfg = dict(locals())
    _validate(cfg)
    encoder_init = cfg.pop("encoder_init")
    model = ResNetRNN(**cfg)
    if encoder_init:
        load_encoder(model, encoder_init)
    return model


DEFAULTS = {name: p.default for name, p in inspect.signature(build_model).parameters.items()}


def model_config(source):
    """Plain dict of exactly build_model's kwargs from an argparse Namespace or a mapping.

    Other keys are ignored and missing ones take build_model's defaults, so the CLI's Namespace
    and a checkpoint's saved config both work.
    """
    values = dict(source) if isinstance(source, Mapping) else dict(vars(source))
    for old, new in ALIASES.items():
        if old in values and new not in values:
            values[new] = values[old]
    return {name: values.get(name, default) for name, default in DEFAULTS.items()}


def get_model(args):
    return build_model(**model_config(args))


def rebuild_model(config):
    """The architecture of a saved model_config with no weight files read (no ImageNet cache, no
    encoder_init): its weights come from the checkpoint's state_dict afterwards."""
    cfg = model_config(config)
    cfg.update(pretrained=False, weights_path=None, encoder_init=None)
    return build_model(**cfg)
