"""The two-stage recipe: start a model's encoder from another trained model (usually the frame
baseline, temporal="mean"), then train the RNN head on top, typically with freeze_backbone."""
from utils.checkpoint import read_torch_file
from utils.errors import UserError

ENCODER_PREFIXES = ("encoder.", "proj.")  # ResNet trunk(s) + projection to embed_dim


def encoder_state(state_dict):
    return {k: v for k, v in state_dict.items() if k.startswith(ENCODER_PREFIXES)}


def _read_model_state(path):
    saved = read_torch_file(path, "--encoder_init checkpoint")
    # a train.py checkpoint keeps the state_dict under "model"; accept a bare state_dict too
    state = saved.get("model", saved) if isinstance(saved, dict) else None
    if not isinstance(state, dict):
        raise UserError(f"--encoder_init {path}: holds no model state_dict; "
                        f"give a .pth written by train.py")
    return state


def load_encoder(model, path):
    """Copy encoder + projection weights from the checkpoint at `path` into `model`, in place."""
    source = encoder_state(_read_model_state(path))
    target = encoder_state(model.state_dict())
    missing = sorted(set(target) - set(source))
    mismatched = sorted(k for k in set(target) & set(source) if source[k].shape != target[k].shape)
    if missing or mismatched:
        example = (missing or mismatched)[0]
        raise UserError(
            f"--encoder_init {path}: its encoder does not fit this model ({len(missing)} missing, "
            f"{len(mismatched)} different shapes, e.g. {example}); use a checkpoint trained with "
            f"the same backbone, input_mode, fusion and embed_dim")
    model.load_state_dict({k: source[k] for k in target}, strict=False)
    return model
