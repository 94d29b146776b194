"""Benchmark training speed: one table, one run.

  python benchmarks/bench_train.py                  # CPU: resnet18/50 x 112/224 px, 16 frames, 2 clips a batch
  python benchmarks/bench_train.py --device cuda    # GPU: bf16 autocast + channels_last, 16 clips a batch
  python benchmarks/bench_train.py --quick          # seconds: a smoke test (the test suite runs it)
  python -m benchmarks.bench_train --encoders       # the encoder table: every family at its native size

--encoders: for each --encoder_list name, on synthetic clips at the encoder's native resolution
(model.input_size), one RGB stream + GRU: parameters, forward GFLOPs per frame (counted by
torch.utils.flop_counter, 2 FLOPs per multiply-add), clips/s of a full train step (forward, backward,
AdamW) and the peak memory of those steps, with the recipe we suggest. It needs neither the data
pipeline nor the trainer.

For every backbone@px configuration, on the same model, weights and clips:
  train, per-step loop   the original's data flow: the ResNet runs once per time step (B frames)
  train, batched B*T     ours: all B*T frames of the batch go through the ResNet at once
  train, + DataLoader    batched, fed by the real DataLoader (default workers) over a face cache:
                         data-wait = the share of step time spent waiting for the next batch
and for every px: clips/s loading eval clips from the face cache against decoding the same clips
from the mp4 files (both through VideoClipDataset; decoding includes no face detection, which
would only widen the gap), and with training's augmentation: what one DataLoader worker delivers. Training figures come from trainer.train_one_epoch itself. TFLOP/s
counts the backbone only (3x its forward FLOPs for a training step); "% peak" compares it with
the GPU's dense bf16 peak.
"""
import argparse
import copy
import json
import os
import sys
import tempfile
import time
from contextlib import contextmanager, nullcontext
from itertools import cycle, islice
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader

from args import ModelConfig, build_parser
from models import build_model
from utils.device import resolve_amp, resolve_device
from utils.distributed import DistInfo
from utils.resources import peak_gpu_mb, peak_rss_mb
from utils.cli import OneLineParser

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
BF16_PEAK_TFLOPS = {"H100": 800.0, "H200": 989.0}  # dense; the H100 figure is the round number
DEFAULT_CONFIGS = "resnet18@112,resnet18@224,resnet50@112,resnet50@224"
COLUMNS = ("config", "measure", "clips/s", "frames/s", "ratio", "data-wait", "peak RSS MB", "peak GPU MB",
           "TFLOP/s", "% peak")


class PerStepEncoder(nn.Module):
    """The original's loop: the same frame encoder, called once per time step on B frames."""

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, clips):
        return torch.cat([self.encoder(clips[:, t:t + 1]) for t in range(clips.shape[1])], dim=1)


@contextmanager
def per_step_loop(model):
    batched = model.encoder
    model.encoder = PerStepEncoder(batched)
    try:
        yield model
    finally:
        model.encoder = batched


def reset_peak_memory(device):
    """Restart the peak counters, so each row reports its own peak (VmHWM on Linux)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass  # elsewhere the RSS peak is the process's so far
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def current_peak_rss_mb():
    try:
        with open("/proc/self/status") as fh:
            line = next(ln for ln in fh if ln.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024
    except (OSError, StopIteration):
        return peak_rss_mb()


def build_sample_data(samples, root, sizes, frames, n_windows):
    """Face caches of the sample mp4s (centre square, no face detection) at every size, plus links
    to the mp4 files, so that the same clips can be read either way."""
    from datasets.clip_augment import eval_clip
    from datasets.face_cache import save_face_cache
    from datasets.video_io import read_windows
    rows = []
    for i, mp4 in enumerate(samples):
        clip_frames, indices, info = read_windows(mp4, n_windows, frames)
        link = root / "videos" / f"v{i}.mp4"
        link.parent.mkdir(exist_ok=True)
        os.symlink(mp4.resolve(), link)
        for px in sizes:
            cache = f"faces{px}/v{i}.npz"
            save_face_cache(root / cache, eval_clip(clip_frames, px), np.zeros((len(indices), 4)), indices, info.fps, frames)
        rows.append(dict(name=f"videos/v{i}.mp4", label=i % 2, stem=f"v{i}"))
    return pd.DataFrame(rows)


def clip_dataset(root, rows, px, frames, n_windows, from_cache, train=False, n_rows=None):
    from datasets.video_dataset import VideoClipDataset
    table = rows.copy()
    if from_cache:
        table["cache_path"] = [f"faces{px}/{stem}.npz" for stem in table["stem"]]
    if n_rows:  # repeat the few samples, so that an epoch holds enough batches
        table = table.iloc[list(islice(cycle(range(len(table))), n_rows))]
    return VideoClipDataset(root, table, frames, px, train=train, n_windows=n_windows, augment=train)


def clips_per_second(dataset, n):
    n = min(n, len(dataset))
    started = time.perf_counter()
    for i in range(n):
        assert dataset[i]["ok"], dataset[i]["reason"]
    return n / (time.perf_counter() - started)


def measure_training(model, batches, device, amp, warmup, steps):
    """Train with trainer.train_one_epoch on `warmup`, then on `steps` timed batches."""
    from trainer import train_one_epoch  # here: --encoders runs without the trainer
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    criterion = nn.CrossEntropyLoss()
    batches = iter(batches)

    def run(n):
        return train_one_epoch(model, islice(batches, n), optimizer, criterion, device, 0, amp=amp,
                               log_interval=10**9, show_progress=False)
    run(warmup)
    reset_peak_memory(device)
    out = run(steps)
    clips_s = out["seen"] / out["seconds"]
    return dict(clips_s=clips_s, data_wait=out["data_wait"] / out["seconds"], rss=current_peak_rss_mb(),
                gpu=peak_gpu_mb(device))


def peak_tflops(device, given):
    if given:
        return given
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in BF16_PEAK_TFLOPS.items() if k in name), None)


def train_rows(config, results, frames, gflops, peak):
    loop = results["loop"]["clips_s"]
    flops_per_frame = 3 * gflops * 1e9 / 2  # a train step ~ 3x the forward; the table's TFLOP/s count MACs
    rows = []
    for key, label in (("loop", "train, per-step loop (original)"), ("batched", "train, batched B*T"),
                       ("loader", "train, batched + DataLoader")):
        r = results[key]
        tflops = r["clips_s"] * frames * flops_per_frame / 1e12
        rows.append({"config": config, "measure": label, "clips/s": r["clips_s"], "frames/s": r["clips_s"] * frames,
                     "ratio": r["clips_s"] / loop if key != "loader" else None,
                     "data-wait": r["data_wait"] if key == "loader" else None, "peak RSS MB": r["rss"],
                     "peak GPU MB": r["gpu"], "TFLOP/s": tflops, "% peak": 100 * tflops / peak if peak else None})
    return rows


def format_cell(column, value):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    if isinstance(value, str):
        return value
    if column == "ratio":
        return f"{value:.2f}x"
    if column == "data-wait":
        return f"{value:.1%}"
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"  # 3 significant digits for slow CPU rows too


def format_table(rows):
    cells = [[format_cell(c, row.get(c)) for c in COLUMNS] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(COLUMNS)]
    line = lambda values: "  ".join(v.ljust(w) if i < 2 else v.rjust(w) for i, (v, w) in enumerate(zip(values, widths)))  # noqa: E731
    return "\n".join([line(COLUMNS), line(["-" * w for w in widths])] + [line(r) for r in cells])


def parse_args(argv=None):
    p = OneLineParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n", 1)[1])
    p.add_argument("--quick", action="store_true", help="tiny run for the tests: resnet18@32, 4 frames, 1 step")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--amp", default="auto", choices=("auto", "none", "bf16"), help="auto: bf16 where the device has it in hardware (as train.py)")
    p.add_argument("--channels_last", default="auto", choices=("auto", "true", "false"), help="auto: on a GPU only")
    p.add_argument("--compile", default="false", choices=("true", "false"),
                   help="torch.compile the model for the batched rows (as train.py --compile True)")
    p.add_argument("--json", default=None, metavar="FILE", help="also write the rows to this JSON file")
    p.add_argument("--configs", default=DEFAULT_CONFIGS, help="comma-separated backbone@px")
    p.add_argument("--frames", type=int, default=16, help="frames per clip")
    p.add_argument("--batch", type=int, default=None, help="clips per batch (default 2 on the CPU, 16 on a GPU)")
    p.add_argument("--steps", type=int, default=None, help="timed steps per measurement (default 3 CPU, 20 GPU)")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 1 CPU, 5 GPU)")
    p.add_argument("--workers", type=int, default=build_parser().get_default("workers"),
                   help="DataLoader workers (train.py's default)")
    p.add_argument("--load_clips", type=int, default=8, help="clips timed for cache loading and mp4 decoding")
    p.add_argument("--peak_tflops", type=float, default=None, help="the accelerator's dense bf16 peak (H100/H200 known)")
    p.add_argument("--samples", default=str(SAMPLES), help="folder searched for sample mp4 files")
    p.add_argument("--encoders", action="store_true", help="the encoder table instead (see above)")
    p.add_argument("--encoder_list", default=None, help="comma-separated --model_name values (default: the 7 of "
                   "the README's table; --quick: timm/resnet10t)")
    args = p.parse_args(argv)
    device = resolve_device(args.device)
    gpu = device.type == "cuda"
    if args.encoder_list is None:
        args.encoder_list = "timm/resnet10t" if args.quick else ",".join(ENCODERS)
    if args.quick:
        torch.set_num_threads(1)  # tiny tensors: on a busy machine, OpenMP's thread sync costs more than it gains
        args.configs, args.frames, args.load_clips = "resnet18@32", 4, 2
        args.batch, args.steps, args.warmup = args.batch or 2, args.steps or 1, args.warmup or 1
    args.device = device
    args.amp = resolve_amp(args.amp, device)
    args.channels_last = gpu if args.channels_last == "auto" else args.channels_last == "true"
    args.compile = args.compile == "true"
    args.batch = args.batch or (16 if gpu else 2)
    args.steps = args.steps or (20 if gpu else 3)
    args.warmup = args.warmup if args.warmup is not None else (5 if gpu else 1)
    args.encoder_list = [n for n in args.encoder_list.split(",") if n]
    args.configs = [(name, int(px)) for name, px in (c.split("@") for c in args.configs.split(","))]
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.encoders:
        return encoder_main(args)
    from datasets.loader import build_loader
    from datasets.video_dataset import collate_clips
    device, frames = args.device, args.frames
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    samples = sorted(Path(args.samples).rglob("*.mp4"))
    if args.quick:
        samples = sorted(samples, key=lambda f: f.stat().st_size)[:2]  # the fastest to decode
    if not samples:
        raise SystemExit(f"error: no mp4 files under {args.samples}; pass --samples")
    sizes = sorted({px for _, px in args.configs})
    n_windows = 1 if args.quick else 2
    n_train = args.batch * (args.warmup + args.steps)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        log(f"building face caches of {len(samples)} sample videos at {sizes} px")
        videos = build_sample_data(samples, root, sizes, frames, n_windows)
        for px in sizes:
            log(f"loading {px} px clips")
            mp4 = clips_per_second(clip_dataset(root, videos, px, frames, n_windows, from_cache=False), args.load_clips)
            cache = clips_per_second(clip_dataset(root, videos, px, frames, n_windows, from_cache=True), args.load_clips)
            augmented = clips_per_second(clip_dataset(root, videos, px, frames, n_windows, from_cache=True, train=True),
                                         args.load_clips)
            config = f"{px}px x{frames}"
            rows.append({"config": config, "measure": "load, decode mp4", "clips/s": mp4, "frames/s": mp4 * frames, "ratio": 1.0})
            rows.append({"config": config, "measure": "load, face cache", "clips/s": cache, "frames/s": cache * frames,
                         "ratio": cache / mp4})
            rows.append({"config": config, "measure": "load, cache + train augment (1 worker)", "clips/s": augmented,
                         "frames/s": augmented * frames})
        for backbone, px in args.configs:
            config = f"{backbone}@{px} x{frames}"
            log(f"training {config}, batch {args.batch}")
            train_set = clip_dataset(root, videos, px, frames, n_windows, from_cache=True, train=True, n_rows=n_train)
            fixed = list(DataLoader(train_set, batch_size=args.batch, collate_fn=collate_clips))  # the same clips for both
            model = build_model(ModelConfig(model_name=backbone)).to(device)
            gflops = forward_gflops(model, px)
            if args.channels_last:
                model.to(memory_format=torch.channels_last)
            init_state = copy.deepcopy(model.state_dict())
            loader = build_loader(train_set, args.batch, args.workers, True, 0, DistInfo(), device.type == "cuda")
            results = {}
            for variant, batches in (("loop", fixed), ("batched", fixed), ("loader", loader)):
                model.load_state_dict(init_state)  # the same weights for every variant
                net = torch.compile(model) if args.compile and variant != "loop" else model
                with per_step_loop(model) if variant == "loop" else nullcontext():
                    results[variant] = measure_training(net, batches, device, args.amp, args.warmup, args.steps)
            rows += train_rows(config, results, frames, gflops, peak_tflops(device, args.peak_tflops))
            del model, loader
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"bench_train: {name}; torch {torch.__version__}; amp {args.amp}; channels_last {args.channels_last}; "
          f"batch {args.batch} clips x {frames} frames; {args.steps} timed step(s) after {args.warmup}; "
          f"{args.workers} workers; compile {args.compile}; load average {os.getloadavg()[0]:.1f}")
    print(format_table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows))
    return rows


# ---- --encoders: one row per encoder at its native resolution -------------------------------

ENCODERS = ("resnet18", "resnet50", "timm/efficientnet_b0", "timm/efficientnet_b4", "timm/legacy_xception",
            "timm/convnext_tiny", "timm/vit_base_patch16_clip_224.openai")
# What we suggest per encoder; the lr is AdamW's for the encoder (the head may take 10x).
RECIPES = {
    "resnet18": "from scratch ok on the demo; pretrained + lr 1e-4 on real data",
    "resnet50": "pretrained (V2), lr 1e-4; --freeze_backbone for a first RNN stage",
    "timm/efficientnet_b0": "pretrained, lr 3e-4; cheap baseline at 224",
    "timm/efficientnet_b4": "pretrained, lr 1e-4, 320 px (224 to save time); the DFDC winners' choice",
    "timm/legacy_xception": "pretrained, lr 1e-4, 299 px; the FF++ reference encoder",
    "timm/convnext_tiny": "pretrained, lr 1e-4, 224 px, AdamW wd 0.05",
    "timm/vit_base_patch16_clip_224.openai": "--train_norm_only (GenD) or --freeze_backbone, lr 1e-3 head; GPU only",
}
ENCODER_COLUMNS = ("encoder", "params M", "GFLOPs/frame", "native px", "clips/s", "peak RSS MB", "peak GPU MB",
                   "recipe")


def forward_gflops(model, px):
    """Forward GFLOPs of the encoder on one frame at px x px (2 FLOPs per multiply-add)."""
    from torch.utils.flop_counter import FlopCounterMode
    trunk = model.encoder.streams[next(iter(model.encoder.streams))]
    device = next(trunk.parameters()).device
    frame = torch.zeros(1, 3 * (2 if "rgb_diff" in model.encoder.streams else 1), px, px, device=device)
    was_training = trunk.training
    trunk.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        trunk(frame)
    trunk.train(was_training)
    return counter.get_total_flops() / 1e9


def time_train_steps(model, clips, labels, device, amp, warmup, steps):
    """clips/s of forward + backward + AdamW step on the same batch, and the peaks of the timed steps."""
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    model.train()

    def step():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16) if amp == "bf16" else nullcontext():
            loss = nn.functional.cross_entropy(model(clips).float(), labels)
        loss.backward()
        optimizer.step()
    for _ in range(warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    reset_peak_memory(device)
    started = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return clips.shape[0] * steps / (time.perf_counter() - started), current_peak_rss_mb(), peak_gpu_mb(device)


def encoder_row(name, args):
    model = build_model(ModelConfig(model_name=name, input_mode="rgb", temporal="gru")).to(args.device)
    if args.channels_last:
        model.to(memory_format=torch.channels_last)
    px = model.input_size[0]
    gflops = forward_gflops(model, px)
    g = torch.Generator().manual_seed(0)
    clips = torch.randint(0, 256, (args.batch, args.frames, 3, px, px), dtype=torch.uint8, generator=g)
    labels = torch.arange(args.batch) % 2
    clips_s, rss, gpu = time_train_steps(model, clips.to(args.device), labels.to(args.device), args.device, args.amp,
                                         args.warmup, args.steps)
    params = sum(p.numel() for p in model.encoder.parameters()) / 1e6
    return {"encoder": name, "params M": params, "GFLOPs/frame": gflops, "native px": str(px), "clips/s": clips_s,
            "peak RSS MB": rss, "peak GPU MB": gpu, "recipe": RECIPES.get(name, "pretrained, lr 1e-4")}


def encoder_main(args):
    rows = []
    for name in args.encoder_list:
        log(f"encoder {name}: batch {args.batch} x {args.frames} frames")
        rows.append(encoder_row(name, args))
    device = args.device
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"bench_train --encoders: {where}; torch {torch.__version__}; amp {args.amp}; batch {args.batch} clips x "
          f"{args.frames} frames at each encoder's native px; {args.steps} timed train step(s) after {args.warmup}; "
          f"load average {os.getloadavg()[0]:.1f}")
    cells = [[format_cell(c, row.get(c)) for c in ENCODER_COLUMNS] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(ENCODER_COLUMNS)]
    line = lambda values: "  ".join(v.ljust(w) if i in (0, 7) else v.rjust(w) for i, (v, w) in enumerate(zip(values, widths)))  # noqa: E731
    print("\n".join([line(ENCODER_COLUMNS), line(["-" * w for w in widths])] + [line(r) for r in cells]))
    return rows


def log(message):
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
