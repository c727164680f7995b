"""Discovering autograd nodes as they appear, and what each one saves for backward.

Nodes are identified while recording by the Python object PyTorch hands out for them
(it stays the same object while someone holds it); the tape only ever sees string ids.
"""

from __future__ import annotations

import itertools

import torch

from .snapshot import shape_of
from .tape import PACKED, SavedTensorInfo

_saved_attr_cache: dict[type, tuple[tuple[str, str], ...]] = {}


def saved_attribute_names(fn) -> tuple[tuple[str, str], ...]:
    """(attribute, saved name) for each `_saved_*` attribute of a node type:
    `("_saved_self", "self")`; and `saved_tensors` for a custom Function's node."""
    names = _saved_attr_cache.get(type(fn))
    if names is None:
        names = tuple((a, a[len("_saved_"):]) for a in dir(fn) if a.startswith("_saved_"))
        if isinstance(fn, _CustomFunctionNode):  # a custom Function: what ctx.save_for_backward kept
            names += (("saved_tensors", "saved_tensors"),)
        _saved_attr_cache[type(fn)] = names
    return names


_CustomFunctionNode = torch.autograd.function.BackwardCFunction


_device_names: dict = {}
_dtype_names: dict = {}


def device_name(device: torch.device) -> str:
    """`str(device)`, cached: formatting a device costs more than the rest of a lookup."""
    name = _device_names.get(device)
    if name is None:
        name = _device_names[device] = str(device)
    return name


def dtype_name(dtype: torch.dtype) -> str:
    """"float32" for torch.float32, cached."""
    name = _dtype_names.get(dtype)
    if name is None:
        name = _dtype_names[dtype] = str(dtype).removeprefix("torch.")
    return name


def storage_key(t: torch.Tensor) -> tuple | None:
    try:
        st = t.untyped_storage()
        return (device_name(t.device), st.data_ptr(), st.nbytes())
    except Exception:  # tensors without storage (meta, some subclasses)
        return None


_Tensor = torch.Tensor


_packed_cache: dict[type, frozenset] = {}


def _tensor_attributes(fn) -> frozenset:
    """The saved attributes that hold tensors: those with a `_raw_saved_*` twin."""
    names = _packed_cache.get(type(fn))
    if names is None:
        raw = {a[len("_raw"):] for a in dir(fn) if a.startswith("_raw_saved")}  # "_saved_self"
        names = _packed_cache[type(fn)] = frozenset(
            a for a, _ in saved_attribute_names(fn) if a in raw or "_" + a in raw  # custom: saved_tensors
        )
    return names


def saved_tensors_hooked() -> bool:
    """A `saved_tensors_hooks` context is active (`torch.utils.checkpoint`, `save_on_cpu`):
    what nodes save now is packed by it, and unpacking runs its hook (checkpoint recomputes
    the forward each time)."""
    try:
        return torch._C._autograd._top_saved_tensors_default_hooks(False) is not None
    except Exception:  # the private hook stack moved: read saved tensors as before
        return False


def inspect_saved(fn, leaf_storages: set, packed: bool = False) -> list[SavedTensorInfo] | None:
    """What `fn` keeps for backward; None if it was already freed. Runs for every node a
    recording finds, so values other than tensors are kept as they are and put into words
    only when someone reads them. `packed`: a saved-tensors hook packed its tensors; they
    are named, never unpacked (that would run the user's hook)."""
    out: list[SavedTensorInfo] = []
    hooked = _tensor_attributes(fn) if packed else ()
    for attr, name in saved_attribute_names(fn):
        if attr in hooked:
            out.append(SavedTensorInfo(name, None, None, 0, None, False, PACKED))
            continue
        try:
            value = getattr(fn, attr)
        except RuntimeError:  # "saved tensors ... have already been freed"
            return None
        except Exception:
            continue
        kind = type(value)
        if isinstance(value, _Tensor):
            out.append(_tensor_info(name, value, leaf_storages))
        elif (kind is tuple or kind is list) and value and type(value[0]) is not int and _has_tensor(value):
            if len(value) == 1:
                out.append(_tensor_info(name, value[0], leaf_storages))
            else:  # a list of optional tensors may hold None too
                out.extend(
                    _tensor_info(f"{name}[{i}]", t, leaf_storages)
                    if isinstance(t, _Tensor)
                    else SavedTensorInfo(f"{name}[{i}]", None, None, 0, None, False, None, t)
                    for i, t in enumerate(value)
                )
        elif attr == "saved_tensors" and not value:  # a custom Function that saved nothing
            continue
        else:  # sizes, dims, scalars: plain values, safe to keep
            out.append(SavedTensorInfo(name, None, None, 0, None, False, None, value))
    return out


def _has_tensor(values) -> bool:
    for v in values:
        if isinstance(v, _Tensor):
            return True
    return False


def _tensor_info(name: str, t: torch.Tensor, leaf_storages: set) -> SavedTensorInfo:
    key = storage_key(t)
    try:
        nbytes = t.nbytes
    except RuntimeError:  # sparse: what its indices and values take
        nbytes = _sparse_bytes(t)
    return SavedTensorInfo(name, shape_of(t), dtype_name(t.dtype), nbytes, key, key in leaf_storages)


def _sparse_bytes(t: torch.Tensor) -> int:
    try:
        if t.layout == torch.sparse_coo:
            return t._indices().nbytes + t._values().nbytes
        if t.layout in (torch.sparse_csr, torch.sparse_bsr):
            return t.crow_indices().nbytes + t.col_indices().nbytes + t.values().nbytes
        if t.layout in (torch.sparse_csc, torch.sparse_bsc):
            return t.ccol_indices().nbytes + t.row_indices().nbytes + t.values().nbytes
    except RuntimeError:
        pass
    return 0


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


def walk_new(roots, ids: NodeIds) -> list[tuple]:
    """(node, its next_functions) for the autograd nodes reachable from `roots` that `ids`
    has not seen, producers first.

    Iterative (deep graphs would overflow recursion) and stops at known nodes, so the cost
    is proportional to what is new. `next_functions` builds a new tuple at every read: it
    is read once here and handed on.
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
        nexts = fn.next_functions
        new.append((fn, nexts))
        for nxt, _ in nexts:
            if nxt is not None and id(nxt) not in local and known(nxt) is None:
                stack.append(nxt)
    # Creation order: autograd numbers nodes as it creates them (AccumulateGrad has none).
    if len(new) > 1:
        new.sort(key=_creation_key)
    return new


def _creation_key(pair) -> tuple:
    fn = pair[0]
    if is_accumulate(fn):
        return (0, 0)
    try:
        return (1, fn._sequence_nr())
    except Exception:
        return (1, 0)


_type_names: dict[type, str] = {}


def type_name(fn) -> str:
    """The node's class name ("AddmmBackward0"), cached per type."""
    t = type(fn)
    name = _type_names.get(t)
    if name is None:
        name = _type_names[t] = t.__name__
    return name


def sequence_nr(fn) -> int:
    try:
        return fn._sequence_nr()
    except Exception:
        return -1
