"""torch.distributed (DDP) when launched under torchrun; a no-op context otherwise."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from bvae_viewer.nn.device import choose_device


@dataclass(frozen=True)
class DistContext:
    """Who this process is in the job, and where it computes."""

    rank: int
    world_size: int
    device: torch.device
    owns_group: bool  # this context started the process group and must end it

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one that writes checkpoints and shows progress."""
        return self.rank == 0


def setup(requested_device: str = "auto") -> DistContext:
    """Read torchrun's WORLD_SIZE/RANK/LOCAL_RANK; NCCL on CUDA, gloo on CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    device = choose_device(requested_device)
    if world <= 1:
        return DistContext(0, 1, device, owns_group=False)
    rank = int(os.environ["RANK"])
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    owns = not dist.is_initialized()
    if owns:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return DistContext(rank, world, device, owns_group=owns)


def teardown(ctx: DistContext) -> None:
    if ctx.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def all_sum(values: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """Element-wise sum over ranks (identity in a single process)."""
    if ctx.enabled:
        values = values.to(ctx.device)
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values.cpu()


def any_rank(flag: bool, ctx: DistContext) -> bool:
    """True on every rank when it is True on one: ranks must stop on the same step."""
    return bool(all_sum(torch.tensor([float(flag)]), ctx).item() > 0)


def barrier(ctx: DistContext) -> None:
    if ctx.enabled:
        dist.barrier()
