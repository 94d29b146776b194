"""nbs/train_fastai.py: the fastai frame baseline (one short epoch) and its behaviour without fastai."""
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "nbs" / "train_fastai.py"
HINT = "train_fastai.py needs fastai: python -m pip install -r nbs/requirements-fastai.txt"


def run_script(*args, block_fastai=False):
    """Run the script in a fresh Python; block_fastai makes `import fastai` fail as if absent."""
    prelude = "import sys; sys.modules['fastai'] = None; " if block_fastai else "import sys; "
    code = prelude + f"import runpy; sys.argv = ['train_fastai.py', *{list(map(str, args))!r}]; " \
                     f"runpy.run_path({str(SCRIPT)!r}, run_name='__main__')"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)


def test_without_fastai_says_how_to_install_in_one_line(cache_dataset, tmp_path):
    result = run_script("--root_dir", cache_dataset, "--save_dir", tmp_path, block_fastai=True)
    assert result.returncode == 2
    assert result.stderr.strip() == HINT
    assert not any(tmp_path.iterdir())


def test_bad_flag_is_one_line_error(tmp_path):
    result = run_script("--epochs", "0", "--save_dir", tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --epochs must be at least 1, got 0"


def test_one_epoch_reports_video_level_metrics(cache_dataset, tmp_path):
    pytest.importorskip("fastai", reason="optional: python -m pip install -r nbs/requirements-fastai.txt")
    save = tmp_path / "run"
    result = run_script("--root_dir", cache_dataset, "--save_dir", save, "--epochs", "1", "--size", "32",
                        "--frames_per_video", "4", "--batch_size", "16", "--device", "cpu")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "video-level validation (4 videos" in result.stdout
    summary = json.loads((save / "results.json").read_text())
    metrics = summary["metrics"]
    assert metrics["n"] == 4 and metrics["n_real"] == 2 and metrics["n_fake"] == 2
    assert 0 <= metrics["acc"] <= 1 and metrics["log_loss"] > 0
    assert summary["n_train_frames"] == 8 * 4 and summary["n_val_frames"] == 4 * 4
    preds = pd.read_csv(save / "val_predictions.csv")
    table = pd.read_csv(cache_dataset / "videos_df.csv")
    valid = set(table.name[table.is_valid])
    assert set(preds.name) == valid  # the CSV's split: only validation videos are scored
    assert preds.prob_fake.between(0, 1).all()
    state = torch.load(save / "model.pth", weights_only=True)  # a plain state_dict
    assert all(torch.is_tensor(v) for v in state.values())
