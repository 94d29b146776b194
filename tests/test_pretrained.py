"""Pretrained weights, offline: the libraries' caches are read, a machine without network stops at
once with one line, a failed download leaves nothing behind, --backbone_weights loads local files."""
import email.message
import socket

import pytest
import timm
import torch
from safetensors.torch import save_file
from torchvision import models as tv_models

import models.fetch as fetch
from args import ModelConfig
from models import build_model
from models.encoders.resnet import cached_weights_path, imagenet_weights
from utils.errors import UserError

SMALL = dict(embed_dim=16, hidden_size=8, dropout=0.0, input_mode="rgb", temporal="gru")
TIMM_TINY = "resnet10t"  # hub repo timm/resnet10t.c3_in1k


def make(**kw):
    return build_model(ModelConfig(**{**SMALL, **kw}))


@pytest.fixture
def offline(monkeypatch):
    """No host answers; the libraries' download functions must not even be called."""
    asked = []

    def unreachable(url, timeout=fetch.CONNECT_TIMEOUT_S):
        asked.append(url)
        return False

    def never(*args, **kwargs):
        raise AssertionError("a download was attempted offline")
    monkeypatch.setattr(fetch, "reachable", unreachable)
    monkeypatch.setattr(torch.hub, "download_url_to_file", never)
    monkeypatch.setattr("huggingface_hub.hf_hub_download", never)
    return asked


@pytest.fixture
def caches(monkeypatch, tmp_path):
    """Empty torch.hub and Hugging Face caches under tmp_path."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hf"))
    return tmp_path


# ---- torchvision ----------------------------------------------------------------------------

def test_better_imagenet_weights_per_depth():
    assert imagenet_weights("resnet18") is tv_models.ResNet18_Weights.IMAGENET1K_V1
    assert imagenet_weights("resnet50") is tv_models.ResNet50_Weights.IMAGENET1K_V2
    assert cached_weights_path("resnet152").name == tv_models.ResNet152_Weights.IMAGENET1K_V2.url.rsplit("/", 1)[1]
    assert "IMAGENET1K_V2 for resnet50" in ModelConfig.__dataclass_fields__["model_name"].metadata["help"]


def test_resnet_offline_is_one_line_naming_file_folder_and_flag(caches, offline):
    with pytest.raises(UserError) as err:
        make(pretrained=True)
    message = str(err.value)
    path = cached_weights_path("resnet18")
    assert path.name in message and str(path.parent) in message and "--backbone_weights" in message
    assert "\n" not in message
    assert offline == [imagenet_weights("resnet18").url]  # the reachability check was consulted once


def test_resnet_reads_the_cache_without_network(caches, offline):
    state = tv_models.resnet18().state_dict()
    path = cached_weights_path("resnet18")
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    model = make(pretrained=True)
    assert torch.equal(model.encoder.streams["rgb"].layer4[1].conv2.weight, state["layer4.1.conv2.weight"])
    assert offline == []


class BrokenDownload:
    """A response that sends a few bytes of the file, then times out."""

    def __init__(self, *args, **kwargs):
        self.sent = False

    def info(self):
        headers = email.message.Message()
        headers["Content-Length"] = "1000000"
        return headers

    def read(self, n):
        if self.sent:
            raise socket.timeout("timed out")
        self.sent = True
        return b"\0" * 1000

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_failed_download_leaves_nothing_in_the_cache(caches, monkeypatch):
    monkeypatch.setattr(fetch, "reachable", lambda url, timeout=None: True)
    monkeypatch.setattr(torch.hub, "urlopen", BrokenDownload)  # torch.hub's real download code runs
    with pytest.raises(UserError) as err:
        make(pretrained=True)
    assert "downloading resnet18-f37072fd.pth" in str(err.value) and "\n" not in str(err.value)
    folder = cached_weights_path("resnet18").parent
    assert not folder.exists() or list(folder.iterdir()) == []
    assert socket.getdefaulttimeout() is None  # the download's read timeout was put back


def test_reachability_check_is_bounded_and_follows_the_proxy(monkeypatch):
    seen = []

    def refuse(address, timeout=None):
        seen.append((address, timeout))
        raise OSError("unreachable")
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.delenv("https_proxy", raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert fetch.reachable("https://download.pytorch.org/models/x.pth") is False
    assert seen == [(("proxy.example", 3128), fetch.CONNECT_TIMEOUT_S)] and fetch.CONNECT_TIMEOUT_S <= 5


# ---- timm -----------------------------------------------------------------------------------

def fake_hf_cache(root, repo, filename, state):
    """The Hugging Face cache layout: refs/main names a snapshot that holds the file."""
    folder = root / "hf" / f"models--{repo.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("0" * 40)
    snapshot = folder / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    save_file(state, str(snapshot / filename))


def test_timm_reads_the_hugging_face_cache_without_network(caches, offline):
    state = timm.create_model(TIMM_TINY).state_dict()  # as published: with its classifier
    fake_hf_cache(caches, "timm/resnet10t.c3_in1k", "model.safetensors", state)
    model = make(model_name=f"timm/{TIMM_TINY}", pretrained=True)
    assert torch.equal(model.encoder.streams["rgb"].layer4[0].conv2.weight, state["layer4.0.conv2.weight"])
    assert offline == []


def test_timm_reads_torch_hub_cache_for_url_weights(caches, offline, monkeypatch):
    # without huggingface_hub timm loads URL weights through torch.hub; so do we
    monkeypatch.setattr("models.encoders.timm._has_hf_hub", lambda: False)
    state = timm.create_model(TIMM_TINY).state_dict()
    url = timm.models.get_pretrained_cfg(TIMM_TINY).url
    path = caches / "torch" / "hub" / "checkpoints" / url.rsplit("/", 1)[1]
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    model = make(model_name=f"timm/{TIMM_TINY}", pretrained=True)
    assert torch.equal(model.encoder.streams["rgb"].conv1[0].weight, state["conv1.0.weight"])


def test_timm_offline_is_one_line_naming_file_folder_and_flag(caches, offline):
    with pytest.raises(UserError) as err:
        make(model_name=f"timm/{TIMM_TINY}", pretrained=True)
    message = str(err.value)
    assert "model.safetensors" in message and str(caches / "hf" / "models--timm--resnet10t.c3_in1k") in message
    assert "--backbone_weights" in message and "\n" not in message
    assert offline == ["https://huggingface.co/timm/resnet10t.c3_in1k"]


def test_timm_failed_download_leaves_no_partial_file(caches, monkeypatch):
    folder = caches / "hf" / "models--timm--resnet10t.c3_in1k"

    def half_written(repo, filename, revision=None, cache_dir=None):
        (folder / "blobs").mkdir(parents=True, exist_ok=True)
        (folder / "blobs" / "abc.incomplete").write_bytes(b"\0" * 10)  # as older huggingface_hub left them
        raise OSError("connection reset")
    monkeypatch.setattr(fetch, "reachable", lambda url, timeout=None: True)
    monkeypatch.setattr("huggingface_hub.hf_hub_download", half_written)
    with pytest.raises(UserError, match="downloading model.safetensors.*connection reset"):
        make(model_name=f"timm/{TIMM_TINY}", pretrained=True)
    assert list(folder.rglob("*.incomplete")) == []


# ---- --backbone_weights ---------------------------------------------------------------------

def one_line_report(capsys):
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("backbone weights")]
    assert len(lines) == 1, lines
    return lines[0]


def test_backbone_weights_from_a_library_state_dict(tmp_path, offline, capsys):
    state = tv_models.resnet18().state_dict()
    path = tmp_path / "resnet18.pth"
    torch.save(state, path)
    model = make(backbone_weights=str(path), input_mode="both", fusion="early")
    conv1 = model.encoder.streams["rgb_diff"].conv1.weight
    torch.testing.assert_close(conv1, torch.cat([state["conv1.weight"]] * 2, dim=1) / 2)
    report = one_line_report(capsys)
    assert "loaded 120 of 120 tensors; missing 0" in report and "ignored 2" in report and "fc.weight" in report

    timm_state = timm.create_model(TIMM_TINY).state_dict()
    safetensors_path = tmp_path / "model.safetensors"
    save_file(timm_state, str(safetensors_path))
    model = make(model_name=f"timm/{TIMM_TINY}", backbone_weights=str(safetensors_path))
    assert torch.equal(model.encoder.streams["rgb"].conv1[0].weight, timm_state["conv1.0.weight"])
    assert "ignored 2 not in the encoder (fc.bias, fc.weight)" in one_line_report(capsys)


def test_backbone_weights_from_a_checkpoint_of_this_tool(tmp_path, offline, capsys):
    trained = make(model_name=f"timm/{TIMM_TINY}", input_mode="both", fusion="two_stream")
    path = tmp_path / "best.pth"
    torch.save({"model": trained.state_dict(), "epoch": 2}, path)
    model = make(model_name=f"timm/{TIMM_TINY}", backbone_weights=str(path))
    assert torch.equal(model.encoder.streams["rgb"].conv1[0].weight, trained.encoder.streams["rgb"].conv1[0].weight)
    assert "stream rgb" in one_line_report(capsys)

    early = make(model_name=f"timm/{TIMM_TINY}", input_mode="both", fusion="early")
    torch.save({"model": early.state_dict()}, path)
    again = make(model_name=f"timm/{TIMM_TINY}", input_mode="both", fusion="early", backbone_weights=str(path))
    wide = again.encoder.streams["rgb_diff"].conv1[0].weight  # the 6-channel conv, loaded after widening
    assert torch.equal(wide, early.encoder.streams["rgb_diff"].conv1[0].weight)
    assert "missing 0" in one_line_report(capsys)


def test_backbone_weights_of_another_architecture_is_one_line(tmp_path, offline):
    path = tmp_path / "resnet34.pth"
    torch.save(tv_models.resnet34().state_dict(), path)
    with pytest.raises(UserError) as err:
        make(backbone_weights=str(path))
    assert "does not fit resnet18" in str(err.value) and "\n" not in str(err.value)
    torch.save(timm.create_model("efficientnet_b0").state_dict(), path)
    with pytest.raises(UserError, match="does not fit timm/resnet10t"):
        make(model_name=f"timm/{TIMM_TINY}", backbone_weights=str(path))
    with pytest.raises(UserError, match="no such file"):
        make(backbone_weights=str(tmp_path / "absent.pth"))
