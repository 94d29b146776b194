"""DataLoaders that keep the device fed: workers, pinned memory, prefetch, epoch-tagged samples."""
import torch
from torch.utils.data import DataLoader, DistributedSampler, Sampler

from datasets.video_dataset import collate_clips


class EpochTaggedSampler(Sampler):
    """Yields (index, epoch) pairs: the shard of this rank, reshuffled from the seed each epoch.

    Under torchrun each rank gets its own shard (DistributedSampler pads the last one with
    repeats; evaluation drops them by item index). With one process it is a seeded shuffle.
    """

    def __init__(self, n_items, shuffle, seed, rank=0, world_size=1):
        self.inner = DistributedSampler(range(n_items), num_replicas=world_size, rank=rank, shuffle=shuffle, seed=seed)
        self.epoch = 0

    def set_epoch(self, epoch):
        self.epoch = epoch
        self.inner.set_epoch(epoch)

    def __iter__(self):
        return ((index, self.epoch) for index in self.inner)

    def __len__(self):
        return len(self.inner)


def build_loader(dataset, batch_size, workers, shuffle, seed, dist_info, pin_memory):
    sampler = EpochTaggedSampler(len(dataset), shuffle, seed, dist_info.rank, dist_info.world_size)
    extra = dict(persistent_workers=True, prefetch_factor=4) if workers > 0 else {}
    # Its own generator: otherwise making an iterator draws from the global torch RNG, and draws
    # more with worker processes, so dropout (and the metrics) would change with --workers.
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=workers,
                      collate_fn=collate_clips, pin_memory=pin_memory, drop_last=False,
                      generator=generator, **extra)
