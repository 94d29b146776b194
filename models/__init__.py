"""The architecture selector: a ModelConfig (args.py) -> a video classifier.

build_model(cfg)      the model, with the weights the config asks for: the encoder's pretrained
                      weights through its library (--pretrained), a local file
                      (--backbone_weights), a trained encoder (--encoder_init)
rebuild_model(cfg)    the same architecture with no weight file read and nothing downloaded: for
                      loading a checkpoint's state_dict (predict, evaluate, resume)

Encoders come from the family registry in models/encoders/ (torchvision ResNets, timm models);
every family feeds the same temporal part (models/frame_rnn.py). A built model tells what its
encoder expects: model.input_size (H, W), model.data_config (input_size, mean, std).
"""
from dataclasses import replace

from .encoder_init import load_encoder
from .encoders import FAMILIES
from .frame_encoder import FrameEncoder, frame_differences
from .frame_rnn import FrameRNN
from .summary import model_summary, param_counts

__all__ = ["build_model", "rebuild_model", "model_summary", "param_counts", "frame_differences", "FrameRNN",
           "FrameEncoder", "FAMILIES"]


def build_model(cfg):
    """The video classifier of a ModelConfig; see models/frame_rnn.py for the data flow."""
    encoder = FrameEncoder(cfg.model_name, cfg.input_mode, cfg.fusion, cfg.pretrained, cfg.backbone_weights)
    model = FrameRNN(encoder, embed_dim=cfg.embed_dim, temporal=cfg.temporal, hidden_size=cfg.hidden_size,
                     num_layers=cfg.num_layers, bidirectional=cfg.bidirectional, pooling=cfg.pooling,
                     dropout=cfg.dropout, num_classes=cfg.num_classes, freeze_backbone=cfg.freeze_backbone,
                     train_norm_only=cfg.train_norm_only)
    if cfg.encoder_init:
        load_encoder(model, cfg.encoder_init)
    return model


def rebuild_model(cfg):
    """The architecture of `cfg` with no weight file read: its weights come from a checkpoint."""
    return build_model(replace(cfg, pretrained=False, backbone_weights=None, encoder_init=None))
