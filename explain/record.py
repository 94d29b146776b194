"""One scored video as the report sees it: its score, why it has it, and what the model looked at."""
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np


@dataclass
class VideoRecord:
    """A video for the report. A fallback video has a reason and no windows.

    clips, window_probs, frame_indices and boxes describe the same windows, in the same order:
    clips uint8 (W, T, S, S, 3) RGB as the model saw them; window_probs (W,) P(fake) per window;
    frame_indices (W, T) the source frame of each step; boxes (W, T, 4) the face crop region in
    source pixels (x1, y1, x2, y2). source is the video file: the report decodes one frame per
    shown window from it, only when it is made.
    """
    name: str
    prob: float                          # P(fake) of the video, as in the submission
    reason: str = ""                     # "" when scored, else why the fallback was used
    label: Optional[int] = None          # 1 = FAKE, 0 = REAL, None = unknown
    face_rate: Optional[float] = None    # share of detector frames with the face; None if not scored
    window_probs: Optional[np.ndarray] = None
    frame_indices: Optional[np.ndarray] = None
    clips: Optional[np.ndarray] = None
    boxes: Optional[np.ndarray] = None
    source: Optional[Path] = None

    @property
    def scored(self):
        return not self.reason and self.clips is not None and len(self.clips) > 0

    @classmethod
    def from_windows(cls, name, prob, windows, window_logits, source=None, label=None):
        """From datasets.preparation.video_windows' result and the clips' (W, 2) logits."""
        logits = np.asarray(window_logits, dtype=np.float64)
        probs = 1.0 / (1.0 + np.exp(logits[:, 0] - logits[:, 1]))  # softmax P(fake) of two logits
        return cls(name=name, prob=float(prob), label=label, face_rate=float(windows.face_rate),
                   window_probs=probs, frame_indices=np.asarray(windows.frame_indices),
                   clips=np.asarray(windows.clips), boxes=np.asarray(windows.boxes),
                   source=None if source is None else Path(source))

    @classmethod
    def fallback(cls, name, prob, reason, source=None, label=None):
        """A video scored with the fallback: its page shows the reason instead of heatmaps."""
        return cls(name=name, prob=float(prob), reason=reason or "error", label=label,
                   source=None if source is None else Path(source))

    def top_windows(self, k):
        """Indices of the k windows with the highest P(fake): the ones that drove the score."""
        if not self.scored:
            return []
        return [int(i) for i in np.argsort(-np.asarray(self.window_probs), kind="stable")[:k]]
