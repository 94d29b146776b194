"""torchrun support: process group set-up, rank queries, gathering of evaluation outputs, and the
DDP/compile wrapping of a model.

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; without them everything runs as one process.
"""
import os
import warnings
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self):
        return self.rank == 0

    @property
    def enabled(self):
        return self.world_size > 1


def wants_cuda(device_name):
    return device_name.startswith("cuda") or (device_name == "auto" and torch.cuda.is_available())


def init_distributed(device_name):
    """Join the process group when launched by torchrun: NCCL on GPUs, gloo on the CPU."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistInfo()
    info = DistInfo(int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        backend = "nccl" if wants_cuda(device_name) else "gloo"
        dist.init_process_group(backend=backend)
    if not wants_cuda(device_name):
        # CPU kernels return 1x1 convolutions' weight gradients with equivalent but differently
        # written strides; DDP copies them correctly, and the warning would only alarm users.
        warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
    if not info.is_main:
        warnings.filterwarnings("ignore")  # the other ranks would repeat rank 0's warnings
    return info





def gather_objects(obj, info):
    """Every rank's `obj`, in rank order (a one-element list without torchrun)."""
    if not info.enabled:
        return [obj]
    out = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast_buffers(module, info):
    """Give every rank rank 0's buffers (BatchNorm statistics, which each rank updates itself)."""
    if info.enabled:
        for buffer in module.buffers():
            dist.broadcast(buffer, src=0)


def uneven_inputs(net):
    """DDP's join context, so that ranks may run different numbers of steps (one skips a batch
    whose samples were all bad) without hanging in the others' all-reduce; a no-op without DDP."""
    ddp = getattr(net, "_orig_mod", net)  # under torch.compile
    if isinstance(ddp, torch.nn.parallel.DistributedDataParallel):
        return ddp.join()
    return nullcontext()


def barrier(info):
    if info.enabled:
        dist.barrier()


def cleanup(info):
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def wrap_model(model, compile_model, info, device):
    """(training module, evaluation module) around `model`.

    DDP wraps before torch.compile, so that compile splits the graph at DDP's gradient buckets and
    the all-reduce overlaps the backward pass. Evaluation runs the bare (compiled) model: it needs
    no collective, so a rank whose validation batch is empty cannot stall the others.
    """
    net = model
    if info.enabled:
        from torch.nn.parallel import DistributedDataParallel
        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if not compile_model:
        return net, model
    compiled = torch.compile(net)
    return compiled, (torch.compile(model) if info.enabled else compiled)


def broadcast_object(obj, info):
    """Rank 0's `obj` on every rank (a pickled copy; itself without torchrun)."""
    if not info.enabled:
        return obj
    box = [obj if info.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def merge_shards(shards):
    """Join the ranks' outputs and drop the sampler's padded repeats (same item index)."""
    item = torch.cat([s["item"] for s in shards])
    _, first = np.unique(item.numpy(), return_index=True)
    keep = torch.from_numpy(np.sort(first))
    merged = {k: torch.cat([s[k] for s in shards])[keep] for k in ("item", "video", "label", "logits")}
    merged["bad"] = sorted({b for s in shards for b in s["bad"]})
    return merged
