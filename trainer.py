"""The epoch loop: train_one_epoch, evaluate, and fit, which trains and hands each epoch to the
run writer (utils/run_writer.py: the run folder, its checkpoints and tables)."""
import time

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from datasets.loader import build_loader
from datasets.splits import class_weights
from utils.bad_samples import bad_sample_rows, check_bad_share
from utils.calibration import fit_temperature
from utils.checkpoint import load_checkpoint, load_model_weights, save_checkpoint, unwrap_model
from utils.device import autocast_for
from utils.distributed import (barrier, broadcast_buffers, broadcast_object, gather_objects, merge_shards,
                               uneven_inputs, wrap_model)
from utils.errors import UserError
from utils.metrics import DEFAULT_AGGREGATION, aggregate_per_video, metrics_by_group, video_metrics
from utils.optim import build_optimizer
from utils.resources import peak_gpu_mb, peak_rss_mb
from utils.run_state import RunState
from utils.run_writer import format_epoch, val_rows
from utils.schedule import LRPlan, set_lr
from utils.seeding import epoch_seed


TB_CLIPS_EVERY = 5  # epochs between the validation clips shown in TensorBoard


class NonFiniteLoss(UserError):
    pass


def check_finite(loss_sum, epoch, batch, amp):
    if not torch.isfinite(loss_sum):
        hint = "lower --lr" + (", or use --amp bf16 instead of fp16" if amp == "fp16" else ", or set --grad_clip 1")
        raise NonFiniteLoss(f"the training loss became {loss_sum.item()} by epoch {epoch + 1}, batch {batch}; "
                            f"the last good checkpoint is kept; {hint}")


def train_one_epoch(model, loader, optimizer, criterion, device, epoch, *, amp="none", scaler=None, plan=None,
                    base_lr=None, first_step=0, grad_clip=0.0, ema=None, log_interval=10, log=print, show_progress=True):
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
            if plan is not None:
                set_lr(optimizer, base_lr, plan.factor(first_step + steps))
            clips, labels = batch["clip"].to(device, non_blocking=True), batch["label"].to(device, non_blocking=True)
            with autocast_for(device, amp):
                logits = model(clips)
            loss = criterion(logits.float(), labels)
            optimizer.zero_grad(set_to_none=True)
            (scaler.scale(loss) if scaler else loss).backward()
            if scaler:
                scaler.unscale_(optimizer)
            if grad_clip > 0:  # the RNN's gradients can spike on small data
                torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            if scaler:
                scaler.step(optimizer)
                scaler.update()
            else:
                optimizer.step()
            if ema is not None:
                ema.update_parameters(unwrap_model(model))
            n = labels.numel()
            loss_sum += loss.detach().double() * n
            correct += (logits.argmax(1) == labels).sum()
            seen, steps = seen + n, steps + 1
            if batches % log_interval == 0:
                check_finite(loss_sum, epoch, batches, amp)
                elapsed = time.perf_counter() - started
                log(f"epoch {epoch + 1} batch {batches}/{len(loader)} loss {loss_sum.item() / seen:.4f} "
                    f"acc {correct.item() / seen:.3f} {seen / elapsed:.1f} clips/s "
                    f"data-wait {1000 * data_wait / batches:.0f} ms/step ({data_wait / elapsed:.0%})", write=tqdm.write)
            last = time.perf_counter()
    check_finite(loss_sum, epoch, batches, amp)  # also waits for the device, so `seconds` is the real time
    return dict(loss_sum=loss_sum.item(), correct=int(correct.item()), seen=seen, seconds=time.perf_counter() - started,
                data_wait=data_wait, bad=bad, steps=steps)


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


def evaluate(model, loader, device, dist_info, amp="none", kinds=None, loss_weight=None, show_progress=True):
    """Video-level validation metrics over the whole validation set (all ranks' shards).

    val_loss is the training loss (class-weighted the same way) on validation clips, so the two
    curves compare one quantity; val_log_loss is the plain video-level log loss.
    Returns (metrics, per-video predictions: video ids, labels, P(fake), and the clip logits).
    """
    out = merge_shards(gather_objects(collect_logits(model, loader, device, amp, show_progress), dist_info))
    metrics = dict(val_loss=float("nan"), n_val_clips=int(len(out["item"])))
    videos, probs, labels = np.array([], int), np.array([]), np.array([], int)
    if len(out["item"]):
        metrics["val_loss"] = F.cross_entropy(out["logits"], out["label"], weight=loss_weight).item()
        videos, probs = aggregate_per_video(out["video"].numpy(), out["logits"].numpy(), how=DEFAULT_AGGREGATION)
        first_label = dict(zip(out["video"].tolist(), out["label"].tolist()))
        labels = np.array([first_label[int(v)] for v in videos])
        vm = video_metrics(labels, probs)
        metrics.update({f"val_{k}": vm[k] for k in ("acc", "log_loss", "auc", "ap", "balanced_acc", "eer")})
        if kinds is not None:
            groups = [kinds[int(v)] for v in videos]
            metrics.update({f"val_auc_{k}": v for k, v in metrics_by_group(labels, probs, groups).items()})
    preds = dict(video=videos, label=labels, prob=probs, bad=out["bad"], clip_video=out["video"].numpy(),
                 clip_logits=out["logits"].numpy())
    return metrics, preds


def loss_weights(labels, mode):
    """prepare.py's class weights n / (2 n_c) of the training rows; None when balanced or off."""
    weights = class_weights(labels)
    if mode == "none" or weights[0] == weights[1] or 0.0 in weights:
        return None
    return torch.tensor(weights, dtype=torch.float32)


def fit(model, data, cfg, dist_info, device, writer=None, resume=None):
    """Train for cfg.train.epochs epochs, handing every epoch to `writer` (the main process's RunWriter).

    `resume`: the last.pth (a dict) to continue from. Returns the history rows.
    """
    tcfg, main = cfg.train, dist_info.is_main
    log = writer.log if writer else (lambda *a, **k: None)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # clip shapes are fixed: cuDNN picks its fastest kernels once
    model.to(device)
    if tcfg.channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(model, tcfg)
    scaler = torch.amp.GradScaler(device.type) if tcfg.amp == "fp16" else None
    pin = device.type == "cuda"
    train_loader = build_loader(data.train, cfg.data.batch_size, cfg.data.workers, True, cfg.run.seed, dist_info, pin)
    val_loader = build_loader(data.val, cfg.data.batch_size, cfg.data.workers, False, cfg.run.seed, dist_info, pin)
    plan = LRPlan.for_run(tcfg, len(train_loader))
    state = (RunState.restore(resume, model, optimizer, scaler, plan, tcfg.ema_decay, cfg.run.resume, log)
             if resume is not None else RunState.start(plan, model, tcfg.ema_decay))
    weight = loss_weights(data.train.labels, tcfg.class_weights)
    criterion = torch.nn.CrossEntropyLoss(weight=weight.to(device) if weight is not None else None)
    net, eval_net = wrap_model(model, tcfg.compile, dist_info, device)
    kinds = data.val.kinds()
    log(f"run folder {writer.dir if writer else ''}: {len(data.train)} training clips ({len(data.train.table)} videos), "
        f"{len(data.val)} validation clips ({len(data.val.table)} videos) on {device}"
        + (f" x {dist_info.world_size} processes" if dist_info.enabled else ""))

    preds, epoch = None, state.epoch
    try:
        for epoch in range(state.epoch, tcfg.epochs):
            torch.manual_seed(epoch_seed(cfg.run.seed, epoch))
            train_loader.sampler.set_epoch(epoch)
            lr = tcfg.lr * state.plan.factor(state.step)
            tr = train_one_epoch(net, train_loader, optimizer, criterion, device, epoch, amp=tcfg.amp, scaler=scaler,
                                 plan=state.plan, base_lr=tcfg.lr, first_step=state.step, grad_clip=tcfg.grad_clip,
                                 ema=state.ema, log_interval=cfg.run.log_interval, log=log, show_progress=main)
            totals = gather_objects({k: tr[k] for k in ("loss_sum", "correct", "seen", "bad", "steps")}, dist_info)
            seen, train_bad = sum(t["seen"] for t in totals), [b for t in totals for b in t["bad"]]
            state.bad_rows += bad_sample_rows(epoch, "train", train_bad)
            if writer:
                writer.write_bad_samples(state.bad_rows)  # before a stop, so that the message's file exists
            check_bad_share(train_bad, seen + len(train_bad), cfg.data.max_bad_fraction, "training")
            broadcast_buffers(model, dist_info)  # every rank evaluates the model that rank 0 saves
            metrics, preds = evaluate(eval_net, val_loader, device, dist_info, tcfg.amp, kinds, criterion.weight, main)
            weights_from = "model"
            if state.ema is not None:  # the average of the weights, when it validates better
                ema_metrics, ema_preds = evaluate(state.ema.module, val_loader, device, dist_info, tcfg.amp, kinds,
                                                  criterion.weight, main)
                if writer and writer.is_better(ema_metrics.get(tcfg.eval_metric), metrics.get(tcfg.eval_metric)):
                    metrics, preds, weights_from = ema_metrics, ema_preds, "ema"
            state.bad_rows += bad_sample_rows(epoch, "val", preds["bad"])
            if writer:
                writer.write_bad_samples(state.bad_rows)
            check_bad_share(preds["bad"], metrics["n_val_clips"] + len(preds["bad"]), cfg.data.max_bad_fraction, "validation")
            state.step += totals[0]["steps"]
            row = dict(epoch=epoch + 1, train_loss=sum(t["loss_sum"] for t in totals) / max(seen, 1),
                       train_acc=sum(t["correct"] for t in totals) / max(seen, 1), **metrics, lr=lr)
            if state.ema is not None:
                row["weights"] = weights_from
            state.history.append(row)
            state.timing.append(dict(epoch=epoch + 1, seconds=round(tr["seconds"], 3),
                                     train_clips_per_s=round(seen / tr["seconds"], 2),
                                     data_wait_share=round(tr["data_wait"] / tr["seconds"], 4),
                                     peak_rss_mb=round(peak_rss_mb(), 1), peak_gpu_mb=round(peak_gpu_mb(device), 1)))
            state.epoch = epoch + 1
            if writer:
                improved = writer.is_better(row.get(tcfg.eval_metric), state.best)
                if improved:
                    state.best = row[tcfg.eval_metric]
                weights = state.weights(model, weights_from)
                writer.save_epoch(epoch + 1, state.weights_checkpoint(weights, cfg, data.faces),
                                  state.resume_checkpoint(model, optimizer, scaler, cfg, data.faces), improved,
                                  state.history, state.timing, state.bad_rows, val_rows(data.val.names, preds))
                log(format_epoch(row, state.timing[-1], train_bad + preds["bad"]))
                if (epoch + 1) % TB_CLIPS_EVERY == 0 or epoch + 1 == tcfg.epochs:
                    writer.tensorboard.clips(epoch + 1, *data.val.sample_clips(preds))
            barrier(dist_info)
    except KeyboardInterrupt:
        if writer:
            log(f"interrupted in epoch {epoch + 1}; {writer.dir / 'last.pth'} holds epoch {writer.saved_epoch}. "
                f"Resume with: python train.py <same flags> --resume {writer.dir / 'last.pth'}")
        raise SystemExit(130) from None
    if state.history:
        finish(model, eval_net, val_loader, device, dist_info, cfg, kinds, criterion.weight, writer, state)
    return state.history


def finish(model, eval_net, val_loader, device, dist_info, cfg, kinds, loss_weight, writer, state):
    """Calibrate best.pth: fit a temperature on its validation videos, store it in best.pth, and
    write the final results (every rank evaluates: the validation shards are gathered)."""
    best = writer.dir / "best.pth" if writer else None
    saved = broadcast_object(load_checkpoint(best) if best and best.is_file() else None, dist_info)
    if saved is None:  # no epoch had a finite validation metric
        return
    load_model_weights(model, saved["model"], "best.pth")
    _, preds = evaluate(eval_net, val_loader, device, dist_info, cfg.train.amp, kinds, loss_weight, dist_info.is_main)
    if writer:
        calibration = fit_temperature(preds["clip_video"], preds["clip_logits"], preds["video"], preds["label"])
        save_checkpoint(writer.dir / "best.pth", dict(saved, calibration=calibration))  # its own file now, not a link
        writer.finish(state.history, preds, dict(calibration=calibration))
        writer.log(f"done: {writer.dir} (best validation {cfg.train.eval_metric} {state.best:.4f}; calibration: "
                   f"temperature {calibration['temperature']:.3f}, log loss {calibration['log_loss_before']:.4f} -> "
                   f"{calibration['log_loss_after']:.4f}, ECE {calibration['ece_before']:.3f} -> {calibration['ece_after']:.3f})")
