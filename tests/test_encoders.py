"""The encoder registry and the timm family: shapes, own normalisation, rebuilds, fusion, norm-only
training, bad names. Tiny timm models at small inputs, no weights: CPU, offline."""
import pytest
import timm
import torch

from args import ModelConfig
from models import FAMILIES, FrameEncoder, build_model, param_counts, rebuild_model
from models.encoders import Trunk, register
from models.layers import is_norm
from utils.errors import UserError

SMALL = dict(embed_dim=16, hidden_size=8, dropout=0.0, input_mode="rgb", temporal="gru")
TINY = ["timm/resnet10t", "timm/efficientnet_b0", "timm/vit_tiny_patch16_224"]


def make(**kw):
    return build_model(ModelConfig(**{**SMALL, **kw}))


def clips(b=1, t=2, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (b, t, 3, size, size), dtype=torch.uint8, generator=g)


@pytest.mark.parametrize("name", TINY)
def test_timm_encoder_forward_backward_with_its_own_normalisation(name):
    model = make(model_name=name)
    logits = model(clips())  # 32 px: a ViT takes any size its patch divides (dynamic_img_size)
    assert logits.shape == (1, 2)
    logits.sum().backward()
    trunk = model.encoder.streams["rgb"]
    assert trunk.get_submodule(trunk.pretrained_cfg["first_conv"]).weight.grad is not None
    cfg = timm.models.get_pretrained_cfg(name.removeprefix("timm/"))
    assert model.input_size == tuple(cfg.input_size[1:])
    assert model.data_config["mean"] == tuple(cfg.mean) and model.data_config["std"] == tuple(cfg.std)
    torch.testing.assert_close(model.std.flatten(), torch.tensor(cfg.std) * 255)


def test_resnets_report_imagenet_normalisation_and_size():
    model = make(model_name="resnet18")
    assert model.data_config == {"input_size": (3, 224, 224), "mean": (0.485, 0.456, 0.406),
                                 "std": (0.229, 0.224, 0.225)}


def test_rebuilt_timm_model_has_the_same_keys_and_normalisation(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("rebuild_model must not look for weights")
    monkeypatch.setattr("models.fetch.reachable", no_network)
    cfg = ModelConfig(**{**SMALL, "model_name": "timm/vit_tiny_patch16_224", "input_mode": "both"})
    built = build_model(cfg)
    rebuilt = rebuild_model(ModelConfig(**{**cfg.__dict__, "pretrained": True, "backbone_weights": "/gone.pth"}))
    assert list(rebuilt.state_dict()) == list(built.state_dict())
    rebuilt.load_state_dict(built.state_dict())  # strict
    assert rebuilt.data_config == built.data_config and torch.equal(rebuilt.mean, built.mean)


@pytest.mark.parametrize("name", ["timm/efficientnet_b0", "timm/vit_tiny_patch16_224"])
def test_timm_motion_stream_two_stream_and_early_fusion(name):
    if "vit" not in name:  # one family member is enough for two trunks side by side
        two = make(model_name=name, input_mode="both", fusion="two_stream")
        assert list(two.encoder.streams) == ["rgb", "diff"]
        assert two(clips()).shape == (1, 2)
    torch.manual_seed(0)
    plain = make(model_name=name)
    torch.manual_seed(0)  # the same trunk initialisation, before widening
    early = make(model_name=name, input_mode="both", fusion="early")
    first = plain.encoder.streams["rgb"].pretrained_cfg["first_conv"]
    w3 = plain.encoder.streams["rgb"].get_submodule(first).weight
    w6 = early.encoder.streams["rgb_diff"].get_submodule(first).weight
    assert w6.shape[1] == 6
    torch.testing.assert_close(w6, torch.cat([w3, w3], dim=1) / 2)
    early(clips()).sum().backward()
    assert w6.grad is not None


@pytest.mark.parametrize("name", ["timm/resnet10t", "timm/vit_tiny_patch16_224", "resnet18"])
def test_train_norm_only_trains_only_the_encoders_norm_layers(name):
    model = make(model_name=name, train_norm_only=True)
    model.train()
    assert not model.encoder.training and model.proj.training  # BatchNorm statistics stay frozen
    for module_name, module in model.encoder.named_modules():
        for p_name, p in module.named_parameters(recurse=False):
            assert p.requires_grad == is_norm(module), f"{module_name}.{p_name}"
    counts = param_counts(model)
    assert 0 < counts["encoder"]["trainable"] < counts["encoder"]["frozen"]
    assert counts["proj"]["frozen"] == counts["rnn"]["frozen"] == counts["head"]["frozen"] == 0
    buffers = {k: v.clone() for k, v in model.encoder.named_buffers()}
    norms = [p.clone() for p in model.encoder.parameters() if p.requires_grad]
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    torch.nn.functional.cross_entropy(model(clips(b=2)), torch.tensor([0, 1])).backward()
    opt.step()
    for key, value in model.encoder.named_buffers():  # running means and variances
        assert torch.equal(value, buffers[key]), key
    assert any(not torch.equal(a, b) for a, b in zip(norms, (p for p in model.encoder.parameters() if p.requires_grad)))


def test_train_norm_only_and_freeze_backbone_exclude_each_other():
    with pytest.raises(UserError, match="exclude each other"):
        ModelConfig(freeze_backbone=True, train_norm_only=True)


def test_unknown_timm_name_gives_the_closest_names_in_one_line():
    with pytest.raises(UserError) as err:
        make(model_name="timm/efficientnet_b9")
    message = str(err.value)
    assert "timm/efficientnet_b8" in message and "\n" not in message
    with pytest.raises(UserError, match="closest tags: openai"):
        make(model_name="timm/vit_base_patch16_clip_224.openia")


def test_a_new_family_is_one_registered_factory(monkeypatch):
    assert {"resnet", "timm/"} <= set(FAMILIES)
    monkeypatch.setitem(FAMILIES, "toy/", None)

    @register("toy/")
    def make_toy(name, pretrained):
        conv = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
        return Trunk(conv, 4, (0.5,) * 3, (0.25,) * 3, (48, 48), "0", "toy/")

    encoder = FrameEncoder("toy/small", input_mode="both", fusion="early")
    assert encoder.streams["rgb_diff"][0].in_channels == 6 and encoder.input_size == (48, 48)
    assert encoder(torch.zeros(2, 3, 3, 8, 8)).shape == (2, 3, 4)
