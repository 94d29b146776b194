"""Where a run stands (epoch, optimiser step, learning-rate plan, history, best metric, EMA), and
the checkpoints that save and restore it: a resumed run repeats an uninterrupted one exactly."""
from dataclasses import dataclass, field

import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from utils.checkpoint import load_model_weights, unwrap_model
from utils.errors import UserError
from utils.schedule import LRPlan


def make_ema(model, decay):
    """An exponential moving average of the weights (and BatchNorm buffers), or None when decay is 0."""
    if not decay:
        return None
    return AveragedModel(unwrap_model(model), multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


@dataclass
class RunState:
    plan: LRPlan
    epoch: int = 0  # epochs done
    step: int = 0  # optimiser steps done
    best: float = None
    history: list = field(default_factory=list)
    timing: list = field(default_factory=list)
    bad_rows: list = field(default_factory=list)
    ema: object = None

    @classmethod
    def start(cls, plan, model, ema_decay):
        return cls(plan=plan, ema=make_ema(model, ema_decay))

    def weights(self, model, source="model"):
        return (self.ema.module if source == "ema" else unwrap_model(model)).state_dict()

    def weights_checkpoint(self, weights, cfg, faces):
        """What epoch_N.pth and best.pth hold: enough to score videos, nothing to resume."""
        return dict(model=weights, config=cfg.to_dict(), faces=dict(faces), epoch=self.epoch, metrics=self.history[-1])

    def resume_checkpoint(self, model, optimizer, scaler, cfg, faces):
        state = self.weights_checkpoint(self.weights(model), cfg, faces)
        state.update(optimizer=optimizer.state_dict(), scaler=scaler.state_dict() if scaler else None,
                     plan=self.plan.to_dict(), step=self.step, best=self.best, history=self.history,
                     timing=self.timing, bad_samples=self.bad_rows, rng=dict(torch=torch.get_rng_state()),
                     ema=self.ema.state_dict() if self.ema is not None else None)
        return state

    @classmethod
    def restore(cls, saved, model, optimizer, scaler, plan_now, ema_decay, source, log=print):
        """The state of a run from its last.pth, loaded into model, optimizer and scaler.

        More epochs than the saved run planned extend its learning-rate plan from the current step
        (utils/schedule.py), so the rate keeps falling instead of rising again."""
        if "optimizer" not in saved:
            raise UserError(f"{source} holds weights only (no optimizer state); resume from the run's last.pth")
        load_model_weights(model, saved["model"], source)
        optimizer.load_state_dict(saved["optimizer"])
        if scaler is not None and saved.get("scaler"):
            scaler.load_state_dict(saved["scaler"])
        plan = LRPlan(**saved["plan"])
        if plan.steps_per_epoch != plan_now.steps_per_epoch:
            raise UserError(f"{source}: an epoch had {plan.steps_per_epoch} steps and now has {plan_now.steps_per_epoch}; "
                            f"resume with the same data and --batch_size")
        if plan_now.total_steps != plan.total_steps:
            if plan_now.total_steps < saved["step"]:
                raise UserError(f"{source} has already trained {saved['epoch']} epochs; ask for more with --epochs")
            plan = plan.extended(plan_now.total_steps, saved["step"])
            log(f"the learning-rate plan now runs to epoch {plan_now.total_steps // plan.steps_per_epoch}, "
                f"continuing from {plan.restart_factor:.3g} x --lr")
        state = cls(plan=plan, epoch=int(saved["epoch"]), step=int(saved["step"]), best=saved.get("best"),
                    history=list(saved["history"]), timing=list(saved.get("timing", [])),
                    bad_rows=list(saved.get("bad_samples", [])), ema=make_ema(model, ema_decay))
        if state.ema is not None and saved.get("ema"):
            state.ema.load_state_dict(saved["ema"])
        log(f"resumed from {source} after epoch {state.epoch}")
        return state
