"""The run folder, checkpoints/<run>/, and everything written into it (in the style of timm's
CheckpointSaver):

  config.yaml          the resolved settings (python train.py --config <run>/config.yaml repeats the run)
  metrics.csv          one row per epoch, deterministic figures only (the same seed gives the same file)
  timing.csv           seconds, clips/s, data wait, peak memory per epoch
  log.txt              the lines printed
  curves.png           losses and metrics against epoch
  last.pth             weights + optimizer state: what --resume continues
  epoch_<N>.pth        weights of epoch N; the --keep_epochs most recent are kept (0: all)
  best.pth             the epoch with the best --eval_metric on validation (a hard link)
  val_predictions.csv  P(fake) per validation video of the best epoch
  bad_samples.csv      samples that could not be used, with their reason
  results.json, roc.png, scores.png   at the end
  tensorboard/         event files (tensorboard --logdir checkpoints/)

Tables are rewritten whole and atomically from the in-memory history after each epoch, so a
crash leaves either the old or the new file, and a resumed run has no gaps and no duplicates.
While a run writes, it holds a lock on the folder: a second run of the same name is refused.
"""
import csv
import fcntl
import io
import json
import math
import os
import re
from pathlib import Path

from utils.atomic import link_atomic, remove_temp_files, write_text_atomic
from utils.bad_samples import describe
from utils.checkpoint import save_checkpoint
from utils.errors import UserError
from utils.plots import plot_curves, plot_roc, plot_score_hist
from utils.tensorboard_log import TensorBoardLog

LOCK = ".lock"


def write_json(path, obj):
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def _cell(value):
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)  # repr keeps every bit of a float
    return value


def write_table(path, rows):
    """Write dict rows as CSV; columns are the union of the rows' keys, in first-seen order."""
    columns = list(dict.fromkeys(k for row in rows for k in row))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k, "")) for k in columns})
    write_text_atomic(path, buf.getvalue())


class RunLog:
    """Prints on the main process and keeps the same lines in log.txt."""

    def __init__(self, path=None, enabled=True):
        self.path = Path(path) if path else None
        self.enabled = enabled

    def __call__(self, message, write=print):
        if not self.enabled:
            return
        write(message)
        if self.path:
            with open(self.path, "a") as fh:
                fh.write(message + "\n")


def lock_run_dir(run_dir):
    """An exclusive lock on the run folder for this process's lifetime; None if another run holds it."""
    handle = open(run_dir / LOCK, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


class RunWriter:
    """Owns one run folder: its lock, its checkpoints and its tables. Only the main process has one."""

    def __init__(self, save_root, run_name, resuming, eval_metric="val_log_loss", higher_is_better=False,
                 keep_epochs=2, tensorboard=True):
        self.dir = Path(save_root) / run_name
        if (self.dir / "metrics.csv").exists() and not resuming:
            raise UserError(f"{self.dir} already holds a run; pass --resume {self.dir / 'last.pth'} or another --run_name")
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._lock = lock_run_dir(self.dir)
        except OSError as err:
            raise UserError(f"cannot write to {self.dir} ({err.strerror or err}); choose another --save_model_path") from None
        if self._lock is None:
            raise UserError(f"{self.dir} is in use by another training run right now; wait for it, or pass another --run_name")
        remove_temp_files(self.dir)  # a write killed mid-way (SIGKILL) left it; never read
        self.log = RunLog(self.dir / "log.txt")
        self.eval_metric, self.higher_is_better, self.keep_epochs = eval_metric, higher_is_better, keep_epochs
        self.saved_epoch = 0  # what last.pth holds, as far as this process knows
        self.tensorboard = TensorBoardLog(self.dir / "tensorboard", enabled=tensorboard)

    def close(self):
        self.tensorboard.close()
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def is_better(self, value, best):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        if best is None:
            return True
        return value > best if self.higher_is_better else value < best

    def write_config(self, config_dict):
        import yaml
        write_text_atomic(self.dir / "config.yaml", yaml.safe_dump(config_dict, sort_keys=False))

    def save_epoch(self, epoch, weights, resume, improved, history, timing, bad_rows, val_rows):
        """Checkpoints first, then the tables: metrics.csv never runs ahead of last.pth.

        Only last.pth carries the optimizer state (twice the weights' size with Adam); epoch files
        hold the weights, best.pth is a hard link to the best epoch's file, and only the
        `keep_epochs` most recent epoch files stay (best.pth keeps its own link).
        """
        try:
            save_checkpoint(self.dir / "last.pth", resume)
            self.saved_epoch = epoch
            epoch_file = self.dir / f"epoch_{epoch}.pth"
            save_checkpoint(epoch_file, weights)
            if improved:
                link_atomic(epoch_file, self.dir / "best.pth")
                write_table(self.dir / "val_predictions.csv", val_rows)
            self._prune(epoch)
            write_table(self.dir / "metrics.csv", history)
            write_table(self.dir / "timing.csv", timing)
            self.write_bad_samples(bad_rows)
            plot_curves(history, self.dir / "curves.png")
            self.tensorboard.epoch(epoch, history[-1], timing[-1], curves=self.dir / "curves.png")
        except OSError as err:  # a full disk: the files already there are intact (atomic writes)
            raise UserError(f"cannot write epoch {epoch}'s checkpoint and tables to {self.dir} ({err.strerror or err}); "
                            f"free some space, then continue with --resume {self.dir / 'last.pth'}") from None

    def write_bad_samples(self, bad_rows):
        if bad_rows:
            write_table(self.dir / "bad_samples.csv", bad_rows)

    def _prune(self, epoch):
        if self.keep_epochs <= 0:
            return
        for path in self.dir.glob("epoch_*.pth"):
            match = re.fullmatch(r"epoch_(\d+)\.pth", path.name)
            if match and int(match.group(1)) <= epoch - self.keep_epochs:
                path.unlink(missing_ok=True)  # best.pth is its own link: its weights stay

    def finish(self, history, preds, extra=None):
        best = _best_row(history, self.eval_metric, self.higher_is_better)
        write_json(self.dir / "results.json", dict(final=history[-1], best=best, eval_metric=self.eval_metric, **(extra or {})))
        if preds is not None and len(preds["label"]):
            plot_roc(preds["label"], preds["prob"], self.dir / "roc.png")
            plot_score_hist(preds["label"], preds["prob"], self.dir / "scores.png")


def _best_row(history, metric, higher_is_better):
    scored = [r for r in history if isinstance(r.get(metric), float) and not math.isnan(r[metric])]
    if not scored:
        return history[-1]
    return (max if higher_is_better else min)(scored, key=lambda r: r[metric])


def val_rows(names, preds):
    """val_predictions.csv's rows: P(fake) per validation video."""
    return [dict(name=names[v], label=int(lab), prob_fake=float(p))
            for v, lab, p in zip(preds["video"], preds["label"], preds["prob"])]


def format_epoch(row, timing, bad):
    text = (f"epoch {row['epoch']}: train loss {row['train_loss']:.4f} acc {row['train_acc']:.3f} | "
            f"val loss {row['val_loss']:.4f} acc {row.get('val_acc', float('nan')):.3f} "
            f"log loss {row.get('val_log_loss', float('nan')):.4f} AUC {row.get('val_auc', float('nan')):.3f} | "
            f"{timing['seconds']:.1f}s {timing['train_clips_per_s']:.1f} clips/s data-wait {timing['data_wait_share']:.0%} "
            f"peak RSS {timing['peak_rss_mb']:.0f} MB")
    if not math.isnan(timing["peak_gpu_mb"]):
        text += f" GPU {timing['peak_gpu_mb']:.0f} MB"
    return text + describe(bad)
