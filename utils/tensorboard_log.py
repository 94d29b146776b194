"""TensorBoard logging of a training run (torch.utils.tensorboard), into the run folder.

    tb = TensorBoardLog(run_dir, enabled=is_main_process)
    tb.epoch(epoch, row, timing, curves=run_dir / "curves.png")    # after each epoch
    tb.clips(epoch, clips, probs, labels, names)                    # every N epochs: val clips
    tb.close()

Disabled (another rank, or --tensorboard False), every call does nothing. Without the tensorboard
package, one warning line, then nothing: training never depends on it. View with
`tensorboard --logdir checkpoints/`.
"""
import math
import numbers
import warnings
from pathlib import Path

import numpy as np

SCALAR_GROUPS = (("train_", "train/"), ("val_", "val/"))  # metrics.csv column prefix -> TensorBoard tag prefix
TIMING_KEYS = ("seconds", "train_clips_per_s", "data_wait_share", "peak_rss_mb", "peak_gpu_mb")


def _writer(run_dir):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as err:  # torch's module imports the tensorboard package
        warnings.warn(f"TensorBoard logging off: {err} (pip install tensorboard)", stacklevel=3)
        return None
    return SummaryWriter(log_dir=str(run_dir))


def scalar_tag(key):
    """metrics.csv column -> tag: train_loss -> train/loss, val_auc -> val/auc, lr -> train/lr."""
    for prefix, group in SCALAR_GROUPS:
        if key.startswith(prefix):
            return group + key[len(prefix):]
    return "train/lr" if key == "lr" else f"other/{key}"


def _finite_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))


class TensorBoardLog:
    def __init__(self, run_dir, enabled=True):
        self.writer = _writer(Path(run_dir)) if enabled else None

    @property
    def enabled(self):
        return self.writer is not None

    def epoch(self, epoch, row, timing=None, curves=None):
        """Scalars of one epoch (metrics.csv's row, timing.csv's row) and curves.png as an image.

        epoch: 1-based, as in metrics.csv. NaN figures (AUC of one class, no GPU) are left out.
        """
        if not self.enabled:
            return
        for key, value in row.items():
            if key != "epoch" and _finite_number(value):
                self.writer.add_scalar(scalar_tag(key), float(value), epoch)
        for key in TIMING_KEYS:
            value = (timing or {}).get(key)
            if _finite_number(value):
                self.writer.add_scalar(f"speed/{key}", float(value), epoch)
        if curves is not None and Path(curves).is_file():
            import matplotlib.image  # the PNG plot_curves wrote: no second rendering
            picture = matplotlib.image.imread(str(curves))[..., :3]
            self.writer.add_image("curves", picture, epoch, dataformats="HWC")
        self.writer.flush()

    def clips(self, epoch, clips, probs, labels=None, names=None, max_clips=4, max_frames=4):
        """A few validation clips as image grids, one tag each, P(fake) in the tag and caption.

        clips: uint8 (N, T, H, W, 3) or (N, T, 3, H, W); probs: P(fake) per clip.
        """
        if not self.enabled:
            return
        clips = np.asarray(clips)
        if clips.shape[-1] != 3:
            clips = clips.transpose(0, 1, 3, 4, 2)
        for i in range(min(len(clips), max_clips)):
            frames = clips[i, :max_frames]
            grid = np.concatenate(list(frames), axis=1)  # the frames side by side, in time order
            truth = "" if labels is None else f" {'FAKE' if int(labels[i]) else 'REAL'}"
            name = f"{names[i]}" if names is not None else f"clip {i}"
            self.writer.add_image(f"val_clips/{i}", grid, epoch, dataformats="HWC")
            self.writer.add_text(f"val_clips/{i}", f"{name}{truth}: P(fake) {float(probs[i]):.3f}", epoch)
        self.writer.flush()

    def close(self):
        if self.enabled:
            self.writer.close()
            self.writer = None
