"""Tensor snapshots: what a tape remembers about a tensor at one moment.

Copying every tensor a run makes would cost more than the run itself, so a snapshot starts
as a *reference* (copy-on-write): it keeps the tensor and its version counter, and is turned
into a real copy only when the tensor could change under it:
- before an in-place op on the same storage (the recorder sees every in-place call),
- before a backward pass that accumulates into a `.grad` it references,
- when the recording ends, if anyone else can still reach the tensor.
Intermediates nobody else holds never change, so they are never copied. The memory budget
limits what the tape keeps alive; past it a snapshot computes its statistics at once and
keeps no values (statistics are always available), and the tape says so.
"""

from __future__ import annotations

import math
import threading
import weakref
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
        """Statistics of any tensor; never raises (tensors it cannot read give NaN).

        Two passes over the data in the common all-finite case (min/max, then sum and dot);
        the slower counting path runs only when min/max show a NaN or an Inf, and float64
        only when float32 sums overflow."""
        try:
            return TensorStats._of(tensor)
        except Exception:  # meta, exotic dtypes or layouts: a snapshot must never fail a run
            return TensorStats(math.nan, math.nan, math.nan, math.nan, math.nan, 0, 0, tensor.numel())

    @staticmethod
    def _of(tensor: torch.Tensor) -> "TensorStats":
        t = tensor.detach()
        if t.layout != torch.strided:  # sparse gradients (nn.Embedding(sparse=True))
            t = t.to_dense()
        numel = t.numel()
        if numel == 0 or t.device.type == "meta":
            return TensorStats(math.nan, math.nan, math.nan, math.nan, 0.0 if numel == 0 else math.nan, 0, 0, numel)
        if t.is_complex():
            t = t.abs()
        if t.dtype == torch.bool or not t.is_floating_point():
            t = t.to(torch.float64)
        elif t.dtype not in (torch.float32, torch.float64):  # half, bfloat16, float8
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
        flat = t.reshape(-1)
        mean, ss = _mean_and_squares(flat)
        if not (math.isfinite(mean) and math.isfinite(ss)):  # float32 sums overflowed
            mean, ss = _mean_and_squares(flat.double())
        norm = math.sqrt(max(ss + n * mean * mean, 0.0))
        std = math.sqrt(ss / (n - 1)) if n > 1 else 0.0
        return TensorStats(lo, hi, mean, std, norm, nan_count, inf_count, numel)


def _mean_and_squares(flat: torch.Tensor) -> tuple[float, float]:
    """Mean and the sum of squared deviations. sum and dot are memory-bound passes at BLAS
    speed; Welford's var_mean is ~25x slower. Centring first keeps large means exact."""
    mean = float(flat.sum()) / flat.numel()
    centred = flat - mean
    return mean, float(torch.dot(centred, centred))


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

    __slots__ = (
        "shape", "_dtype", "_device", "requires_grad", "_ref", "_version", "_origin",
        "_values", "_stats", "values_dropped", "stale", "__weakref__",
    )

    def __init__(self, tensor: torch.Tensor, budget: MemoryBudget | None, store: "SnapshotStore | None" = None):
        # Made for every op output and gradient: keep this path lean (strings come later).
        self.shape = tuple(tensor.shape)
        self._dtype = tensor.dtype
        self._device = tensor.device
        self.requires_grad = tensor.requires_grad
        self._stats: TensorStats | None = None
        self._values: torch.Tensor | None = None
        self._ref: torch.Tensor | None = None
        self._origin = None
        self.stale = False
        nbytes = tensor.numel() * tensor.element_size()
        if budget is not None and budget.take(nbytes):
            self.values_dropped = False
            if store is not None and _can_reference(tensor, nbytes):
                self._ref = tensor.detach()  # shares storage and version counter
                self._version = tensor._version
                self._origin = weakref.ref(tensor)
                store.track(self)
            else:
                self._values = _copy(tensor)
        else:
            # Statistics are promised always, so compute them now while the tensor is here.
            with torch.no_grad():
                self._stats = TensorStats.of(tensor)
            self.values_dropped = True

    @property
    def dtype(self) -> str:
        return str(self._dtype).removeprefix("torch.")

    @property
    def device(self) -> str:
        return str(self._device)

    # -- copy-on-write -----------------------------------------------------------------
    @property
    def pending(self) -> bool:
        return self._ref is not None

    def materialize(self) -> None:
        """Turn the reference into a copy now (the tensor may change after this)."""
        ref = self._ref
        if ref is None:
            return
        if ref._version == self._version:
            self._values = _copy(ref)
        else:  # changed in a way the recorder could not see coming
            self.stale = True
            self.values_dropped = True
        self._ref = None
        self._origin = None

    def reachable_elsewhere(self) -> bool:
        """The recorded tensor object is still alive: its owner could change it later."""
        return self._origin is not None and self._origin() is not None

    @property
    def values(self) -> torch.Tensor | None:
        """The values as recorded, on the CPU; None when the budget was spent (or, rarely,
        the tensor was changed in place before it could be copied: `stale`). Read-only: it
        may share memory with a tensor only the tape holds."""
        ref = self._ref
        if ref is not None:
            if ref._version != self._version:
                self.materialize()
            else:
                return ref if ref.device.type == "cpu" else ref.cpu()
        return self._values

    @property
    def stats(self) -> TensorStats:
        if self._stats is None:
            values = self.values
            if values is None:  # stale: the numbers are gone
                return TensorStats(math.nan, math.nan, math.nan, math.nan, math.nan, 0, 0, self.numel)
            self._stats = TensorStats.of(values)
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
        values = self.values if with_values else None
        if values is not None:
            out["values"] = values.tolist()
        return out

    def __repr__(self) -> str:
        return f"TensorSnapshot({self.describe()}, device={self.device})"


def _json_float(x: float):
    return None if (isinstance(x, float) and not math.isfinite(x)) else x


def _can_reference(tensor: torch.Tensor, nbytes: int) -> bool:
    """Copy-on-write needs a version counter (inference tensors have none) and must not keep
    a big buffer alive for a small view of it (the budget counts only the view)."""
    if tensor.layout != torch.strided or tensor.is_inference():
        return False
    try:
        return tensor.untyped_storage().nbytes() <= 4 * nbytes + 4096
    except Exception:
        return False


def _copy(tensor: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        if tensor.device.type == "cpu":
            return tensor.detach().clone()
        return tensor.detach().to("cpu", copy=True)


def _storage_key(t: torch.Tensor):
    try:
        return (t.device.type, t.device.index, t.untyped_storage().data_ptr())
    except Exception:  # no storage (meta tensors, some subclasses): never changes under us
        return None


class SnapshotStore:
    """Makes the snapshots of one tape, and copies them before their tensors can change."""

    def __init__(self, budget: MemoryBudget):
        self.budget = budget
        self._pending: dict = {}  # storage key -> list of weak references to snapshots
        self._lock = threading.Lock()

    def snapshot(self, tensor: torch.Tensor) -> TensorSnapshot:
        return TensorSnapshot(tensor, self.budget, self)

    def track(self, snap: TensorSnapshot) -> None:
        key = _storage_key(snap._ref)
        if key is None:
            snap.materialize()
            return
        with self._lock:
            self._pending.setdefault(key, []).append(weakref.ref(snap))

    def before_write(self, tensor: torch.Tensor) -> None:
        """`tensor` is about to be changed in place: copy every snapshot sharing its storage."""
        if not self._pending:
            return
        key = _storage_key(tensor)
        with self._lock:
            refs = self._pending.pop(key, ())
        for r in refs:
            snap = r()
            if snap is not None:
                snap.materialize()

    def settle(self) -> None:
        """The recording ends: copy what someone else could still change; the rest (tensors
        only the tape can reach) stays a reference forever."""
        with self._lock:
            groups, self._pending = self._pending, {}
        for refs in groups.values():
            snaps = [s for s in (r() for r in refs) if s is not None and s.pending]
            if any(s.reachable_elsewhere() for s in snaps):
                for s in snaps:
                    s.materialize()
            else:
                for s in snaps:
                    s._origin = None
