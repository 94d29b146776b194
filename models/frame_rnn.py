"""Frame encoder + RNN video classifier, and the frame-mean baseline on the same encoder.

    clips uint8/float 0..255 (B, T, 3, H, W)
      -> normalise (the encoder's own mean/std: ImageNet's, CLIP's, ...; on the device)
      -> encoder: trunk(s) over all B*T frames, per input mode          (B, T, F)
      -> proj: Linear to embed_dim, Dropout (no ReLU: see below)       (B, T, E)
      -> temporal "lstm"/"gru": RNN, pool over time, head on            (B, K)
         [pooled RNN output, pooled embedding] (a skip around the RNN)
         temporal "mean": head on every frame, mean over time            (B, K)

`encoder` + `proj` form the encoder of the two-stage recipe (models/encoder_init.py).
"""
import torch
from torch import nn

from .layers import freeze

TEMPORALS = ("lstm", "gru", "mean")
POOLINGS = ("last", "mean")


class FrameRNN(nn.Module):
    """`encoder` is a FrameEncoder (models/frame_encoder.py); the rest is built here."""

    def __init__(self, encoder, embed_dim=512, temporal="lstm", hidden_size=256, num_layers=1,
                 bidirectional=False, pooling="last", dropout=0.3, num_classes=2, freeze_backbone=False,
                 train_norm_only=False):
        super().__init__()
        # Scaled to 0..255 so the loader's uint8 needs only a float cast; not saved in checkpoints
        # (a rebuilt model gets them from its encoder's config again).
        # Shape (3, 1, 1) broadcasts over (B, T, 3, H, W) and, unlike a 5-D buffer, survives
        # model.to(memory_format=torch.channels_last).
        shape = (3, 1, 1)
        self.register_buffer("mean", torch.tensor(encoder.mean).view(shape) * 255, persistent=False)
        self.register_buffer("std", torch.tensor(encoder.std).view(shape) * 255, persistent=False)
        self.input_size = encoder.input_size  # (H, W) the encoder's weights were trained at
        self._norm = (tuple(encoder.mean), tuple(encoder.std))

        self.encoder = encoder
        # Linear, with no ReLU: the trunk's pooled features are already non-negative, and a ReLU
        # here died on the demo (a from-scratch trunk, lr 1e-3: 125 of 128 units never fired
        # again, the loss froze at ln 2). The RNN and the head bring the non-linearity.
        self.proj = nn.Sequential(nn.Linear(self.encoder.out_features, embed_dim), nn.Dropout(dropout))
        self.pooling = pooling
        if temporal == "mean":
            self.rnn = None  # per-frame logits averaged: the DFDC winners' frame baseline
            head_in = embed_dim
        else:
            rnn_cls = nn.LSTM if temporal == "lstm" else nn.GRU
            self.rnn = rnn_cls(embed_dim, hidden_size, num_layers, batch_first=True,
                               bidirectional=bidirectional,
                               dropout=dropout if num_layers > 1 else 0.0)
            # The head also sees the frame embeddings, past the RNN: per-frame evidence (a colour
            # mismatch) reaches it directly, as in the frame-mean model, while the RNN adds what
            # only the sequence shows. Without it the GRU learned the demo's colour fakes more
            # slowly (AUC 0.90 against 0.95 with it, same run otherwise; README, motion table).
            head_in = hidden_size * (2 if bidirectional else 1) + embed_dim
        self.head = nn.Linear(head_in, num_classes)

        # train_norm_only (GenD): only the norm layers' affine parameters train in the encoder.
        # Either way the encoder stays in eval mode: BatchNorm statistics estimated on ImageNet
        # would drift on small batches of near-identical frames of a few videos, and dropout /
        # drop-path would perturb frozen features; LayerNorm has no running statistics.
        self.freeze_backbone = freeze_backbone or train_norm_only
        if self.freeze_backbone:
            freeze(self.encoder, keep_norms=train_norm_only)
            self.encoder.eval()

    @property
    def data_config(self):
        """What the encoder expects: {"input_size": (3, H, W), "mean": (..), "std": (..)} on the
        0..1 scale, in timm's data-config shape."""
        return {"input_size": (3, *self.input_size), "mean": self._norm[0], "std": self._norm[1]}

    def train(self, mode=True):
        """A frozen backbone stays in eval mode, so its BatchNorm statistics never drift."""
        super().train(mode)
        if self.freeze_backbone:
            self.encoder.eval()
        return self

    def normalize(self, clips):
        return (clips.float() - self.mean) / self.std

    def embed(self, clips):
        """Per-step embeddings (B, T, embed_dim) of raw 0..255 clips."""
        return self.proj(self.encoder(self.normalize(clips)))

    def forward(self, clips, per_step=False):
        """Logits (B, K); with per_step=True, logits for every time step (B, T, K): the head on
        each frame (mean) or on each RNN output (bidirectional: forward and backward output at t)."""
        clip_logits, step_logits = self.scores(clips, steps=per_step)
        return step_logits if per_step else clip_logits

    def scores(self, clips, steps=True):
        """(clip logits (B, K), per-step logits (B, T, K) or None) from one pass of the encoder:
        evaluate.py reports video- and frame-level figures without running the model twice."""
        embedded = self.embed(clips)
        if self.rnn is None:
            frame_logits = self.head(embedded)
            return frame_logits.mean(dim=1), frame_logits
        outputs, _ = self.rnn(embedded)
        skip = embedded.mean(dim=1) if self.pooling == "mean" else embedded[:, -1]  # pooled like the RNN
        clip_logits = self.head(torch.cat([self._pool(outputs), skip], dim=-1))
        return clip_logits, (self.head(torch.cat([outputs, embedded], dim=-1)) if steps else None)

    def _pool(self, outputs):
        if self.pooling == "mean":
            return outputs.mean(dim=1)
        if not self.rnn.bidirectional:
            return outputs[:, -1]
        # The backward direction has read the whole clip at step 0, the forward one at step T-1:
        # "last" takes each direction's final state (like h_n), not step T-1 of both.
        hidden = self.rnn.hidden_size
        return torch.cat([outputs[:, -1, :hidden], outputs[:, 0, hidden:]], dim=-1)
