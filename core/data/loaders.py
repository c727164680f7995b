"""DataLoaders from settings: batch size, shuffling, a train/validation split, workers.

Worker processes are spawned, never forked: the app runs Qt and training threads, and a
forked child of a threaded process can deadlock. A spawned worker receives the dataset by
pickling, so its class must be importable from a file; that is checked up front.
"""

from __future__ import annotations

import io
import pickle
import sys
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import ConcatDataset, DataLoader, Dataset, Subset, random_split

from .csv_dataset import DataError


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
    if settings.num_workers > 0:
        check_workers_can_load(dataset)
    n_val = int(round(len(dataset) * settings.validation_fraction))
    if n_val and len(dataset) - n_val < 1:
        raise ValueError("validation_fraction: leaves no training samples")
    g = torch.Generator().manual_seed(settings.seed)
    train, val = random_split(dataset, [len(dataset) - n_val, n_val], generator=g) if n_val else (dataset, None)
    common = dict(batch_size=settings.batch_size, num_workers=settings.num_workers,
                  persistent_workers=settings.num_workers > 0,
                  multiprocessing_context="spawn" if settings.num_workers > 0 else None)
    train_loader = DataLoader(train, shuffle=settings.shuffle, generator=torch.Generator().manual_seed(settings.seed),
                              **common)
    val_loader = DataLoader(val, shuffle=False, **common) if val is not None else None
    return train_loader, val_loader


def check_workers_can_load(dataset: Dataset) -> None:
    """Raise DataError, in words, when spawned workers could not receive `dataset`."""
    for part in _parts(dataset):
        cls = type(part)
        if not _importable(cls):
            raise DataError(f"num_workers > 0 needs a dataset class defined in an importable file; {cls.__name__} "
                            f"was defined {_where(cls)} — use num_workers 0", path="num_workers")
    try:
        _TensorlessPickler(io.BytesIO()).dump(dataset)
    except Exception as exc:
        raise DataError(f"num_workers > 0 sends the dataset to worker processes, but {type(dataset).__name__} "
                        f"cannot be pickled ({exc}) — use num_workers 0", path="num_workers") from exc


def _parts(dataset: Dataset) -> list[Dataset]:
    """The dataset and the ones it wraps (a Subset's, a ConcatDataset's)."""
    if isinstance(dataset, Subset):
        return [dataset, *_parts(dataset.dataset)]
    if isinstance(dataset, ConcatDataset):
        return [dataset, *(p for d in dataset.datasets for p in _parts(d))]
    return [dataset]


def _importable(cls: type) -> bool:
    """Whether a fresh process finds `cls` where pickle will look: its module, from a file."""
    module = sys.modules.get(cls.__module__)
    if module is None or not getattr(module, "__file__", None):
        return False
    found = module
    for part in cls.__qualname__.split("."):
        found = getattr(found, part, None)
    return found is cls


def _where(cls: type) -> str:
    files = {getattr(f, "__code__", None) and f.__code__.co_filename for f in vars(cls).values()} - {None}
    if "<locals>" in cls.__qualname__:
        return "inside a function"
    if not files or any(f.startswith("<") for f in files):
        return "in the editor"
    return f"in {sorted(files)[0]}, which runs as a script rather than an importable module"


class _TensorlessPickler(pickle.Pickler):
    """Pickles everything but array data (tensors are shared with workers, not copied), so a
    probe costs little even for a large dataset."""

    def persistent_id(self, obj):
        return id(obj) if isinstance(obj, (torch.Tensor, np.ndarray)) else None
