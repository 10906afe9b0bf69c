"""Multi-process training helpers shared by the decoder and speech trainers.

Launched by ``torchrun`` (``WORLD_SIZE`` > 1 in the environment), :func:`init_distributed`
starts the process group (nccl on CUDA, gloo on CPU); the trainers then shard their batches
over the processes, keep the replicas in sync, and only rank 0 logs and writes files. A plain
``python main.py …`` run is one process and none of this changes it.
"""

from __future__ import annotations

import os

import torch

__all__ = [
    "dist_info",
    "init_distributed",
    "rank_device",
    "average_gradients",
    "broadcast_from_rank0",
    "rank0_log",
]


def dist_info() -> tuple[int, int]:
    """(rank, world size) of this process: (0, 1) without a process group."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def init_distributed(device=None) -> bool:
    """Start the process group when launched by torchrun; True when this call started it.

    nccl when training on CUDA (``device``; default: whenever CUDA is present), else gloo.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.distributed.is_initialized():
        cuda = torch.cuda.is_available() if device is None else str(device).startswith("cuda")
        backend = "nccl" if cuda else "gloo"
        torch.distributed.init_process_group(backend)
        return True
    return False


def rank_device(device, dist: bool):
    """The CUDA device of this process (``LOCAL_RANK``) under torchrun; else ``device``."""
    if dist and str(device).startswith("cuda"):
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return device


def average_gradients(params) -> None:
    """All-reduce the gradients of ``params`` to their mean over the processes (no-op alone).

    The explicit form of DistributedDataParallel's reduction, for models whose loss goes
    through several of their methods (not one ``forward``).
    """
    _, world = dist_info()
    if world == 1:
        return
    for p in params:
        if p.grad is not None:
            torch.distributed.all_reduce(p.grad)
            p.grad /= world


@torch.no_grad()
def broadcast_from_rank0(tensors) -> None:
    """Copy rank 0's values of ``tensors`` (parameters, buffers) to every process in place
    (no-op alone)."""
    _, world = dist_info()
    if world == 1:
        return
    for t in tensors:
        torch.distributed.broadcast(t.data, 0)


def rank0_log(log, rank: int):
    """``log`` on rank 0, a silent function on the others."""
    return log if rank == 0 else (lambda *a, **k: None)
