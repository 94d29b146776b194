"""The fast-path options on the CPU: --amp bf16 trains, --amp fp16 is refused in one line,
and --channels_last really feeds the backbone channels-last frames."""
import math

import pandas as pd
import pytest
import torch
import yaml

from args import ModelConfig
from conftest import tiny_train_argv
from models import build_model
from train import main
from utils.device import resolve_amp


def test_bf16_trains_on_the_cpu(cache_dataset, tmp_path):
    # 32 px and clipped gradients: at 16 px the from-scratch trunk's last block is 1 x 1 and bf16's
    # BatchNorm over 16 values overflowed once in five suite runs (a NaN stop, not a bf16 bug of ours)
    main(tiny_train_argv(cache_dataset, tmp_path, "bf16", "--amp", "bf16", "--channels_last", "True", "--epochs", "1",
                         "--crop_size", "32", "--grad_clip", "1"))
    run = tmp_path / "bf16"
    row = pd.read_csv(run / "metrics.csv").iloc[-1]
    for key in ("train_loss", "val_loss", "val_log_loss"):
        assert math.isfinite(row[key]), key
    assert yaml.safe_load((run / "config.yaml").read_text())["train"]["amp"] == "bf16"
    timing = pd.read_csv(run / "timing.csv").iloc[-1]
    assert timing["train_clips_per_s"] > 0 and timing["peak_rss_mb"] > 0


def test_fp16_on_the_cpu_is_a_one_line_error(cache_dataset, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(tiny_train_argv(cache_dataset, tmp_path, "fp16", "--amp", "fp16"))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --amp fp16 needs a GPU") and "\n" not in err
    assert not (tmp_path / "fp16").exists()  # refused before the run folder is made


@pytest.mark.parametrize("input_mode", ["rgb", "both"])
def test_channels_last_model_gets_channels_last_frames(input_mode):
    model = build_model(ModelConfig(embed_dim=8, hidden_size=8, input_mode=input_mode)).to(memory_format=torch.channels_last)
    seen = []
    for trunk in model.encoder.streams.values():
        trunk.conv1.register_forward_pre_hook(
            lambda _, args: seen.append(args[0].dim() == 4 and args[0].is_contiguous(memory_format=torch.channels_last)))
    model(torch.randint(0, 256, (2, 3, 3, 32, 32), dtype=torch.uint8))
    assert seen and all(seen)


@pytest.mark.parametrize("native", [True, False])
def test_amp_auto_is_bf16_only_where_the_cpu_has_it_in_hardware(monkeypatch, native):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: native)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    cpu = torch.device("cpu")
    assert resolve_amp("auto", cpu) == ("bf16" if native else "none")
    assert resolve_amp("none", cpu) == "none" and resolve_amp("bf16", cpu) == "bf16"  # explicit choices stand


def test_config_yaml_records_the_precision_that_ran(cache_dataset, tmp_path):
    main(tiny_train_argv(cache_dataset, tmp_path, "auto", "--amp", "auto", "--epochs", "1", "--crop_size", "32",
                         "--grad_clip", "1"))
    assert yaml.safe_load((tmp_path / "auto" / "config.yaml").read_text())["train"]["amp"] in ("bf16", "none")
