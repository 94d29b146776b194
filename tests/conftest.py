"""Shared fixtures: small data sets that the tests make themselves."""
import json
import shutil
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from datasets.face_cache import save_face_cache

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"


def make_cache_dataset(root, n_per_class=6, n_windows=2, window_len=4, size=24, seed=0):
    """A prepared dataset in prepare.py's format: fakes carry a bright square in the middle.

    Small enough to train on in seconds, and learnable, so a short run has real metrics.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for label in (0, 1):
        for i in range(n_per_class):
            n = n_windows * window_len
            frames = rng.integers(40, 120, (n, size, size, 3), dtype=np.uint8)
            if label:
                frames[:, size // 3: 2 * size // 3, size // 3: 2 * size // 3] += 100
            name = f"part_0/{'fake' if label else 'real'}{i}.mp4"
            cache = f"faces/part_0/{'fake' if label else 'real'}{i}.npz"
            save_face_cache(Path(root) / cache, frames, np.zeros((n, 4)), np.arange(n), 25.0, window_len)
            rows.append(dict(name=name, label=label, is_valid=i < 2, original=f"real{i}.mp4", group=f"real{i}.mp4",
                             part="part_0", frames=n, fps=25.0, cache_path=cache, fake_kind="square" if label else ""))
    pd.DataFrame(rows).to_csv(Path(root) / "videos_df.csv", index=False)
    (Path(root) / "prepare_config.json").write_text(json.dumps(dict(n_windows=n_windows, window_len=window_len, size=size,
                                                                    face_detector="none")))
    return Path(root)


@contextmanager
def scratch_dir(tmp_path_factory, name):
    """A folder for a module-scoped fixture, removed when the fixture is torn down.

    Training runs leave checkpoints of tens of MB; CI's disk must not hold every module's at once.
    """
    path = tmp_path_factory.mktemp(name)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def cache_dataset(tmp_path_factory):
    return make_cache_dataset(tmp_path_factory.mktemp("cache_dataset"))


def tiny_train_argv(root, save_dir, run_name, *extra):
    """Flags for a training run of a few seconds on the CPU.

    Full precision: at 16 px the ResNet's last block is 1x1, and bf16 BatchNorm over so few values
    overflows to a NaN loss in about 1 run in 8 (seen as a rank exiting under torchrun). These
    runs test the pipeline; tests/test_amp.py tests bf16 at a size it is meant for.
    """
    return ["--root_dir", str(root), "--save_model_path", str(save_dir), "--run_name", run_name,
            "--crop_size", "16", "--num_frames", "4", "--batch_size", "4", "--workers", "0", "--epochs", "2",
            "--embed_dim", "16", "--hidden_size", "16", "--log_interval", "1", "--device", "cpu", "--amp", "none",
            *extra]
