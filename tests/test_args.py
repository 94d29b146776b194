"""args.py: one home per default, the original launch command, --config YAML files, booleans,
one-line errors for bad values, and what a resumed run may change."""
import subprocess
import sys
from dataclasses import asdict, fields
from pathlib import Path

import pytest
import yaml

import args as args_module
from args import (DEMO_ROOT, SECTIONS, Config, ModelConfig, TrainConfig, given_flags, parse_args, read_yaml_config,
                  resume_config)
from utils.errors import UserError

PROJECT = Path(__file__).resolve().parents[1]
ORIGINAL = ("--batch_size 16 --crop_size 224 --csv_file videos_df --dataset video --dropout 0.3 --embed_dim 512 "
            "--epochs 50 --log_interval 10 --lr 0.001 --model_name resnet152 --num_classes 2 --pretrained True --workers 4").split()


def test_defaults_train_the_demo():
    cfg = parse_args([])
    assert Path(cfg.data.root_dir).resolve() == DEMO_ROOT
    assert cfg.data.dataset == "video" and cfg.model.pretrained is False
    assert cfg == Config()  # the flags' defaults are the dataclasses' defaults: one home


def test_original_launch_command_parses():
    cfg = parse_args(ORIGINAL)
    assert (cfg.data.batch_size, cfg.data.crop_size, cfg.data.csv_file, cfg.model.model_name) == (16, 224, "videos_df", "resnet152")
    assert cfg.model.pretrained is True and cfg.train.epochs == 50 and cfg.data.workers == 4 and cfg.train.lr == 0.001


@pytest.mark.parametrize("word,value", [("True", True), ("False", False), ("false", False), ("0", False), ("yes", True)])
def test_pretrained_false_means_false(word, value):
    assert parse_args(["--pretrained", word]).model.pretrained is value


def test_bare_boolean_flag_means_true():
    assert parse_args(["--bidirectional"]).model.bidirectional is True


def test_configs_are_frozen_and_validate_on_construction():
    cfg = parse_args([])
    with pytest.raises(Exception):
        cfg.train.lr = 1.0  # nothing mutates a config after parsing
    with pytest.raises(UserError, match="--temporal"):
        ModelConfig(temporal="transformer")  # a checkpoint's or a YAML file's value gets the flag's check
    assert Config.from_dict(cfg.to_dict()) == cfg  # what checkpoints store round-trips


def test_every_setting_has_help_and_a_flag():
    out = subprocess.run([sys.executable, "train.py", "--help"], cwd=PROJECT, capture_output=True, text=True,
                         timeout=120).stdout
    for group in ("data:", "model:", "optimisation:", "run:"):
        assert group in out
    for cls in SECTIONS.values():
        for f in fields(cls):
            assert f.metadata["help"] and f"--{f.name}" in out, f.name


def test_yaml_config_sets_flags_and_the_command_line_overrides_it(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("model:\n  temporal: lstm\n  hidden_size: 64\nepochs: 3\naugment: yes\n")
    cfg = parse_args(["--config", str(recipe), "--hidden_size", "32"])
    assert (cfg.model.temporal, cfg.model.hidden_size, cfg.train.epochs, cfg.data.augment) == ("lstm", 32, 3, True)


@pytest.mark.parametrize("text,needle", [("epochz: 3\n", "did you mean 'epochs'"), ("epochs: 2.5\n", "epochs"),
                                         ("temporal: rnn\n", "--temporal"), ("- 1\n", "mapping"), ("a: [\n", "YAML")])
def test_bad_yaml_is_one_line(tmp_path, text, needle):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text(text)
    proc = subprocess.run([sys.executable, "train.py", "--config", str(recipe)], cwd=PROJECT, capture_output=True,
                          text=True, timeout=120)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and needle in lines[0], proc.stderr


def test_demo_yaml_is_the_defaults():
    """configs/demo.yaml names the demo recipe; its values must be today's defaults (one home)."""
    values = read_yaml_config(PROJECT / "configs" / "demo.yaml")
    defaults = {k: v for section in asdict(Config()).values() for k, v in section.items()}
    assert values and all(defaults[k] == v for k, v in values.items()), \
        {k: (v, defaults[k]) for k, v in values.items() if defaults[k] != v}


def test_real_yaml_parses():
    cfg = parse_args(["--config", str(PROJECT / "configs" / "real.yaml")])
    assert cfg.data.clips_per_video > 1 and cfg.train.ema_decay > 0


@pytest.mark.parametrize("argv,needle", [
    (["--crop_size", "0"], "--crop_size"),
    (["--model_name", "resnet7"], "resnet7"),
    (["--lr", "-0.1"], "--lr"),
    (["--root_dir", "/no/such/folder"], "/no/such/folder"),
    (["--pretrained", "maybe"], "maybe"),
    (["--dropout", "1.5"], "--dropout"),
    (["--num_classes", "3"], "--num_classes"),
    (["--resume", "/no/such.pth"], "/no/such.pth"),
    (["--demo_seed", "-1"], "--demo_seed"),
    (["--seed", "-1"], "--seed"),
    (["--device", "bogus"], "--device"),
    (["--config", "/no/such.yaml"], "/no/such.yaml"),
])
def test_bad_values_exit_2_with_one_line(argv, needle):
    proc = subprocess.run([sys.executable, "train.py", *argv], cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in proc.stderr


def test_given_flags_are_what_the_command_line_names():
    assert given_flags(["--epochs", "5", "--lr=0.1", "--augment", "--root_dir", "x"]) == {"epochs", "lr", "augment", "root_dir"}


def test_resume_takes_the_checkpoint_settings_and_refuses_a_changed_model():
    saved = Config(model=ModelConfig(temporal="lstm", hidden_size=64), train=TrainConfig(epochs=3)).to_dict()
    cli = parse_args(["--epochs", "6", "--resume", __file__])
    cfg, warnings = resume_config(cli, saved, {"epochs", "resume"})
    assert (cfg.model.temporal, cfg.model.hidden_size, cfg.train.epochs) == ("lstm", 64, 6)  # the checkpoint decides
    assert len(warnings) == 1 and "--epochs 6" in warnings[0]  # more epochs: safe, said once
    with pytest.raises(UserError, match="--hidden_size 32 differs from the checkpoint's 64"):
        resume_config(parse_args(["--hidden_size", "32"]), saved, {"hidden_size"})
    same, warnings = resume_config(parse_args(["--hidden_size", "64"]), saved, {"hidden_size"})
    assert same.model.hidden_size == 64 and warnings == []  # the same value is no disagreement


def test_args_module_has_no_heavy_imports():
    assert "torch" not in vars(args_module)
    out = subprocess.run([sys.executable, "-c", "import sys, args; print('torch' in sys.modules)"], cwd=PROJECT,
                         capture_output=True, text=True, timeout=60).stdout.strip()
    assert out == "False"  # a bad flag answers before torch is imported
