"""Training across processes and machines with `torchrun`: each process trains its share of
every batch (DistributedSampler) in a DistributedDataParallel model, which averages the
gradients so every rank takes the same optimizer step. Rank 0 alone writes the run record.

torchrun sets RANK, WORLD_SIZE, LOCAL_RANK and the rendezvous address; its multi-node
options (--nnodes, --node-rank, --rdzv-endpoint) work unchanged. GPUs use NCCL, CPUs Gloo.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler

from ..data.loaders import LoaderSettings


@dataclass
class Distributed:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @classmethod
    def from_env(cls, device_setting: str = "auto") -> Distributed | None:
        """Join the process group torchrun set up; None when running as a single process."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return None
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        use_cuda = device_setting != "cpu" and torch.cuda.is_available()
        if use_cuda:
            torch.cuda.set_device(local_rank)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if use_cuda else "gloo")
        device = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
        return cls(dist.get_rank(), dist.get_world_size(), local_rank, device)

    @property
    def is_writer(self) -> bool:
        return self.rank == 0

    def wrap(self, model: nn.Module) -> nn.Module:
        ids = [self.local_rank] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def shard(self, loader: DataLoader, settings: LoaderSettings) -> DataLoader:
        """The same training data, each rank getting its own part of every epoch."""
        sampler = DistributedSampler(loader.dataset, num_replicas=self.world_size, rank=self.rank,
                                     shuffle=settings.shuffle, seed=settings.seed)
        return DataLoader(loader.dataset, batch_size=settings.batch_size, sampler=sampler,
                          num_workers=loader.num_workers, persistent_workers=loader.num_workers > 0,
                          multiprocessing_context=loader.multiprocessing_context)

    def close(self) -> None:
        if dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()
