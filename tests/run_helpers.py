"""Training runs made light, the CLIs run in real subprocesses, and what a user error looks like."""
import subprocess
import sys
from pathlib import Path

from conftest import tiny_train_argv

PROJECT = Path(__file__).resolve().parents[1]
# A frozen single-stream ResNet-18: 45 MB checkpoints instead of 270 MB, a third of the CPU time.
LIGHT_MODEL = ("--input_mode", "rgb", "--freeze_backbone", "True")


def light_train_argv(root, save_dir, run_name, *extra):
    return tiny_train_argv(root, save_dir, run_name, *LIGHT_MODEL, *extra)


def run_cli(script, *argv, timeout=300):
    return subprocess.run([sys.executable, str(PROJECT / script), *map(str, argv)], cwd=PROJECT,
                          capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(result, *words):
    """Exit 2, no traceback, and stderr is one `error:` line holding every word."""
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "error: " in lines[0], result.stderr[-2000:]
    for word in words:
        assert word in lines[0], lines[0]


def last_error_line(stderr):
    """The error line that ends a run which already drew progress bars on stderr."""
    assert "Traceback" not in stderr, stderr[-2000:]
    assert stderr.count("error: ") == 1, stderr[-2000:]
    return stderr.strip().splitlines()[-1]
