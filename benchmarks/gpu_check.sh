#!/usr/bin/env bash
# One GPU check, ready for the first time a GPU is at hand (< 8 min on one GPU); without a GPU it
# runs the same steps on the CPU at tiny sizes. The steps and their flags: benchmarks/gpu_check.py.
#   bash benchmarks/gpu_check.sh [--quick] [--timeout SECONDS_PER_STEP]
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python}" -m benchmarks.gpu_check "$@"
