"""The epoch loop: train_one_epoch, evaluate, and fit, which checkpoints and logs every epoch.

Everything a run writes goes to checkpoints/<run>/: args.json, metrics.csv (deterministic
figures only, so that the same seed gives the same file bit for bit), timing.csv (seconds,
clips/s, data wait, peak memory), bad_samples.csv, log.txt, curves.png, epoch_<N>.pth
(weights), last.pth (weights and optimizer state, for --resume), best.pth (the epoch with the
lowest validation log loss), and at the end results.json, roc.png,
scores.png and val_predictions.csv.
"""
import math
import time
from collections import Counter
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from datasets.loader import build_loader
from datasets.splits import class_weights
from models import model_config
from utils.atomic import link_atomic
from utils.checkpoint import load_checkpoint, load_model_weights, save_checkpoint, unwrap_model
from utils.distributed import barrier, broadcast_buffers, gather_objects, resolve_amp, resolve_device, uneven_inputs
from utils.errors import UserError
from utils.metrics import DEFAULT_AGGREGATION, aggregate_per_video, metrics_by_group, video_metrics
from utils.plots import plot_curves, plot_roc, plot_score_hist
from utils.resources import peak_gpu_mb, peak_rss_mb
from utils.run_writer import RunLog, open_run_dir, write_json, write_table
from utils.seeding import epoch_seed

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


class NonFiniteLoss(UserError):
    pass


class TooManyBadSamples(UserError):
    pass


def autocast_for(device, amp):
    if amp == "none":
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=AMP_DTYPES[amp])


def to_device(batch, device):
    clips = batch["clip"].to(device, non_blocking=True)
    return clips, batch["label"].to(device, non_blocking=True)


def check_finite(loss_sum, epoch, batch):
    if not torch.isfinite(loss_sum):
        raise NonFiniteLoss(f"the training loss became {loss_sum.item()} by epoch {epoch + 1}, batch {batch}; "
                            f"the last good checkpoint is kept; lower --lr, or use --amp bf16 instead of fp16")


def train_one_epoch(model, loader, optimizer, criterion, device, epoch, *, amp="none", scaler=None,
                    log_interval=10, log=print, show_progress=True):
    """One pass over the training loader; returns loss, accuracy, throughput and bad samples.

    Loss and accuracy add up on the device and are read (a host-device sync) only at log lines
    and at the end, so the CPU queues the next step while the GPU still runs this one.
    """
    model.train()
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    seen, steps, batches, bad, data_wait = 0, 0, 0, [], 0.0
    started = last = time.perf_counter()
    bar = tqdm(loader, desc=f"epoch {epoch + 1} train", leave=False, disable=not show_progress)
    with uneven_inputs(model):  # under DDP, a rank that skips an all-bad batch must not hang the others
        for batches, batch in enumerate(bar, start=1):
            data_wait += time.perf_counter() - last
            bad.extend(batch["bad"])
            if batch["clip"].numel() == 0:
                last = time.perf_counter()
                continue
            clips, labels = to_device(batch, device)
            with autocast_for(device, amp):
                logits = model(clips)
            loss = criterion(logits.float(), labels)
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            else:
                loss.backward()
                optimizer.step()
            n = labels.numel()
            loss_sum += loss.detach().double() * n
            correct += (logits.argmax(1) == labels).sum()
            seen += n
            steps += 1
            if batches % log_interval == 0:
                check_finite(loss_sum, epoch, batches)
                elapsed = time.perf_counter() - started
                log(f"epoch {epoch + 1} batch {batches}/{len(loader)} loss {loss_sum.item() / seen:.4f} "
                    f"acc {correct.item() / seen:.3f} {seen / elapsed:.1f} clips/s "
                    f"data-wait {1000 * data_wait / batches:.0f} ms/step ({data_wait / elapsed:.0%})", write=tqdm.write)
            last = time.perf_counter()
    check_finite(loss_sum, epoch, batches)  # also waits for the device, so `seconds` is the real time
    seconds = time.perf_counter() - started
    return dict(loss_sum=loss_sum.item(), correct=int(correct.item()), seen=seen, seconds=seconds, data_wait=data_wait,
                bad=bad, steps=steps)


@torch.no_grad()
def collect_logits(model, loader, device, amp="none", show_progress=True, desc="validate"):
    """Logits of every item in this rank's shard, with their video and item indices."""
    model.eval()
    items, videos, labels, logits, bad = [], [], [], [], []
    for batch in tqdm(loader, desc=desc, leave=False, disable=not show_progress):
        bad.extend(batch["bad"])
        if batch["clip"].numel() == 0:
            continue
        with autocast_for(device, amp):
            out = model(batch["clip"].to(device, non_blocking=True))
        logits.append(out.float())  # stays on the device: one copy to the host after the loop
        items.append(batch["item"])
        videos.append(batch["video"])
        labels.append(batch["label"])
    cat = lambda xs, shape: torch.cat(xs).cpu() if xs else torch.empty(shape)  # noqa: E731
    return dict(item=cat(items, (0,)).long(), video=cat(videos, (0,)).long(), label=cat(labels, (0,)).long(),
                logits=cat(logits, (0, 2)), bad=bad)


def merge_shards(shards):
    """Join the ranks' outputs and drop the sampler's padded repeats (same item index)."""
    item = torch.cat([s["item"] for s in shards])
    _, first = np.unique(item.numpy(), return_index=True)
    keep = torch.from_numpy(np.sort(first))
    merged = {k: torch.cat([s[k] for s in shards])[keep] for k in ("item", "video", "label", "logits")}
    merged["bad"] = sorted({b for s in shards for b in s["bad"]})
    return merged


def evaluate(model, loader, device, dist_info, amp="none", kinds=None, show_progress=True):
    """Video-level validation metrics over the whole validation set (all ranks' shards).

    Returns (metrics dict, per-video predictions dict with video ids, labels and P(fake)).
    """
    shard = collect_logits(model, loader, device, amp, show_progress)
    out = merge_shards(gather_objects(shard, dist_info))
    metrics = dict(val_loss=float("nan"), n_val_clips=int(len(out["item"])))
    videos, probs, labels = np.array([], int), np.array([]), np.array([], int)
    if len(out["item"]):
        metrics["val_loss"] = F.cross_entropy(out["logits"], out["label"]).item()
        videos, probs = aggregate_per_video(out["video"].numpy(), out["logits"].numpy(), how=DEFAULT_AGGREGATION)
        first_label = {int(v): int(lab) for v, lab in zip(out["video"].tolist(), out["label"].tolist())}
        labels = np.array([first_label[int(v)] for v in videos])
        vm = video_metrics(labels, probs)
        metrics.update({f"val_{k}": vm[k] for k in ("acc", "log_loss", "auc", "ap", "balanced_acc", "eer")})
        if kinds is not None:
            groups = [kinds[int(v)] for v in videos]
            metrics.update({f"val_auc_{k}": v for k, v in metrics_by_group(labels, probs, groups).items()})
    preds = dict(video=videos, label=labels, prob=probs, bad=out["bad"])
    return metrics, preds


def build_optimizer(model, args):
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)
    if args.scheduler == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    elif args.scheduler == "step":
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=args.step_size, gamma=args.gamma)
    else:
        scheduler = None
    return optimizer, scheduler


def loss_weights(labels, mode):
    """prepare.py's class weights n / (2 n_c) of the training rows; None when balanced or off."""
    weights = class_weights(labels)
    if mode == "none" or weights[0] == weights[1] or 0.0 in weights:
        return None
    return torch.tensor(weights, dtype=torch.float32)


def bad_sample_rows(epoch, split, bad):
    return [dict(epoch=epoch + 1, split=split, name=name, reason=reason) for name, reason in bad]


def check_bad_share(bad, total, limit, split):
    if total and len(bad) / total > limit:
        reasons = Counter(r for _, r in bad)
        raise TooManyBadSamples(f"{len(bad)} of {total} {split} samples are unusable ({dict(reasons)}); fix the data "
                                f"(see bad_samples.csv) or raise --max_bad_fraction above {limit}")


def fit(model, data, args, dist_info):
    """Train for args.epochs epochs, with a checkpoint and metrics after every epoch."""
    device = resolve_device(args.device, dist_info)
    args.amp = resolve_amp(args.amp, device)  # args.json records what ran
    if args.amp == "fp16" and device.type != "cuda":  # before the run folder is made
        raise UserError("--amp fp16 needs a GPU; use --amp bf16 on the CPU")
    main = dist_info.is_main
    run_dir = open_run_dir(args.save_model_path, args.run_name, args.resume is not None) if main else None
    barrier(dist_info)
    if run_dir is None:
        run_dir = Path(args.save_model_path) / args.run_name
    log = RunLog(run_dir / "log.txt", enabled=main)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # clip shapes are fixed: cuDNN picks its fastest kernels once

    model.to(device)
    if args.channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer, scheduler = build_optimizer(model, args)
    scaler = torch.amp.GradScaler(device.type) if args.amp == "fp16" else None
    start_epoch, history, timing, bad_rows, best = 0, [], [], [], math.inf
    if args.resume:
        state = load_checkpoint(args.resume, map_location=device)
        load_model_weights(model, state["model"], args.resume)
        if "optimizer" not in state:
            raise UserError(f"{args.resume} holds weights only (no optimizer state); resume from the run's last.pth")
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state.get("scheduler"):
            scheduler.load_state_dict(state["scheduler"])
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        start_epoch, best = int(state["epoch"]), float(state["best_metric"])
        history, timing, bad_rows = list(state["history"]), list(state.get("timing", [])), list(state.get("bad_samples", []))
        log(f"resumed from {args.resume} after epoch {start_epoch}")
    if main:
        write_json(run_dir / "args.json", vars(args))

    net, eval_net = wrap_model(model, args.compile, dist_info, device)
    pin = device.type == "cuda"
    train_loader = build_loader(data.train, args.batch_size, args.workers, True, args.seed, dist_info, pin)
    val_loader = build_loader(data.val, args.batch_size, args.workers, False, args.seed, dist_info, pin)
    weights = loss_weights(data.train.labels, args.class_weights)
    criterion = torch.nn.CrossEntropyLoss(weight=weights.to(device) if weights is not None else None)
    kinds = data.val.table["fake_kind"].fillna("").tolist() if "fake_kind" in data.val.table.columns else None
    log(f"run folder {run_dir}: {len(data.train)} training clips, {len(data.val)} validation clips "
        f"({len(data.val.table)} videos) on {device}" + (f" x {dist_info.world_size} processes" if dist_info.enabled else ""))

    def checkpoint_state(epoch):
        weights = dict(model=unwrap_model(model).state_dict(), epoch=epoch, best_metric=best, args=vars(args),
                       model_config=model_config(args), data_config=data.config, metrics=history[-1])
        resume = dict(weights, optimizer=optimizer.state_dict(), scheduler=scheduler.state_dict() if scheduler else None,
                      scaler=scaler.state_dict() if scaler else None, history=history, timing=timing,
                      bad_samples=bad_rows, rng=dict(torch=torch.get_rng_state()))
        return weights, resume

    preds = None
    epoch = start_epoch
    try:
        for epoch in range(start_epoch, args.epochs):
            torch.manual_seed(epoch_seed(args.seed, epoch))
            train_loader.sampler.set_epoch(epoch)
            lr = optimizer.param_groups[0]["lr"]
            tr = train_one_epoch(net, train_loader, optimizer, criterion, device, epoch, amp=args.amp, scaler=scaler,
                                 log_interval=args.log_interval, log=log, show_progress=main)
            tr_totals = gather_objects({k: tr[k] for k in ("loss_sum", "correct", "seen", "bad")}, dist_info)
            seen = sum(t["seen"] for t in tr_totals)
            train_bad = [b for t in tr_totals for b in t["bad"]]
            check_bad_share(train_bad, seen + len(train_bad), args.max_bad_fraction, "training")
            broadcast_buffers(model, dist_info)  # every rank evaluates the model that rank 0 saves
            metrics, preds = evaluate(eval_net, val_loader, device, dist_info, amp=args.amp, kinds=kinds, show_progress=main)
            check_bad_share(preds["bad"], metrics["n_val_clips"] + len(preds["bad"]), args.max_bad_fraction, "validation")
            if scheduler is not None:
                scheduler.step()
            row = dict(epoch=epoch + 1, train_loss=sum(t["loss_sum"] for t in tr_totals) / max(seen, 1),
                       train_acc=sum(t["correct"] for t in tr_totals) / max(seen, 1), **metrics, lr=lr)
            history.append(row)
            timing.append(dict(epoch=epoch + 1, seconds=round(tr["seconds"], 3), train_clips_per_s=round(seen / tr["seconds"], 2),
                               data_wait_share=round(tr["data_wait"] / tr["seconds"], 4), peak_rss_mb=round(peak_rss_mb(), 1),
                               peak_gpu_mb=round(peak_gpu_mb(device), 1)))
            bad_rows += bad_sample_rows(epoch, "train", train_bad) + bad_sample_rows(epoch, "val", preds["bad"])
            improved = main and row.get("val_log_loss", math.inf) < best
            if improved:
                best = row["val_log_loss"]
            if main:
                try:
                    write_epoch_outputs(run_dir, *checkpoint_state(epoch + 1), epoch, improved, history, timing, bad_rows, preds, data.val)
                except OSError as err:  # a full disk: the files already there are intact (atomic writes)
                    raise UserError(f"cannot write epoch {epoch + 1}'s checkpoint and tables to {run_dir} ({err.strerror or err}); "
                                    f"free some space, then continue with --resume {run_dir / 'last.pth'}") from None
                log(format_epoch(row, timing[-1], train_bad, preds["bad"]))
            barrier(dist_info)
    except KeyboardInterrupt:
        if main:
            done = history[-1]["epoch"] if history else 0
            log(f"interrupted in epoch {epoch + 1}; {run_dir / 'last.pth'} holds epoch {done}. "
                f"Resume with: python train.py <same flags> --resume {run_dir / 'last.pth'}")
        raise SystemExit(130) from None
    if main and history:
        write_final_outputs(run_dir, history, preds)
        log(f"done: {run_dir} (best validation log loss {best:.4f})")
    return history


def wrap_model(model, compile_model, dist_info, device):
    """(training module, evaluation module) around `model`.

    DDP wraps before torch.compile, so that compile splits the graph at DDP's gradient buckets and
    the all-reduce overlaps the backward pass. Evaluation runs the bare (compiled) model: it needs
    no collective, so a rank whose validation batch is empty cannot stall the others.
    """
    net = model
    if dist_info.enabled:
        from torch.nn.parallel import DistributedDataParallel
        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if not compile_model:
        return net, model
    compiled = torch.compile(net)
    return compiled, (torch.compile(model) if dist_info.enabled else compiled)


def write_epoch_outputs(run_dir, weights, resume, epoch, improved, history, timing, bad_rows, preds, val_data):
    """Checkpoints first, then the tables: metrics.csv never runs ahead of last.pth.

    Only last.pth carries the optimizer state (three times the weights' size with Adam); the epoch
    files hold the weights, and best.pth is a hard link to the best epoch's file, so a long run's
    checkpoints cost one set of weights per epoch.
    """
    save_checkpoint(run_dir / "last.pth", resume)
    epoch_file = run_dir / f"epoch_{epoch + 1}.pth"
    save_checkpoint(epoch_file, weights)
    if improved:
        link_atomic(epoch_file, run_dir / "best.pth")
        names = val_data.table["name"].to_numpy()
        write_table(run_dir / "val_predictions.csv", [dict(name=names[v], label=int(lab), prob_fake=float(p))
                                                      for v, lab, p in zip(preds["video"], preds["label"], preds["prob"])])
    write_table(run_dir / "metrics.csv", history)
    write_table(run_dir / "timing.csv", timing)
    if bad_rows:
        write_table(run_dir / "bad_samples.csv", bad_rows)
    plot_curves(history, run_dir / "curves.png")


def write_final_outputs(run_dir, history, preds):
    best = min(history, key=lambda r: r.get("val_log_loss", math.inf))
    write_json(run_dir / "results.json", dict(final=history[-1], best=best))
    if preds is not None and len(preds["label"]):
        plot_roc(preds["label"], preds["prob"], run_dir / "roc.png")
        plot_score_hist(preds["label"], preds["prob"], run_dir / "scores.png")


def format_epoch(row, timing, train_bad, val_bad):
    text = (f"epoch {row['epoch']}: train loss {row['train_loss']:.4f} acc {row['train_acc']:.3f} | "
            f"val loss {row['val_loss']:.4f} acc {row.get('val_acc', float('nan')):.3f} "
            f"log loss {row.get('val_log_loss', float('nan')):.4f} AUC {row.get('val_auc', float('nan')):.3f} | "
            f"{timing['seconds']:.1f}s {timing['train_clips_per_s']:.1f} clips/s data-wait {timing['data_wait_share']:.0%} "
            f"peak RSS {timing['peak_rss_mb']:.0f} MB")
    if not math.isnan(timing["peak_gpu_mb"]):
        text += f" GPU {timing['peak_gpu_mb']:.0f} MB"
    if train_bad or val_bad:
        reasons = Counter(r for _, r in train_bad + val_bad)
        text += f" | skipped {len(train_bad) + len(val_bad)} bad samples {dict(reasons)} (bad_samples.csv)"
    return text
