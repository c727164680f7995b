"""Handwritten digits, 8x8 pixels: a real image dataset that ships with gradstudio, so a
first CNN or MLP trains offline in seconds (provenance in assets/datasets/README.md)."""

from __future__ import annotations

import gzip
import io
from functools import lru_cache
from importlib import resources

import numpy as np
import torch

from .csv_dataset import DataError
from .synthetic import TensorPairs

_FILE = "datasets/digits.csv.gz"
_ROWS, _PIXELS, _MAX_INK = 1797, 64, 16.0
CLASSES = [str(d) for d in range(10)]


@lru_cache(maxsize=1)
def _load() -> tuple[torch.Tensor, torch.Tensor]:
    """(pixels uint8 [1797, 64] in 0..16, labels long [1797]), read once per process."""
    try:
        packed = resources.files("gradstudio.assets").joinpath(_FILE).read_bytes()
    except (FileNotFoundError, ModuleNotFoundError) as exc:
        raise DataError(f"digits: the data file gradstudio/assets/{_FILE} is missing from this installation; "
                        "reinstall gradstudio") from exc
    table = np.loadtxt(io.BytesIO(gzip.decompress(packed)), delimiter=",", dtype=np.int64)
    if table.shape != (_ROWS, _PIXELS + 1):
        raise DataError(f"digits: gradstudio/assets/{_FILE} has shape {table.shape}, expected "
                        f"({_ROWS}, {_PIXELS + 1}); reinstall gradstudio")
    return torch.from_numpy(table[:, :_PIXELS].astype(np.uint8)), torch.from_numpy(table[:, _PIXELS])


def digits(seed: int = 0, flatten: bool = True) -> TensorPairs:
    """1797 digits 0-9; pixels scaled to [0, 1] float32, as [N, 64] or (flatten=False)
    [N, 1, 8, 8] for a CNN. The seed shuffles the order, so the same seed gives the same data."""
    pixels, labels = _load()
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    x = pixels[order].to(torch.float32) / _MAX_INK
    if not flatten:
        x = x.reshape(-1, 1, 8, 8)
    dataset = TensorPairs(x, labels[order].clone(), "digits")
    dataset.classes = list(CLASSES)
    return dataset
