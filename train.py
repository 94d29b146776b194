"""Train a video deepfake detector: `python train.py [flags]` (see args.py or --help).

With no flags it builds the embedded demo dataset and trains on it. `--config configs/real.yaml`
is the recipe for real data. Under `torchrun --nproc_per_node N train.py ...` it trains with
DistributedDataParallel.
"""
import sys
import time
from dataclasses import replace
from pathlib import Path

from args import DEMO_ROOT, EVAL_METRICS, given_flags, parse_args, resume_config


def default_run_name(cfg):
    name = cfg.model.model_name.replace("/", "-")
    return f"{name}_{cfg.model.temporal}_{cfg.model.input_mode}_{time.strftime('%Y%m%d-%H%M%S')}"


def resolve_run(cfg, argv, device, log):
    """The config this process trains with: the checkpoint's on --resume, then the run name and the
    precision that `auto` resolves to here. Returns (config, the resume checkpoint or None)."""
    from utils.checkpoint import load_checkpoint
    from utils.device import resolve_amp

    saved = None
    if cfg.run.resume:
        saved = load_checkpoint(cfg.run.resume)  # before any folder is made: a bad file leaves nothing behind
        cfg, warnings = resume_config(cfg, saved["config"], given_flags(argv))
        for line in warnings:
            log(f"warning: {line}")
        if cfg.run.run_name is None:  # continue in the same folder
            cfg = replace(cfg, run=replace(cfg.run, run_name=Path(cfg.run.resume).resolve().parent.name))
    run = replace(cfg.run, run_name=cfg.run.run_name or default_run_name(cfg))
    return replace(cfg, run=run, train=replace(cfg.train, amp=resolve_amp(cfg.train.amp, device))), saved


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    cfg = parse_args(argv)  # before the heavy imports: a bad flag answers at once
    from datasets import get_dataset
    from models import build_model
    from trainer import fit
    from utils.device import resolve_device
    from utils.distributed import barrier, cleanup, init_distributed
    from utils.errors import exit_on_user_error
    from utils.run_writer import RunWriter
    from utils.seeding import seed_everything

    writer, dist_info = None, None
    with exit_on_user_error():
        try:
            dist_info = init_distributed(cfg.run.device)
            device = resolve_device(cfg.run.device, dist_info.local_rank)
            cfg, saved = resolve_run(cfg, argv, device, print if dist_info.is_main else (lambda _: None))
            if Path(cfg.data.root_dir).resolve() == DEMO_ROOT:
                if dist_info.is_main:
                    from datasets.demo.build import ensure_demo_dataset
                    ensure_demo_dataset(DEMO_ROOT, seed=cfg.data.demo_seed)
                barrier(dist_info)
            seed_everything(cfg.run.seed)
            data = get_dataset(cfg.data, cfg.run.seed)
            model = build_model(cfg.model)
            native = getattr(model, "input_size", (cfg.data.crop_size,))[0]
            if dist_info.is_main and cfg.model.pretrained and native != cfg.data.crop_size:
                print(f"note: {cfg.model.model_name} was pretrained at {native} px; this run feeds it "
                      f"{cfg.data.crop_size} px crops (--crop_size {native} matches its pretraining)")
            if dist_info.is_main:
                tcfg = cfg.train
                writer = RunWriter(cfg.run.save_model_path, cfg.run.run_name, saved is not None, tcfg.eval_metric,
                                   EVAL_METRICS[tcfg.eval_metric], tcfg.keep_epochs, cfg.run.tensorboard)
                writer.write_config(cfg.to_dict())
            barrier(dist_info)
            fit(model, data, cfg, dist_info, device, writer, saved)
        finally:
            if writer:
                writer.close()
            if dist_info:
                cleanup(dist_info)


if __name__ == "__main__":
    main()
