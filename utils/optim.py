"""The optimiser: AdamW, with no weight decay on norm layers and biases (as timm and torchvision's
references do: decaying a BatchNorm scale or a bias towards zero only fights the normalisation)."""
import torch


def param_groups(model, weight_decay):
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if param.ndim <= 1 else decay).append(param)  # norms' weights and every bias are 1-D
    return [dict(params=decay, weight_decay=weight_decay), dict(params=no_decay, weight_decay=0.0)]


def build_optimizer(model, train_cfg):
    return torch.optim.AdamW(param_groups(model, train_cfg.weight_decay), lr=train_cfg.lr)
