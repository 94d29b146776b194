"""The architecture selector: a ModelConfig (args.py) -> a video classifier.

build_model(cfg)      the model, with the weights the config asks for (ImageNet, --encoder_init)
rebuild_model(cfg)    the same architecture without reading any weight file: for loading a
                      checkpoint's state_dict (predict, evaluate, resume)
"""
from dataclasses import replace

from .encoder_init import load_encoder
from .frame_encoder import frame_differences
from .resnet_rnn import ResNetRNN
from .summary import model_summary, param_counts

__all__ = ["build_model", "rebuild_model", "model_summary", "param_counts", "frame_differences", "ResNetRNN"]


def build_model(cfg):
    """ResNet(+RNN) video classifier of a ModelConfig; see models/resnet_rnn.py for the data flow."""
    model = ResNetRNN(backbone=cfg.model_name, pretrained=cfg.pretrained, embed_dim=cfg.embed_dim,
                      temporal=cfg.temporal, hidden_size=cfg.hidden_size, num_layers=cfg.num_layers,
                      bidirectional=cfg.bidirectional, pooling=cfg.pooling, dropout=cfg.dropout,
                      num_classes=cfg.num_classes, freeze_backbone=cfg.freeze_backbone,
                      input_mode=cfg.input_mode, fusion=cfg.fusion)
    if cfg.encoder_init:
        load_encoder(model, cfg.encoder_init)
    return model


def rebuild_model(cfg):
    """The architecture of `cfg` with no weight file read: its weights come from a checkpoint."""
    return build_model(replace(cfg, pretrained=False, encoder_init=None))
