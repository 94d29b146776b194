"""The training benchmark runs end to end in its quick mode and prints its table (no timing checks)."""
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
SAMPLES = PROJECT.parent / "shared" / "samples"


@pytest.mark.skipif(not any(SAMPLES.rglob("*.mp4")), reason="no sample videos in ../shared/samples")
def test_quick_benchmark_prints_one_table():
    done = subprocess.run([sys.executable, "benchmarks/bench_train.py", "--quick", "--device", "cpu"], cwd=PROJECT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("bench_train:")
    assert lines[1].split()[:3] == ["config", "measure", "clips/s"] and "data-wait" in lines[1]
    body = "\n".join(lines[3:])
    measures = ("load, decode mp4", "load, face cache", "load, cache + train augment", "train, per-step loop (original)",
                "train, batched B*T", "train, batched + DataLoader")
    for measure in measures:
        assert body.count(measure) == 1, measure
    assert len(lines) == 3 + len(measures)  # header, columns, rule, then one row per measure
