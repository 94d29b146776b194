"""Checkpoints as plain dictionaries of state_dicts and Python values.

They load with torch.load(weights_only=True), so a checkpoint file cannot run code, and they are
written atomically, so a crash or a full disk never replaces a good file with a broken one.

Every checkpoint holds `model` (the state_dict), `config` (the run's Config as nested dicts:
data, model, train, run), `faces` (the FaceConfig the data was prepared with, {} if none),
`epoch` and `metrics`; best.pth also `calibration` (the temperature fitted on validation);
last.pth adds what --resume needs (optimizer, lr plan, history, ...).
"""
import pickle
from pathlib import Path

import torch

from utils.atomic import atomic_path
from utils.errors import UserError

FORMAT = 2  # 1: model_config/data_config (before the config spine)


def save_checkpoint(path, state):
    """Write a checkpoint; a failure to write (a full disk: torch.save raises RuntimeError then,
    not OSError) keeps the previous file and is raised as OSError."""
    try:
        with atomic_path(path) as tmp:
            torch.save(dict(state, format=FORMAT), tmp)
    except RuntimeError as err:
        raise OSError(f"cannot write {path}: {' '.join(str(err).split())[:160]}") from None


def _first_line(err):
    lines = [ln.strip() for ln in str(err).strip().splitlines() if ln.strip()]
    return lines[0] if lines else type(err).__name__


def read_torch_file(path, what="checkpoint"):
    """torch.load(weights_only=True) of a file the user named; every failure is one UserError line."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{what} {path} is a folder, not a file")
    if not path.is_file():
        raise UserError(f"{what} {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
        culprit = next((ln for ln in lines if "GLOBAL" in ln or "global" in ln), None)
        if culprit:  # the file asks to build objects that a plain checkpoint never holds: refused, never run
            raise UserError(f"{path} is not a safe {what}: it would run code when loaded, so it was refused "
                            f"({culprit})") from None
        # random bytes, a bad opcode: what torch says after its generic weights_only preamble
        detail = next((ln for ln in lines if "Unsupported" in ln), _first_line(err))
        raise UserError(f"{path} is not a readable {what} ({detail})") from None
    except Exception as err:  # a truncated file, random bytes, not a torch file at all
        raise UserError(f"{path} is not a readable {what} ({type(err).__name__}: {_first_line(err)})") from None


def load_checkpoint(path):
    """A checkpoint written by train.py; anything else is a UserError."""
    state = read_torch_file(path)
    if not isinstance(state, dict) or "model" not in state:
        raise UserError(f"{path} is not a checkpoint written by train.py (no model weights in it)")
    if "config" not in state:
        if "model_config" in state:
            raise UserError(f"{path} was written by an older version of this tool (before run configs were saved "
                            f"as config); retrain, or score it with that version")
        raise UserError(f"{path} is not a checkpoint written by train.py (no config in it)")
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
