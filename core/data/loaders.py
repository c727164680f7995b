"""DataLoaders from settings: batch size, shuffling, a train/validation split, workers."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader, Dataset, random_split


@dataclass
class LoaderSettings:
    batch_size: int = 32
    shuffle: bool = True
    validation_fraction: float = 0.2
    num_workers: int = 0  # worker processes, as the seed says; 0 loads in the training thread
    seed: int = 0

    def check(self) -> None:
        if self.batch_size < 1:
            raise ValueError("batch_size: expected a positive integer")
        if not 0 <= self.validation_fraction < 1:
            raise ValueError("validation_fraction: expected a number from 0 up to (not including) 1")
        if self.num_workers < 0:
            raise ValueError("num_workers: expected 0 or more")


def make_loaders(dataset: Dataset, settings: LoaderSettings) -> tuple[DataLoader, DataLoader | None]:
    """(train, validation) loaders; the split is the same for the same seed."""
    settings.check()
    n_val = int(round(len(dataset) * settings.validation_fraction))
    if n_val and len(dataset) - n_val < 1:
        raise ValueError("validation_fraction: leaves no training samples")
    g = torch.Generator().manual_seed(settings.seed)
    train, val = random_split(dataset, [len(dataset) - n_val, n_val], generator=g) if n_val else (dataset, None)
    common = dict(batch_size=settings.batch_size, num_workers=settings.num_workers,
                  persistent_workers=settings.num_workers > 0)
    train_loader = DataLoader(train, shuffle=settings.shuffle, generator=torch.Generator().manual_seed(settings.seed),
                              **common)
    val_loader = DataLoader(val, shuffle=False, **common) if val is not None else None
    return train_loader, val_loader
