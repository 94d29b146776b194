"""Train a video deepfake detector: `python train.py [flags]` (see args.py or --help).

With no flags it builds the embedded demo dataset and trains on it. Under
`torchrun --nproc_per_node N train.py ...` it trains with DistributedDataParallel.
"""
import time
from pathlib import Path

from args import DEMO_ROOT, parse_args


def default_run_name(args):
    return f"{args.model_name}_{args.temporal}_{args.input_mode}_{time.strftime('%Y%m%d-%H%M%S')}"


def main(argv=None):
    args = parse_args(argv)  # before the heavy imports: a bad flag answers at once
    from datasets import get_dataset
    from models import get_model
    from trainer import fit
    from utils.distributed import barrier, cleanup, init_distributed
    from utils.errors import exit_on_user_error
    from utils.seeding import seed_everything

    with exit_on_user_error():
        dist_info = init_distributed(args.device)
        if args.resume and args.run_name is None:
            args.run_name = Path(args.resume).resolve().parent.name  # continue in the same folder
        args.run_name = args.run_name or default_run_name(args)
        if Path(args.root_dir).resolve() == DEMO_ROOT:
            if dist_info.is_main:
                from datasets.demo.build import ensure_demo_dataset
                ensure_demo_dataset(DEMO_ROOT, seed=args.demo_seed)
            barrier(dist_info)
        seed_everything(args.seed)
        data = get_dataset(args.dataset, root_dir=args.root_dir, csv_file=args.csv_file, num_frames=args.num_frames,
                           crop_size=args.crop_size, seed=args.seed, augment=args.augment)
        model = get_model(args)
        try:
            fit(model, data, args, dist_info)
        finally:
            cleanup(dist_info)


if __name__ == "__main__":
    main()
