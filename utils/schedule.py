"""The learning rate of every optimiser step: linear warmup, then cosine (or step decay, or flat).

The plan is plain values, saved in last.pth. A resumed run that asks for more epochs extends it:
the cosine continues from the learning rate reached so far down to zero at the new end, so the
rate never rises again (as a per-epoch cosine with the old T_max would).
"""
import math
from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True)
class LRPlan:
    kind: str  # cosine | step | none
    total_steps: int
    warmup_steps: int = 0
    steps_per_epoch: int = 1
    step_size: int = 10  # epochs between decays (kind "step")
    gamma: float = 0.1
    restart_step: int = 0  # where an extended cosine starts again, from restart_factor
    restart_factor: float = 1.0

    @classmethod
    def for_run(cls, train_cfg, steps_per_epoch):
        steps_per_epoch = max(int(steps_per_epoch), 1)
        return cls(kind=train_cfg.scheduler, total_steps=train_cfg.epochs * steps_per_epoch,
                   warmup_steps=int(round(train_cfg.warmup_epochs * steps_per_epoch)),
                   steps_per_epoch=steps_per_epoch, step_size=train_cfg.step_size, gamma=train_cfg.gamma)

    def factor(self, step):
        """The multiplier of the base learning rate at optimiser step `step` (0-based)."""
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        if self.kind == "none":
            return 1.0
        if self.kind == "step":
            return self.gamma ** ((step // self.steps_per_epoch) // self.step_size)
        start = max(self.warmup_steps, self.restart_step)
        progress = min(max(step - start, 0) / max(self.total_steps - start, 1), 1.0)
        return self.restart_factor * 0.5 * (1.0 + math.cos(math.pi * progress))

    def extended(self, total_steps, at_step):
        """The same plan run to `total_steps`, continuing smoothly from step `at_step`."""
        if total_steps == self.total_steps:
            return self
        at_step = max(at_step, self.warmup_steps)
        return replace(self, total_steps=total_steps, restart_step=at_step, restart_factor=self.factor(at_step))

    def to_dict(self):
        return asdict(self)


def set_lr(optimizer, base_lr, factor):
    for group in optimizer.param_groups:
        group["lr"] = base_lr * factor
