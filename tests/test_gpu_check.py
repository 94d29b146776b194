"""benchmarks/gpu_check.sh runs its CPU fallback end to end and prints one table (no timing checks)."""
import subprocess
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
SAMPLES = PROJECT.parent / "shared" / "samples"


@pytest.mark.skipif(not (SAMPLES / "dfdc" / "metadata.json").is_file(), reason="no ../shared/samples")
def test_cpu_fallback_runs_every_step():
    done = subprocess.run(["bash", "benchmarks/gpu_check.sh", "--quick"], cwd=PROJECT,
                          capture_output=True, text=True, timeout=900)
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert lines[0].startswith("gpu_check: no GPU")
    assert lines[1].split()[:3] == ["step", "device", "wall"]
    body = "\n".join(lines[3:])
    for step in ("train resnet18", "train timm/", "prepare dfdc samples", "train tiny", "predict", "DDP 2 processes"):
        row = next(line for line in lines[3:] if line.startswith(step))
        assert row.rstrip().endswith("ok"), row
    assert body
