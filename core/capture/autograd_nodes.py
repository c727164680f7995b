"""Discovering autograd nodes as they appear, and what each one saves for backward.

Nodes are identified while recording by the Python object PyTorch hands out for them
(it stays the same object while someone holds it); the tape only ever sees string ids.
"""

from __future__ import annotations

import itertools

import torch

from .tape import SavedTensorInfo

_saved_attr_cache: dict[type, tuple[str, ...]] = {}


def saved_attribute_names(fn) -> tuple[str, ...]:
    names = _saved_attr_cache.get(type(fn))
    if names is None:
        names = tuple(a for a in dir(fn) if a.startswith("_saved_"))
        _saved_attr_cache[type(fn)] = names
    return names


def storage_key(t: torch.Tensor) -> tuple | None:
    try:
        st = t.untyped_storage()
        return (str(t.device), st.data_ptr(), st.nbytes())
    except Exception:  # tensors without storage (meta, some subclasses)
        return None


def inspect_saved(fn, leaf_storages: set) -> list[SavedTensorInfo] | None:
    """What `fn` keeps for backward; None if it was already freed."""
    out: list[SavedTensorInfo] = []
    for attr in saved_attribute_names(fn):
        try:
            value = getattr(fn, attr)
        except RuntimeError:  # "saved tensors ... have already been freed"
            return None
        except Exception:
            continue
        name = attr[len("_saved_"):]
        tensors = value if isinstance(value, (list, tuple)) and value and isinstance(value[0], torch.Tensor) else None
        if isinstance(value, torch.Tensor):
            tensors = [value]
        if tensors is None:
            out.append(SavedTensorInfo(name, None, None, 0, None, value=_short_repr(value)))
            continue
        for i, t in enumerate(tensors):
            key = storage_key(t)
            out.append(
                SavedTensorInfo(
                    name=name if len(tensors) == 1 else f"{name}[{i}]",
                    shape=tuple(t.shape),
                    dtype=str(t.dtype).removeprefix("torch."),
                    nbytes=t.numel() * t.element_size(),
                    storage_key=key,
                    aliases_leaf=key in leaf_storages,
                )
            )
    return out


def _short_repr(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_accumulate_types: dict[type, bool] = {}


def is_accumulate(fn) -> bool:
    """AccumulateGrad, the node that writes a leaf's `.grad` (checked per type: `hasattr`
    on other nodes raises and catches an AttributeError, which is slow)."""
    t = type(fn)
    hit = _accumulate_types.get(t)
    if hit is None:
        hit = _accumulate_types[t] = t.__name__ == "AccumulateGrad"
    return hit


def output_shapes(fn) -> list[tuple | None]:
    try:
        return [tuple(m.shape) for m in fn._input_metadata]
    except Exception:
        return []


class NodeIds:
    """Which autograd nodes a recording has seen, and their ids.

    The id is written into the node's own `metadata` dict, which lives as long as the node:
    the recorder keeps no node alive (an evaluation loop without backward would otherwise
    keep every graph and its saved tensors). AccumulateGrad nodes are the exception: PyTorch
    remakes them when nothing holds them, and one leaf must stay one node.
    """

    _count = itertools.count()

    def __init__(self):
        self.key = f"gradstudio-{next(NodeIds._count)}"
        self._accumulators: list = []

    def get(self, fn) -> str | None:
        try:
            return fn.metadata.get(self.key)
        except Exception:  # a node type without metadata: treat as new each time
            return None

    def set(self, fn, node_id: str) -> None:
        fn.metadata[self.key] = node_id
        if is_accumulate(fn):
            self._accumulators.append(fn)

    def clear(self) -> None:
        self._accumulators.clear()


def walk_new(roots, ids: NodeIds) -> list:
    """Autograd nodes reachable from `roots` that `ids` has not seen, producers first.

    Iterative (deep graphs would overflow recursion) and stops at known nodes, so the cost
    is proportional to what is new.
    """
    known = ids.get
    new = []
    stack = [r for r in roots if r is not None and known(r) is None]
    local = set()
    while stack:
        fn = stack.pop()
        key = id(fn)  # fine within one walk: every node here is alive
        if key in local:
            continue
        local.add(key)
        new.append(fn)
        for nxt, _ in fn.next_functions:
            if nxt is not None and id(nxt) not in local and known(nxt) is None:
                stack.append(nxt)
    # Creation order: autograd numbers nodes as it creates them (AccumulateGrad has none).
    new.sort(key=_creation_key)
    return new


def _creation_key(fn) -> tuple:
    if is_accumulate(fn):
        return (0, 0)
    try:
        return (1, fn._sequence_nr())
    except Exception:
        return (1, 0)


def sequence_nr(fn) -> int:
    try:
        return fn._sequence_nr()
    except Exception:
        return -1
