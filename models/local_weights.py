"""--backbone_weights: an encoder's weights from a local file, for machines without network.

The file is the library's state_dict (torchvision's .pth, timm's .bin/.safetensors, with or without
the classifier) or a checkpoint of this tool ({"model": state_dict}, trunks under
encoder.streams.<stream>.). What was loaded, missing and ignored is reported in one line; a file
of another architecture is a one-line UserError.
"""
import sys
from pathlib import Path

import torch

from utils.checkpoint import read_torch_file
from utils.errors import UserError

STREAMS = "encoder.streams."
MAX_IGNORED = 4  # a classifier: weight and bias, sometimes a second layer
FILE_KINDS = "a state_dict file (.pth/.bin/.safetensors) or a checkpoint of this tool"


def read_weights(path):
    """{name: tensor} of the file at `path`, unwrapped from {"model": ...} / {"state_dict": ...}."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"--backbone_weights {path}: no such file; give {FILE_KINDS}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file
        try:
            saved = load_file(str(path))
        except Exception as err:  # any unreadable file is the user's to replace
            raise UserError(f"--backbone_weights {path}: cannot read it ({type(err).__name__}); "
                            f"give {FILE_KINDS}") from None
    else:
        saved = read_torch_file(path, "--backbone_weights file")
    if isinstance(saved, dict):
        for key in ("model", "state_dict"):
            if isinstance(saved.get(key), dict):
                saved = saved[key]
                break
    tensors = {k.removeprefix("module."): v for k, v in saved.items() if torch.is_tensor(v)} \
        if isinstance(saved, dict) else {}
    if not tensors:
        raise UserError(f"--backbone_weights {path}: holds no tensors; give {FILE_KINDS}")
    return tensors


def stream_state(state, stream):
    """For a checkpoint of this tool, one trunk's tensors: the same stream, else "rgb", else the
    first; (state, None) for any other file."""
    streams = sorted({k[len(STREAMS):].split(".", 1)[0] for k in state if k.startswith(STREAMS)})
    if not streams:
        return state, None
    pick = stream if stream in streams else ("rgb" if "rgb" in streams else streams[0])
    prefix = f"{STREAMS}{pick}."
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}, pick


def _match(state, target):
    fits = {k: v for k, v in state.items() if k in target and v.shape == target[k].shape}
    differ = sorted(k for k in state if k in target and state[k].shape != target[k].shape)
    return fits, differ


def _library_filter(trunk, state):
    """timm's own conversion for files in an original format (e.g. OpenAI CLIP for its ViTs)."""
    convert = getattr(sys.modules.get(type(trunk).__module__), "checkpoint_filter_fn", None)
    if convert is None:
        return None
    try:
        return convert(dict(state), trunk)
    except Exception:  # not that format after all: keep the direct match
        return None


def _examples(keys):
    return f" ({', '.join(keys[:3])}{', ...' if len(keys) > 3 else ''})" if keys else ""


def load_into(trunk, state, path, label):
    """Copy the tensors of `state` that fit `trunk`; refuse a file of another architecture."""
    target = trunk.state_dict()
    fits, differ = _match(state, target)
    if len(fits) < len(target) / 2:
        converted = _library_filter(trunk, state)
        if converted is not None and len(_match(converted, target)[0]) > len(fits):
            state = converted
            fits, differ = _match(state, target)
    missing = sorted(set(target) - set(fits))
    ignored = sorted(set(state) - set(target))
    # beyond a classifier, tensors the encoder has no place for mean a larger model (resnet34's
    # blocks hold resnet18's keys and more)
    extra = len(ignored) > max(MAX_IGNORED, len(target) // 10)
    if differ or extra or len(fits) < len(target) / 2:
        raise UserError(f"--backbone_weights {path} does not fit {label}: {len(fits)} of {len(target)} tensors "
                        f"match, {len(differ)} differ in shape{_examples(differ)}, {len(ignored)} have no place"
                        f"{_examples(ignored) if not differ else ''}; give weights of that architecture")
    trunk.load_state_dict(fits, strict=False)
    print(f"backbone weights {path} -> {label}: loaded {len(fits)} of {len(target)} tensors; missing "
          f"{len(missing)}{_examples(missing)}; ignored {len(ignored)} not in the encoder{_examples(ignored)}",
          flush=True)
    return {"loaded": sorted(fits), "missing": missing, "ignored": ignored}
