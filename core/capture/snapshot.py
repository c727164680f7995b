"""Tensor snapshots: what a tape remembers about a tensor at one moment.

Copying values is the expensive part of recording, so a snapshot keeps a detached CPU copy
only while the tape's memory budget allows and computes statistics lazily from that copy.
Past the budget it computes the statistics at once (they are always available) and drops
the values, and the tape says so.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class TensorStats:
    """Summary numbers of a tensor; NaN/Inf are counted, and left out of the other figures."""

    min: float
    max: float
    mean: float
    std: float
    norm: float
    nan_count: int
    inf_count: int
    numel: int

    @staticmethod
    def of(tensor: torch.Tensor) -> "TensorStats":
        """Two passes over the data in the common all-finite case (min/max, then mean/var);
        the slower counting path runs only when min/max show a NaN or an Inf."""
        t = tensor.detach()
        numel = t.numel()
        if numel == 0:
            return TensorStats(math.nan, math.nan, math.nan, math.nan, 0.0, 0, 0, 0)
        if t.is_complex():
            t = t.abs()
        if t.dtype == torch.bool or not t.is_floating_point():
            t = t.to(torch.float64)
        elif t.dtype in (torch.float16, torch.bfloat16):
            t = t.float()
        lo, hi = (float(v) for v in torch.aminmax(t))
        nan_count = inf_count = 0
        if not (math.isfinite(lo) and math.isfinite(hi)):
            finite = torch.isfinite(t)
            nan_count = int(torch.isnan(t).sum())
            inf_count = numel - nan_count - int(finite.sum())
            t = t[finite]
            if t.numel() == 0:
                return TensorStats(math.nan, math.nan, math.nan, math.nan, math.nan, nan_count, inf_count, numel)
            lo, hi = (float(v) for v in torch.aminmax(t))
        n = t.numel()
        var, mean = torch.var_mean(t, correction=0)
        var, mean = float(var), float(mean)
        # norm from the same pass: sum(x^2) = n * (var + mean^2)
        norm = math.sqrt(max(n * (var + mean * mean), 0.0))
        std = math.sqrt(var * n / (n - 1)) if n > 1 else 0.0
        return TensorStats(lo, hi, mean, std, norm, nan_count, inf_count, numel)


class MemoryBudget:
    """Bytes a tape may spend on value copies. Thread-safe; once exhausted it stays exhausted."""

    def __init__(self, limit_bytes: int):
        self.limit = int(limit_bytes)
        self.used = 0
        self.exhausted = False
        self._lock = threading.Lock()

    def take(self, nbytes: int) -> bool:
        with self._lock:
            if self.exhausted or self.used + nbytes > self.limit:
                self.exhausted = True
                return False
            self.used += nbytes
            return True


class TensorSnapshot:
    """Shape, dtype, device and statistics of a tensor, plus its values within the budget."""

    __slots__ = ("shape", "dtype", "device", "requires_grad", "_values", "_stats", "values_dropped")

    def __init__(self, tensor: torch.Tensor, budget: MemoryBudget | None):
        self.shape = tuple(tensor.shape)
        self.dtype = str(tensor.dtype).removeprefix("torch.")
        self.device = str(tensor.device)
        self.requires_grad = bool(tensor.requires_grad)
        self._stats: TensorStats | None = None
        self._values: torch.Tensor | None = None
        nbytes = tensor.numel() * tensor.element_size()
        if budget is not None and budget.take(nbytes):
            with torch.no_grad():
                if tensor.device.type == "cpu":
                    self._values = tensor.detach().clone()
                else:
                    self._values = tensor.detach().to("cpu", copy=True)
            self.values_dropped = False
        else:
            # Statistics are promised always, so compute them now while the tensor is here.
            with torch.no_grad():
                self._stats = TensorStats.of(tensor)
            self.values_dropped = True

    @property
    def values(self) -> torch.Tensor | None:
        """A detached CPU copy of the values, or None when the tape's budget was spent."""
        return self._values

    @property
    def stats(self) -> TensorStats:
        if self._stats is None:
            self._stats = TensorStats.of(self._values)  # type: ignore[arg-type]
        return self._stats

    @property
    def numel(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    def describe(self) -> str:
        dims = "×".join(str(d) for d in self.shape) or "scalar"
        return f"{dims} {self.dtype}"

    def to_dict(self, with_values: bool = False) -> dict:
        s = self.stats
        out = {
            "shape": list(self.shape),
            "dtype": self.dtype,
            "device": self.device,
            "requires_grad": self.requires_grad,
            "stats": {k: _json_float(getattr(s, k)) for k in ("min", "max", "mean", "std", "norm")}
            | {"nan_count": s.nan_count, "inf_count": s.inf_count},
            "values_dropped": self.values_dropped,
        }
        if with_values and self._values is not None:
            out["values"] = self._values.tolist()
        return out

    def __repr__(self) -> str:
        return f"TensorSnapshot({self.describe()}, device={self.device})"


def _json_float(x: float):
    return None if (isinstance(x, float) and not math.isfinite(x)) else x
