"""The GPU check behind benchmarks/gpu_check.sh: every CUDA path once, one table.

  bash benchmarks/gpu_check.sh            # a GPU: < 8 min; no GPU: the CPU fallback, ~1-2 min
  bash benchmarks/gpu_check.sh --quick    # the CPU fallback at its smallest (the test runs it)

Steps, each a separate process (a crash is a FAILED row, the others still run): training
throughput (bench_train: resnet50, bf16, channels_last, compile off and on; a timm encoder when
the model registry has one), prepare with MTCNN over ../shared/samples/dfdc, a tiny training run
whose checkpoint predict then uses over ../shared/samples, and a 2-process DDP smoke run.
Without a GPU the same steps run on the CPU at tiny sizes, so a first GPU run can fail on nothing
but the GPU.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from datasets.face_cache import save_face_cache
from utils.cli import OneLineParser

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "samples"
PY = sys.executable
COLUMNS = ("step", "device", "wall s", "s/video", "frames/s", "% bf16 peak", "data-wait", "peak MB",
           "status")


def tiny_dataset(root, size, n_per_class=8, n_windows=2, window_len=4):
    """A prepared dataset in prepare.py's format (face caches + CSV), fakes with a bright square:
    made in a second, so that the training steps test the GPU, not the demo generator."""
    rng = np.random.default_rng(0)
    rows = []
    for label in (0, 1):
        for i in range(n_per_class):
            n = n_windows * window_len
            frames = rng.integers(40, 120, (n, size, size, 3), dtype=np.uint8)
            frames[:, size // 3: 2 * size // 3, size // 3: 2 * size // 3] += 100 * label
            stem = f"{'fake' if label else 'real'}{i}"
            save_face_cache(root / f"faces/{stem}.npz", frames, np.zeros((n, 4)), np.arange(n),
                            25.0, window_len)
            rows.append(dict(name=f"part/{stem}.mp4", label=label, is_valid=i < 2,
                             original=f"real{i}.mp4", group=f"real{i}.mp4", part="part",
                             frames=n, fps=25.0, cache_path=f"faces/{stem}.npz"))
    pd.DataFrame(rows).to_csv(root / "videos_df.csv", index=False)
    return root


# ---- the calls: train.py / predict.py / prepare.py flags as they are today; adjust them here ----
def tiny_train_flags(data, device, save, run):
    return ["train.py", "--root_dir", str(data), "--epochs", "1", "--crop_size", "16", "--num_frames", "4",
            "--batch_size", "4", "--workers", "0", "--embed_dim", "16", "--hidden_size", "16",
            "--log_interval", "1", "--device", device, "--save_model_path", str(save),
            "--run_name", run, *(["--amp", "none"] if device == "cpu" else [])]  # bf16 BatchNorm at 16 px can NaN


def calls(device, tmp, gpu, quick):
    """(step name, argv, frames the step handles or None, needs) in run order."""
    bench = ["-m", "benchmarks.bench_train", "--device", device, "--amp", "auto"]
    bench += (["--configs", "resnet50@224", "--workers", "6", "--channels_last", "true"] if gpu
              else ["--quick"])
    prep = ["-m", "prepare", str(SAMPLES / "dfdc"), "--out", str(tmp / "prepared"),
            "--balance", "all", "--device", device, "--workers", "2"]
    if quick:
        prep += ["--n_windows", "1", "--window_len", "2", "--size", "64"]
    predict_inputs = ([str(SAMPLES / "ffpp" / "004.mp4")] if quick
                      else [str(SAMPLES / "dfdc"), str(SAMPLES / "ffpp")])
    # NCCL needs a GPU per process: with one GPU the DDP smoke run is gloo on the CPU
    ddp_device = "cuda" if torch.cuda.device_count() >= 2 else "cpu"
    steps = [("train resnet50, compile off" if gpu else "train resnet18@32 (quick)",
              [*bench, "--compile", "false", "--json", str(tmp / "train_off.json")], None, None)]
    if gpu:
        steps.append(("train resnet50, compile on",
                      [*bench, "--compile", "true", "--json", str(tmp / "train_on.json")], None, None))
    encoder = "timm/efficientnet_b0" if gpu else "timm/resnet10t"
    steps.append((f"train {encoder} (bench_train --encoders)",
                  ["-m", "benchmarks.bench_train", "--encoders", "--device", device, "--encoder_list", encoder,
                   *([] if gpu else ["--quick"])], None, None))
    steps += [
        ("prepare dfdc samples (MTCNN)", prep, "prepare", None),
        ("train tiny (checkpoint for predict)", tiny_train_flags(tmp / "tiny_data", device, tmp / "runs", "tiny"),
         None, None),
        ("predict ../shared/samples", ["predict.py", *predict_inputs, "--checkpoint",
                                       str(tmp / "runs" / "tiny" / "best.pth"),
                                       "--out", str(tmp / "submission.csv"), "--device", device],
         "predict", "train tiny (checkpoint for predict)"),
        (f"DDP 2 processes ({ddp_device})",
         ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
          *tiny_train_flags(tmp / "tiny_data", ddp_device, tmp / "runs", "ddp")],
         None, "train tiny (checkpoint for predict)"),
    ]
    return steps
# ---- end of the calls ----


def run_step(argv, timeout, env):
    start = time.perf_counter()
    try:
        done = subprocess.run([PY, *argv], cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return time.perf_counter() - start, f"FAILED: over {timeout} s"
    wall = time.perf_counter() - start
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
        return wall, f"FAILED ({done.returncode}): {last[:120]}"
    return wall, "ok"


def videos_done(kind, tmp):
    """(videos, frames decoded for them) of a prepare or predict step."""
    if kind == "prepare":
        report = json.loads((tmp / "prepared" / "report.json").read_text())
        config = json.loads((tmp / "prepared" / "prepare_config.json").read_text())
        return report["n_videos"], report["n_videos"] * config["n_windows"] * config["window_len"]
    with open(tmp / "submission.csv") as fh:
        return sum(1 for _ in fh) - 1, None  # predict's clip length comes from the checkpoint


def train_rows(path, name, device):
    rows = json.loads(Path(path).read_text())
    row = next(r for r in rows if r["measure"] == "train, batched + DataLoader")
    return dict(step=name, device=device, **{"frames/s": row["frames/s"],
                "% bf16 peak": row.get("% peak"), "data-wait": row.get("data-wait"),
                "peak MB": _number(row.get("peak GPU MB")) or row.get("peak RSS MB")})


def _number(value):
    return None if value is None or value != value else value  # NaN: not measured


def fmt(column, value):
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if column == "data-wait":
        return f"{value:.1%}"
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def table(rows):
    cells = [[fmt(c, r.get(c)) for c in COLUMNS] for r in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(COLUMNS)]
    line = lambda vs: "  ".join(v.ljust(w) for v, w in zip(vs, widths))  # noqa: E731
    return "\n".join([line(COLUMNS), line(["-" * w for w in widths])] + [line(r) for r in cells])


def main(argv=None):
    p = OneLineParser(prog="gpu_check", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="the CPU fallback at its smallest")
    p.add_argument("--timeout", type=int, default=300, help="seconds per step")
    args = p.parse_args(argv)
    gpu = torch.cuda.is_available() and not args.quick
    device = "cuda" if gpu else "cpu"
    print(f"gpu_check: {torch.cuda.get_device_name(0) if gpu else 'no GPU: CPU fallback'}; "
          f"torch {torch.__version__}", flush=True)
    rows, failed = [], set()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        tiny_dataset(tmp / "tiny_data", 24)
        for name, step_argv, kind, needs in calls(device, tmp, gpu, args.quick):
            if needs in failed:
                rows.append(dict(step=name, device=device, status=f"skipped: {needs} failed"))
                failed.add(name)
                continue
            print(f"  {name} ...", file=sys.stderr, flush=True)
            wall, status = run_step(step_argv, args.timeout, env)
            row = dict(step=name, device=step_argv[step_argv.index("--device") + 1],
                       status=status, **{"wall s": wall})
            if status != "ok":
                failed.add(name)
            elif "--json" in step_argv:
                row = {**train_rows(step_argv[step_argv.index("--json") + 1], name, device),
                       "wall s": wall, "status": status}
            elif kind:
                videos, frames = videos_done(kind, tmp)
                row.update({"s/video": wall / max(videos, 1),
                            "frames/s": frames / wall if frames else None})
            rows.append(row)
    print(table(rows))
    print("wall s: the whole process (imports, model build, warm-up included); frames/s: training "
          "frames (clips x frames) or frames decoded and detected; peak MB: GPU memory on a GPU, "
          "else peak RSS (training rows); data-wait: share of step time waiting for the DataLoader")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
