"""Tensor snapshots: what a tape remembers about a tensor at one moment.

Copying every tensor a run makes would cost more than the run itself, so a snapshot starts
as a *reference* (copy-on-write): it keeps the tensor and its version counter, and is turned
into a real copy only when the tensor could change under it:
- before an in-place op on the same storage (the recorder sees every in-place call),
- before a backward pass that accumulates into a `.grad` it references,
- when the recording ends, if anyone else can still reach the tensor.
Intermediates nobody else holds never change, so they are never copied. A memory buffer is
copied once however many snapshots show it (a parameter's `.grad`, what its AccumulateGrad
received, the transpose a TBackward node received): their values are views of that copy.
Making a snapshot only appends to a list; grouping the references by storage waits until an
in-place op or the end of the recording needs it. The memory budget limits what the tape
keeps alive; past it a snapshot computes its statistics at once and keeps no values
(statistics are always available), and the tape says so.

On a GPU a copy goes to the CPU at once, and statistics past the budget read a few numbers
back: both wait for the GPU. When the recording ends, every reference to GPU memory is
copied to the CPU: a finished tape holds no GPU memory, however long it is kept. Copying on
the device and fetching on first read, computing statistics on the device without any read
back, and reading their four numbers back in one transfer were all measured on an H100 and
made no difference beyond run-to-run noise (benchmarks/README.md): the Python work per op
is what costs there. The simple code stays.
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

        Three reads of the data and no temporary in the common case (min/max, sum, sum of
        squares); past the memory budget this runs for every tensor a step makes, so it is
        most of what recording costs there. The deviations are summed from a centred copy
        only where the mean dwarfs the spread (there the sum of squares cancels); NaN and
        Inf are counted only when min/max show one; float64 only when float32 sums
        overflow."""
        try:
            return TensorStats._of(tensor)
        except Exception:  # meta, exotic dtypes or layouts: a snapshot must never fail a run
            return TensorStats(math.nan, math.nan, math.nan, math.nan, math.nan, 0, 0, tensor.numel())

    @staticmethod
    def _of(tensor: torch.Tensor) -> "TensorStats":
        t = tensor.detach()
        if t.is_nested:  # sequences of different lengths: statistics over all their values
            t = torch.cat([c.reshape(-1) for c in t.unbind()])
        elif t.layout != torch.strided:  # sparse gradients (nn.Embedding(sparse=True))
            t = t.to_dense()
        numel = t.numel()
        if numel == 0 or t.is_meta:
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
        mean, squares, ss = _moments(flat)
        if not (math.isfinite(mean) and math.isfinite(squares)):  # float32 sums overflowed
            mean, squares, ss = _moments(flat.double())
        std = math.sqrt(ss / (n - 1)) if n > 1 else 0.0
        return TensorStats(lo, hi, mean, std, math.sqrt(squares), nan_count, inf_count, numel)


# Below this share of the sum of squares, the deviations are read off a centred copy: the
# raw sums would have cancelled away too many of float32's digits (|mean| > ~4.5 std).
_CANCELLATION = 0.05


def _moments(flat: torch.Tensor) -> tuple[float, float, float]:
    """Mean, sum of squares and sum of squared deviations from the mean. sum and dot are
    memory-bound passes at BLAS speed (Welford's var_mean is ~25x slower); the deviations
    come from the raw sums, or from a centred copy where those would cancel."""
    n = flat.numel()
    mean = float(flat.sum()) / n
    squares = float(torch.dot(flat, flat))
    ss = squares - n * mean * mean
    if ss < _CANCELLATION * squares and math.isfinite(squares):
        centred = flat - mean
        ss = float(torch.dot(centred, centred))
    return mean, squares, max(ss, 0.0)


class MemoryBudget:
    """Bytes a tape may spend on value copies. Thread-safe; once exhausted it stays exhausted."""

    def __init__(self, limit_bytes: int):
        self.limit = int(limit_bytes)
        self.used = 0
        self.exhausted = False
        self._lock = threading.Lock()

    # A finished tape travels between processes (training in a separate process sends the
    # tape of a recorded step): locks cannot be pickled, so each side has its own.
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def take(self, nbytes: int) -> bool:
        with self._lock:
            if self.exhausted or self.used + nbytes > self.limit:
                self.exhausted = True
                return False
            self.used += nbytes
            return True


class TensorSnapshot:
    """Shape, dtype, device and statistics of a tensor, plus its values within the budget.

    While a snapshot is a reference, shape, dtype and device are read from the referenced
    tensor when first asked for (they cannot change without an in-place op, which turns the
    reference into a copy first); they are filled in before the reference is let go. The
    recorder makes hundreds of snapshots a step, most never looked at."""

    __slots__ = (
        "_shape", "_dtype", "_device", "requires_grad", "_ref", "_version", "_origin",
        "_values", "_stats", "values_dropped", "stale", "unreadable", "__weakref__",
    )

    def __init__(self, tensor: torch.Tensor, budget: MemoryBudget | None, store: "SnapshotStore | None" = None):
        # The general path; the recorder's snapshots come from `SnapshotStore.snapshot`.
        self._shape = shape_of(tensor)
        self._dtype = tensor.dtype
        self._device = tensor.device
        self.requires_grad = tensor.requires_grad
        self._stats: TensorStats | None = None
        self._values: torch.Tensor | None = None
        self._ref: torch.Tensor | None = None
        self._origin = None
        self.stale = False
        self.unreadable = False
        nbytes = tensor.numel() * tensor.element_size()
        if budget is not None and budget.take(nbytes):
            self.values_dropped = False
            if store is not None and _can_reference(tensor, nbytes):
                self._ref = tensor.detach()  # shares storage and version counter
                self._version = tensor._version
                self._origin = weakref.ref(tensor)
                store._new.append(self)  # grouped by storage only when something needs it
            else:
                self._values = _copy(tensor)
        else:
            # Statistics are promised always, so compute them now while the tensor is here.
            with torch.no_grad():
                self._stats = TensorStats.of(tensor)
            self.values_dropped = True

    # -- metadata, read from the reference while there is one --------------------------
    def _keep_metadata(self) -> None:
        """Read what is still read lazily from the reference, before letting it go."""
        ref = self._ref
        if self._shape is None and ref is not None:
            self._shape = shape_of(ref)
            self._dtype = ref.dtype
            self._device = ref.device

    @property
    def shape(self) -> tuple:
        if self._shape is None:
            self._keep_metadata()
        return self._shape

    @property
    def dtype(self) -> str:
        if self._shape is None:
            self._keep_metadata()
        return str(self._dtype).removeprefix("torch.")

    @property
    def device(self) -> str:
        if self._shape is None:
            self._keep_metadata()
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
        self._keep_metadata()
        if ref._version == self._version:
            self._values = _copy_ref(ref)
        else:  # changed in a way the recorder could not see coming
            self.stale = True
            self.values_dropped = True
        self._ref = None
        self._origin = None

    def __getstate__(self) -> dict:
        """Pickled as values: a reference to a live tensor cannot cross processes."""
        self._keep_metadata()
        values = self.values
        state = {name: getattr(self, name) for name in self.__slots__
                 if name not in ("__weakref__", "_ref", "_origin") and hasattr(self, name)}
        state["_values"] = None if values is None else _copy(values)
        return state

    def __setstate__(self, state: dict) -> None:
        self._ref = self._origin = None
        self.unreadable = False  # tapes pickled before this field
        for name, value in state.items():
            setattr(self, name, value)

    def _take_copy(self, values: torch.Tensor) -> None:
        self._keep_metadata()
        self._values = values
        self._ref = None
        self._origin = None

    def stands_for(self, tensor: torch.Tensor) -> bool:
        """Let this snapshot serve as `tensor`'s too, when it is still a reference to exactly
        `tensor`'s memory, view and version, and the tensor first recorded is gone (a leaf's
        `.grad` that autograd made from the gradient this snapshot holds). From then on it
        follows `tensor`: the end of the recording copies it if `tensor` is still alive.
        False, and nothing changes, otherwise."""
        ref = self._ref
        if ref is None or ref._version != self._version or self.reachable_elsewhere():
            return False
        try:
            same = (
                tensor._version == self._version
                and tensor.dtype == ref.dtype
                and tensor.shape == ref.shape
                and tensor.stride() == ref.stride()
                and tensor.storage_offset() == ref.storage_offset()
                and _storage_key(tensor) == _storage_key(ref)
            )
        except Exception:
            return False
        if same:
            self._origin = weakref.ref(tensor)
        return same

    def reachable_elsewhere(self) -> bool:
        """The recorded tensor object is still alive: its owner could change it later."""
        return self.held() is not None

    def held(self) -> torch.Tensor | None:
        """The recorded tensor object, while someone else still holds it (until the end of
        the recording lets the reference go)."""
        return None if self._origin is None else self._origin()

    @property
    def values(self) -> torch.Tensor | None:
        """The values as recorded, on the CPU; None when the budget was spent (or, rarely,
        the tensor was changed in place before it could be copied: `stale`). Read-only: it
        may share memory with a tensor only the tape holds, or with other snapshots."""
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
            if d is None:  # a nested tensor's ragged dimension: count what was kept
                values = self.values
                return 0 if values is None else values.numel()
            n *= d
        return n

    def describe(self) -> str:
        dims = "×".join("*" if d is None else str(d) for d in self.shape) or "scalar"  # `*`: ragged
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
        if self.unreadable:
            out["unreadable"] = True
        values = self.values if with_values else None
        if values is not None:
            out["values"] = _json_values(values)
        return out

    def __repr__(self) -> str:
        return f"TensorSnapshot({self.describe()}, device={self.device})"


def unreadable_snapshot(tensor: torch.Tensor) -> TensorSnapshot:
    """Shape, dtype and device of a tensor whose values cannot be read here: a gradient
    batched by `torch.autograd.grad(..., is_grads_batched=True)` (vmap's batching rules
    refuse a copy, and its batch dimension is out of reach)."""
    snap = TensorSnapshot(tensor, None)  # statistics come out NaN: TensorStats.of never raises
    snap.unreadable = True
    return snap


def shape_of(t: torch.Tensor) -> tuple:
    """`tuple(t.shape)`; a nested tensor's ragged dimensions (which have no one size) are
    None: `(2, None, 3)` for two sequences of different lengths with 3 features."""
    try:
        shape = tuple(t.shape)
    except RuntimeError:  # strided layout: no sizes at all
        return tuple(_size_or_none(t, d) for d in range(t.dim()))
    if t.is_nested:  # jagged layout: a symbolic size (`j1`) stands for the ragged one
        return tuple(d if type(d) is int else None for d in shape)
    return shape


def _size_or_none(t: torch.Tensor, dim: int) -> int | None:
    try:
        return t.size(dim)
    except RuntimeError:
        return None


def _json_values(values: torch.Tensor) -> list | float | int | bool:
    """Nested lists JSON can hold: NaN and ±Inf become None (as in the statistics), a
    complex number a [real, imaginary] pair."""
    if values.is_nested:
        return [_json_values(v) for v in values.unbind()]
    if values.is_complex():
        values = torch.view_as_real(values.resolve_conj())
    data = values.tolist()
    if values.is_floating_point() and not bool(torch.isfinite(values).all()):
        data = _finite_or_none(data)
    return data


def _finite_or_none(data):
    if isinstance(data, list):
        return [_finite_or_none(d) for d in data]
    return _json_float(data)


def _json_float(x: float):
    return None if (isinstance(x, float) and not math.isfinite(x)) else x


def _can_reference(tensor: torch.Tensor, nbytes: int) -> bool:
    """Copy-on-write needs a version counter (inference tensors have none) and must not keep
    a big buffer alive for a small view of it (the budget counts only the view)."""
    try:
        return (
            tensor.layout == torch.strided
            and not tensor.is_inference()
            and tensor.untyped_storage().nbytes() <= 4 * nbytes + 4096
        )
    except Exception:
        return False


def _copy(tensor: torch.Tensor) -> torch.Tensor:
    """A CPU copy that records nothing: a detached tensor makes no autograd node."""
    return _copy_ref(tensor.detach())


def _copy_ref(ref: torch.Tensor) -> torch.Tensor:
    """`_copy` of a snapshot's reference, which is detached already."""
    return ref.clone() if ref.is_cpu else ref.to("cpu", copy=True)


def _storage_key(t: torch.Tensor):
    try:
        return (t.device, t.untyped_storage().data_ptr())
    except Exception:  # no storage (meta tensors, some subclasses): never changes under us
        return None


def _copy_buffer(snaps: list) -> None:
    """Copy references into one memory buffer, the buffer once: snapshots of the same view
    share a copy (a leaf's `.grad` and the gradient its AccumulateGrad received), and other
    views of it become views of one copy of the buffer (a weight's gradient and the
    transpose of it that TBackward received)."""
    views: dict = {}  # (dtype, shape, strides, offset) -> snapshots of that view
    for s in snaps:
        ref = s._ref
        if ref is None:
            continue
        if ref._version != s._version:
            s.materialize()  # changed unseen: marked stale
            continue
        try:  # conjugate and negative views differ from their base only by a flag
            key = (ref.dtype, ref.shape, ref.stride(), ref.storage_offset(), ref.is_conj(), ref.is_neg())
        except Exception:
            s.materialize()
            continue
        same = views.get(key)
        if same is None:
            views[key] = [s]
        else:
            same.append(s)
    if not views:
        return
    if len(views) > 1:
        first = next(iter(views.values()))[0]._ref
        try:
            whole = _copy_whole(first, views)
        except Exception:  # a layout or dtype without as_strided: a copy per view
            whole = None
        if whole is not None:
            for (_, shape, strides, offset, _, _), same in views.items():
                values = whole.as_strided(shape, strides, offset)
                for s in same:
                    s._take_copy(values)
            return
    for same in views.values():
        values = _copy_ref(same[0]._ref)
        for s in same:
            s._take_copy(values)


def _copy_whole(first: torch.Tensor, views: dict) -> torch.Tensor | None:
    """A copy of the whole buffer behind these views, when they are of one dtype and
    together cover it. Not for conjugated or negated views: those are flags, not strides."""
    dtype = first.dtype
    if first.is_complex() or any(key[0] != dtype or key[5] for key in views):
        return None
    size = first.untyped_storage().nbytes() // first.element_size()
    if size > sum(same[0]._ref.numel() for same in views.values()):
        return None
    return _copy_ref(first.as_strided((size,), (1,), 0))


_new_snapshot = object.__new__
_STRIDED = torch.strided


class SnapshotStore:
    """Makes the snapshots of one tape, and copies them before their tensors can change.

    A new reference is only appended to a list; grouping by storage waits until an in-place
    op (or the end of the recording) needs it, so a run without in-place ops pays for the
    grouping once."""

    def __init__(self, budget: MemoryBudget):
        self.budget = budget
        self._new: list[TensorSnapshot] = []  # references not grouped by storage yet
        self._pending: dict = {}  # storage key -> snapshots referencing that storage
        self._escaped: set = set()  # storages writable behind the version counter's back
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        """Snapshots travel on their own (see TensorSnapshot.__getstate__): none are kept here."""
        return {"budget": self.budget}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["budget"])

    def snapshot(self, tensor: torch.Tensor) -> TensorSnapshot:
        """A snapshot of `tensor` as it is now. This runs for every op output and gradient,
        so it is built right here rather than by the general constructor (same result)."""
        if tensor.is_meta:  # shapes without data (a model built on the meta device): nothing to keep
            return TensorSnapshot(tensor, None)
        try:
            nbytes = tensor.nbytes
            # `_can_reference`, inline: reading the version raises for inference tensors
            version = tensor._version
            reference = tensor.layout is _STRIDED and tensor.untyped_storage().nbytes() <= 4 * nbytes + 4096
        except Exception:
            nbytes = tensor.numel() * tensor.element_size()
            reference = False
        if reference and self._escaped and _storage_key(tensor) in self._escaped:
            reference = False  # a write through numpy or `.data` would go unseen: copy now
        if not self.budget.take(nbytes):
            return TensorSnapshot(tensor, None)  # statistics only
        snap = _new_snapshot(TensorSnapshot)
        snap.requires_grad = tensor.requires_grad
        snap._stats = None
        snap.stale = False
        snap.unreadable = False
        snap.values_dropped = False
        if reference:
            snap._shape = None  # shape, dtype and device: read from the reference when asked
            snap._values = None
            snap._ref = tensor.detach()  # shares storage and version counter
            snap._version = version
            snap._origin = weakref.ref(tensor)
            self._new.append(snap)
        else:
            snap._shape = shape_of(tensor)
            snap._dtype = tensor.dtype
            snap._device = tensor.device
            snap._ref = snap._origin = None
            try:
                snap._values = _copy(tensor)
            except Exception:  # a tensor no copy can read: a snapshot must never fail the run
                return unreadable_snapshot(tensor)
        return snap

    def _index_new(self) -> None:
        """Group the new references by storage (the caller holds the lock). Snapshots are
        appended without the lock (a list append is atomic), so only what is there now is
        taken off the front."""
        new = self._new
        count = len(new)
        batch = new[:count]
        del new[:count]
        pending = self._pending
        for snap in batch:
            ref = snap._ref
            if ref is None:
                continue
            key = _storage_key(ref)
            if key is None:
                snap.materialize()
                continue
            group = pending.get(key)
            if group is None:
                pending[key] = [snap]
            else:
                group.append(snap)

    def escape(self, tensor: torch.Tensor) -> None:
        """`tensor`'s memory is now reachable where writes do not move its version counter
        (`.data`, `.numpy()`, DLPack): copy what references it, and copy it from now on."""
        key = _storage_key(tensor)
        if key is None:
            return
        with self._lock:
            self._escaped.add(key)
        self.before_write(tensor)

    def version_moved(self, tensor: torch.Tensor, old: int, new: int) -> None:
        """`tensor`'s version counter went from `old` to `new` with no data written (autograd
        marking a custom Function's output dirty): references taken at `old` still hold."""
        key = _storage_key(tensor)
        with self._lock:
            self._index_new()
            for snap in self._pending.get(key, ()):
                if snap._ref is not None and snap._version == old:
                    snap._version = new

    def before_write(self, tensor: torch.Tensor) -> None:
        """`tensor` is about to be changed in place: copy every snapshot sharing its storage."""
        if not self._pending and not self._new:
            return
        key = _storage_key(tensor)
        with self._lock:
            self._index_new()
            snaps = self._pending.pop(key, ())
        _copy_buffer(snaps)

    def settle(self) -> None:
        """The recording ends: copy what someone else could still change, and everything on
        a GPU (to the CPU); the rest (CPU tensors only the tape can reach) stays a reference
        forever. Every reference of the recording passes through here, so the loop is kept
        to one storage read and one liveness check each."""
        with self._lock:
            new = self._new
            count = len(new)
            snaps = new[:count]
            del new[:count]
            for group in self._pending.values():
                snaps.extend(group)
            self._pending = {}
        exposed: dict = {}  # storage some other live tensor can change -> its snapshots
        kept = []
        for snap in snaps:
            ref = snap._ref
            if ref is None:
                continue
            try:  # CPU storages by address; on other devices (always copied) with the device
                key = ref.untyped_storage().data_ptr()
                on_cpu = ref.is_cpu
                if not on_cpu:
                    key = (str(ref.device), key)
            except Exception:  # no storage (meta tensors, some subclasses)
                snap.materialize()
                continue
            origin = snap._origin
            if not on_cpu or (origin is not None and origin() is not None):  # a tape never holds GPU memory
                group = exposed.get(key)
                if group is None:
                    exposed[key] = [snap]
                else:
                    group.append(snap)
            else:
                kept.append((key, snap))
        for key, snap in kept:
            group = exposed.get(key)
            if group is None:
                snap._origin = None  # nobody else can change it: stays a reference
            else:
                group.append(snap)
        for group in exposed.values():
            _copy_buffer(group)
