"""timm image models (--model_name timm/<name>[.<tag>]) as per-frame encoders, pooled (num_classes=0).

Pretrained weights go through timm's own loader (timm.create_model(pretrained=True)), from where
timm keeps them: the Hugging Face cache for hub weights, torch.hub's cache for URL weights. We
find the file first (cache, else a download into that cache, else a one-line error) and hand
timm that file, so its key conversions (e.g. OpenAI CLIP -> timm ViT) and its classifier removal
apply as usual, and the load itself never touches the network.
"""
import difflib
import os
from pathlib import Path
from urllib.parse import urlparse

import torch

from utils.errors import UserError

from .. import fetch
from ..fetch import downloading, fix_hint, require_download
from . import Trunk, register

PREFIX = "timm/"


def _timm():
    """timm, imported on first use: `import models` stays fast, and ResNets work without it."""
    try:
        import timm
    except ImportError:
        raise UserError("--model_name timm/...: timm is not installed; pip install 'timm>=1.0'") from None
    return timm


def _has_hf_hub():
    try:
        import huggingface_hub  # noqa: F401  (a timm dependency; timm uses URL weights without it)
        return True
    except ImportError:
        return False


def check_name(arch):
    """A one-line error with the closest names for a model or tag timm does not know."""
    timm = _timm()
    base, _, tag = arch.partition(".")
    if not timm.is_model(base):
        names = timm.list_models()
        close = difflib.get_close_matches(base, names, n=3, cutoff=0.5) or timm.list_models(f"*{base[:5]}*")[:3]
        hint = f"closest: {', '.join(PREFIX + n for n in close)}" if close else "see timm.list_models()"
        raise UserError(f"--model_name {PREFIX}{arch}: timm {timm.__version__} has no such model; {hint}")
    if tag:
        try:
            timm.models.get_pretrained_cfg(arch)
        except RuntimeError:
            tags = [n.partition(".")[2] for n in timm.list_pretrained(f"{base}.*")]
            close = difflib.get_close_matches(tag, tags, n=3, cutoff=0.3) or tags[:6]
            raise UserError(f"--model_name {PREFIX}{arch}: timm has no weights tagged {tag!r} for {base}; "
                            f"closest tags: {', '.join(close) or 'none'}") from None


def _hf_filenames(cfg):
    """The files timm tries in a hub repo, in its order (safetensors first)."""
    name = cfg.hf_hub_filename or "pytorch_model.bin"
    if name.endswith(".safetensors"):
        return [name]
    safe = "model.safetensors" if name == "pytorch_model.bin" else name.rsplit(".", 1)[0] + ".safetensors"
    return [safe, name]


def hf_cache_dir():
    from huggingface_hub import constants
    return Path(constants.HF_HUB_CACHE)  # read at call time: honours HF_HOME / HF_HUB_CACHE


def _from_hf(arch, cfg):
    import huggingface_hub
    from huggingface_hub.utils import EntryNotFoundError

    repo, _, revision = cfg.hf_hub_id.partition("@")
    revision, cache = revision or None, hf_cache_dir()
    filenames = _hf_filenames(cfg)
    for filename in filenames:
        hit = huggingface_hub.try_to_load_from_cache(repo, filename, cache_dir=cache, revision=revision)
        if isinstance(hit, str):  # otherwise None (unknown) or a "known absent" marker
            return hit
    what, folder = f"{PREFIX}{arch} pretrained weights", cache / f"models--{repo.replace('/', '--')}"
    endpoint = huggingface_hub.constants.ENDPOINT
    url = f"{endpoint}/{repo}"
    if not fetch.reachable(url):
        raise UserError(f"{what}: {filenames[0]} of {repo} is not in the Hugging Face cache {folder} and "
                        f"{urlparse(endpoint).hostname} does not answer (offline?); fill the cache on a machine "
                        f"online (hf download {repo}) and copy {folder} over, {fix_hint()}")
    with downloading(what, filenames[0], folder, url):
        for filename in filenames:
            try:
                return huggingface_hub.hf_hub_download(repo, filename, revision=revision, cache_dir=cache)
            except EntryNotFoundError:
                continue  # timm's order: the safetensors file when the repo has one
        raise FileNotFoundError(f"none of {', '.join(filenames)} in {repo}")


def _from_url(arch, url):
    path = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(url).path)
    if path.is_file():
        return str(path)
    what = f"{PREFIX}{arch} pretrained weights"
    require_download(what, path.name, path.parent, url)
    path.parent.mkdir(parents=True, exist_ok=True)
    with downloading(what, path.name, path.parent, url):
        torch.hub.download_url_to_file(url, str(path))  # temp file, then moved in place
    return str(path)


def pretrained_file(arch):
    """The local file of timm's pretrained weights for `arch`: cached, or downloaded into the cache."""
    cfg = _timm().models.get_pretrained_cfg(arch)
    if cfg is not None and cfg.hf_hub_id and _has_hf_hub():
        return _from_hf(arch, cfg)
    if cfg is not None and cfg.url:
        return _from_url(arch, cfg.url)
    raise UserError(f"{PREFIX}{arch}: timm has no downloadable pretrained weights for it; give a file with "
                    f"--backbone_weights PATH or run with --pretrained False")


def _create(arch, **kwargs):
    """Pooled features (num_classes=0); fixed-size models (ViTs) take any crop size a patch divides."""
    timm = _timm()
    fixed = getattr(timm.models.get_pretrained_cfg(arch), "fixed_input_size", False)
    if fixed:
        try:
            return timm.create_model(arch, num_classes=0, dynamic_img_size=True, **kwargs)
        except TypeError:
            pass  # this architecture has no dynamic_img_size: it keeps its fixed size
    return timm.create_model(arch, num_classes=0, **kwargs)


@register(PREFIX)
def make_trunk(name, pretrained):
    arch = name[len(PREFIX):]
    check_name(arch)
    if pretrained:
        path = pretrained_file(arch)
        try:
            model = _create(arch, pretrained=True, pretrained_cfg_overlay=dict(file=path))
        except Exception as err:  # a truncated or foreign file in the cache
            raise UserError(f"{name}: timm cannot load the cached {path} ({type(err).__name__}); delete it to "
                            f"download it again, {fix_hint()}") from None
    else:
        model = _create(arch)
    from timm.data import resolve_model_data_config
    data = resolve_model_data_config(model)  # the default pretrained config's: identical without weights
    features = getattr(model, "head_hidden_size", None) or model.num_features
    first_conv = model.pretrained_cfg.get("first_conv")
    return Trunk(model, features, tuple(data["mean"]), tuple(data["std"]), tuple(data["input_size"][1:]),
                 first_conv if isinstance(first_conv, str) else None, PREFIX)
