"""Checkpoints as plain dictionaries of state_dicts and Python values.

They load with torch.load(weights_only=True), so a checkpoint file cannot run code, and they are
written atomically, so a crash or a full disk never replaces a good file with a broken one.
"""
import pickle
from pathlib import Path

import torch

from utils.atomic import atomic_path
from utils.errors import UserError


def save_checkpoint(path, state):
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path, map_location="cpu"):
    """Load a checkpoint safely; anything that is not a plain checkpoint is a UserError."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else "unsafe content"
        raise UserError(f"{path} is not a safe checkpoint (refused by weights_only loading: {first[:120]})") from None
    except Exception as err:  # truncated file, not a torch file at all
        raise UserError(f"{path} is not a readable checkpoint ({type(err).__name__}); use a last.pth or best.pth written by train.py") from None
    if not isinstance(state, dict) or "model" not in state or "model_config" not in state:
        raise UserError(f"{path} is not a checkpoint written by train.py (no model or model_config)")
    return state


def unwrap_model(model):
    """The bare module under DistributedDataParallel and torch.compile wrappers."""
    model = getattr(model, "module", model)
    return getattr(model, "_orig_mod", model)


def load_model_weights(model, state_dict, source):
    """Load a state_dict; a checkpoint of another architecture is a one-line UserError."""
    try:
        unwrap_model(model).load_state_dict(state_dict)
    except RuntimeError as err:
        lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
        detail = lines[1] if len(lines) > 1 else lines[0]
        raise UserError(f"{source} was saved from another architecture and does not fit this model ({detail[:160]})") from None
