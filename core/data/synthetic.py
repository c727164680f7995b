"""Small datasets for lessons and training, made on the spot (no downloads): 2-D
classification and 1-D regression, each a `torch.utils.data.Dataset` with a noise and a
size setting and a seed, so the same settings give the same data."""

from __future__ import annotations

import math

import torch
from torch.utils.data import Dataset


class TensorPairs(Dataset):
    """Features and targets held as tensors; what every built-in dataset returns."""

    task = "classification"

    def __init__(self, x: torch.Tensor, y: torch.Tensor, name: str):
        if len(x) != len(y):
            raise ValueError(f"{name}: {len(x)} inputs but {len(y)} targets")
        self.x, self.y, self.name = x, y, name

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i]

    @property
    def num_features(self) -> int:
        """Numbers per sample (64 for 8×8 images, whatever their layout)."""
        return int(self.x[0].numel())

    @property
    def num_classes(self) -> int | None:
        return int(self.y.max()) + 1 if self.task == "classification" else None


class Regression(TensorPairs):
    task = "regression"


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _check(size: int, noise: float) -> None:
    if size < 2:
        raise ValueError(f"size: expected at least 2 samples, got {size}")
    if noise < 0:
        raise ValueError(f"noise: expected a number >= 0, got {noise}")


def spirals(size: int = 600, noise: float = 0.1, classes: int = 2, seed: int = 0) -> TensorPairs:
    """Interleaved spiral arms, one per class: not separable by a line."""
    _check(size, noise)
    g = _generator(seed)
    per = size // classes
    xs, ys = [], []
    for c in range(classes):
        r = torch.linspace(0.05, 1.0, per)
        t = torch.linspace(0, 3.5, per) + c * 2 * math.pi / classes + noise * torch.randn(per, generator=g)
        xs.append(torch.stack([r * torch.sin(t), r * torch.cos(t)], 1))
        ys.append(torch.full((per,), c))
    return TensorPairs(torch.cat(xs), torch.cat(ys), "spirals")


def moons(size: int = 600, noise: float = 0.1, seed: int = 0) -> TensorPairs:
    """Two interleaving half circles."""
    _check(size, noise)
    g = _generator(seed)
    n = size // 2
    t = torch.rand(n, generator=g) * math.pi
    upper = torch.stack([torch.cos(t), torch.sin(t)], 1)
    lower = torch.stack([1 - torch.cos(t), 0.5 - torch.sin(t)], 1)
    x = torch.cat([upper, lower]) + noise * torch.randn(2 * n, 2, generator=g)
    return TensorPairs(x, torch.cat([torch.zeros(n), torch.ones(n)]).long(), "moons")


def circles(size: int = 600, noise: float = 0.05, factor: float = 0.5, seed: int = 0) -> TensorPairs:
    """A small circle inside a large one."""
    _check(size, noise)
    g = _generator(seed)
    n = size // 2
    t = torch.rand(2 * n, generator=g) * 2 * math.pi
    radius = torch.cat([torch.ones(n), torch.full((n,), factor)])
    x = torch.stack([radius * torch.cos(t), radius * torch.sin(t)], 1) + noise * torch.randn(2 * n, 2, generator=g)
    return TensorPairs(x, torch.cat([torch.zeros(n), torch.ones(n)]).long(), "circles")


def xor(size: int = 600, noise: float = 0.05, seed: int = 0) -> TensorPairs:
    """Four quadrants, opposite ones the same class: the classic non-linear problem."""
    _check(size, noise)
    g = _generator(seed)
    x = torch.rand(size, 2, generator=g) * 2 - 1
    y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).long()
    return TensorPairs(x + noise * torch.randn(size, 2, generator=g), y, "xor")


def blobs(size: int = 600, noise: float = 0.3, classes: int = 3, seed: int = 0) -> TensorPairs:
    """Gaussian blobs around centres on a circle."""
    _check(size, noise)
    g = _generator(seed)
    y = torch.arange(size) % classes
    angle = y.float() * 2 * math.pi / classes
    centres = torch.stack([torch.cos(angle), torch.sin(angle)], 1) * 2
    return TensorPairs(centres + noise * torch.randn(size, 2, generator=g), y, "blobs")


def sine(size: int = 200, noise: float = 0.1, seed: int = 0) -> Regression:
    _check(size, noise)
    g = _generator(seed)
    x = torch.linspace(-math.pi, math.pi, size).unsqueeze(1)
    return Regression(x, torch.sin(x) + noise * torch.randn(size, 1, generator=g), "sine")


def polynomial(size: int = 200, noise: float = 0.1, seed: int = 0) -> Regression:
    _check(size, noise)
    g = _generator(seed)
    x = torch.linspace(-1, 1, size).unsqueeze(1)
    return Regression(x, x**3 - 0.5 * x + noise * torch.randn(size, 1, generator=g), "polynomial")


def step(size: int = 200, noise: float = 0.05, seed: int = 0) -> Regression:
    _check(size, noise)
    g = _generator(seed)
    x = torch.linspace(-1, 1, size).unsqueeze(1)
    return Regression(x, (x > 0).float() + noise * torch.randn(size, 1, generator=g), "step")


DATASETS = {f.__name__: f for f in (spirals, moons, circles, xor, blobs, sine, polynomial, step)}
