"""The tape: everything one recording saw, in order, as plain data."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from .events import CallEvent, Event, ModuleCall
from .snapshot import MemoryBudget, SnapshotStore, TensorSnapshot

DEFAULT_MEMORY_BUDGET = 256 * 1024 * 1024


_NO_RAW = object()
PACKED = "packed by a saved-tensors hook: not read"  # the value of a tensor a hook packed


class SavedTensorInfo:
    """One thing autograd keeps on a node for its backward (a `_saved_*` attribute).

    A plain slotted class rather than a dataclass: a step makes hundreds. The short text of
    a non-tensor value (dims, scalars) is made when first read, not while recording."""

    __slots__ = ("name", "shape", "dtype", "nbytes", "storage_key", "aliases_leaf", "_value", "_raw")

    def __init__(
        self,
        name: str,  # "self", "mat2", "result"...
        shape: tuple | None,  # None for non-tensors
        dtype: str | None,
        nbytes: int,
        storage_key: tuple | None,  # identifies shared storage, to count each buffer once
        aliases_leaf: bool = False,  # the buffer belongs to a parameter or input anyway
        value: str | None = None,  # short text of a non-tensor value
        raw=_NO_RAW,  # or the value itself, put into words on first read
    ):
        self.name = name
        self.shape = shape
        self.dtype = dtype
        self.nbytes = nbytes
        self.storage_key = storage_key
        self.aliases_leaf = aliases_leaf
        self._value = value
        self._raw = raw

    @property
    def value(self) -> str | None:
        if self._raw is not _NO_RAW:
            self._value = _short_repr(self._raw)
            self._raw = _NO_RAW
        return self._value

    @property
    def packed(self) -> bool:
        """A tensor packed by a saved-tensors hook (checkpoint, save_on_cpu): not unpacked to
        look at it, since that runs the hook."""
        return self._value == PACKED

    def to_dict(self) -> dict:
        """The fields, the value as text (for JSON and pickling: the raw value need not do either)."""
        return {"name": self.name, "shape": self.shape, "dtype": self.dtype, "nbytes": self.nbytes,
                "storage_key": self.storage_key, "aliases_leaf": self.aliases_leaf, "value": self.value}

    def __getstate__(self) -> dict:
        return self.to_dict()

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)

    def __eq__(self, other) -> bool:
        return isinstance(other, SavedTensorInfo) and self.to_dict() == other.to_dict()

    __hash__ = None

    def __repr__(self) -> str:
        return "SavedTensorInfo(" + ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items()) + ")"


def _short_repr(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass
class NodeInfo:
    """An autograd node (`grad_fn`), as discovered while recording. (Built with positional
    arguments, one per node: add new fields at the end.)"""

    id: str
    name: str  # grad_fn class name: "AddmmBackward0", "AccumulateGrad"
    step: int  # index of the event that created it; -1 if it existed before recording
    module: str | None
    module_call: int | None
    # (producer id, shape, slot, producer output nr): slot indexes next_functions, and so
    # the gradients this node sends; the output nr picks what the producer receives
    inputs: list[tuple[str, tuple | None, int, int]] = field(default_factory=list)
    output_shapes: list[tuple | None] = field(default_factory=list)
    leaf: str | None = None  # for AccumulateGrad: the leaf it accumulates into
    saved: list[SavedTensorInfo] | None = None  # None: not (yet) inspected
    sequence_nr: int = -1

    @property
    def is_accumulate(self) -> bool:
        return self.leaf is not None


@dataclass
class LeafInfo:
    """A tensor autograd treats as a leaf: a parameter or a user tensor with requires_grad."""

    id: str
    name: str
    kind: str  # "parameter" or "input"
    shape: tuple
    dtype: str
    step: int
    module: str | None = None  # owning module path for parameters
    value: TensorSnapshot | None = None  # as first seen
    storage_key: tuple | None = None
    updates: list[tuple[int, TensorSnapshot]] = field(default_factory=list)  # (event, new value)

    def value_at(self, step: int) -> TensorSnapshot | None:
        """The value after event `step`: changed by in-place updates such as optimizer.step()."""
        value = self.value
        for k, snap in self.updates:
            if k <= step:
                value = snap
        return value


@dataclass
class OutputInfo:
    """A tensor the graph leads to: a root of backward, or the last result computed."""

    node: str
    name: str
    shape: tuple


class Tape:
    """An ordered record of one run: forward calls, then backward passes.

    Attributes:
        events: every event in order; `events[k].index == k`.
        nodes: autograd nodes by id, in discovery order.
        leaves: parameters and inputs by id.
        module_calls: each forward invocation of a module.
        outputs: the tensors the graph leads to.
        failed: the user's code raised (the last event is an ErrorEvent).
        values_truncated: the memory budget ran out; later snapshots hold stats only.
    """

    def __init__(self, memory_budget: int = DEFAULT_MEMORY_BUDGET):
        self.events: list[Event] = []
        self.nodes: dict[str, NodeInfo] = {}
        self.leaves: dict[str, LeafInfo] = {}
        self.module_calls: list[ModuleCall] = []
        self.module_classes: dict[str, str] = {}  # module path -> class name
        self.outputs: list[OutputInfo] = []
        self.failed = False
        self.error: BaseException | None = None
        self.budget = MemoryBudget(memory_budget)
        self.store = SnapshotStore(self.budget)
        self.backward_passes = 0
        self._lock = threading.Lock()
        self._graph_cache = None

    # -- pickling: a finished tape can be sent to another process ----------------------
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["_lock"]
        state["_graph_cache"] = None
        state["error"] = _picklable_error(self.error)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    # -- appending (the recorder's side) ---------------------------------------------
    def append(self, event_cls, **fields) -> Event:
        with self._lock:
            ev = event_cls(index=len(self.events), **fields)
            self.events.append(ev)
            self._graph_cache = None
            return ev

    def add(self, ev: Event) -> Event:
        """Append an event built by the caller (positional fields are cheaper than keywords,
        which counts at hundreds of events per step); its index is set here."""
        with self._lock:
            ev.index = len(self.events)
            self.events.append(ev)
            self._graph_cache = None
            return ev

    # -- reading ---------------------------------------------------------------------
    @property
    def values_truncated(self) -> bool:
        return self.budget.exhausted

    @property
    def forward_events(self) -> list[CallEvent]:
        return [e for e in self.events if isinstance(e, CallEvent)]

    def __len__(self) -> int:
        return len(self.events)

    def graph(self, step: int | None = None):
        """The graph as it was after event `step` (the whole tape when None)."""
        from ..graph.build import build_graph

        if self._graph_cache is None:
            self._graph_cache = build_graph(self)
        g = self._graph_cache
        return g if step is None else g.at(step)

    def summary(self) -> str:
        kinds: dict[str, int] = {}
        for e in self.events:
            kinds[e.kind] = kinds.get(e.kind, 0) + 1
        parts = ", ".join(f"{v} {k}" for k, v in kinds.items())
        state = "failed" if self.failed else "ok"
        return f"Tape({len(self.events)} events: {parts}; {len(self.nodes)} nodes, {len(self.leaves)} leaves; {state})"

    __repr__ = summary


def _picklable_error(error: BaseException | None) -> BaseException | None:
    """The error itself when it pickles, else a RuntimeError that says the same."""
    if error is None:
        return None
    import pickle

    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
