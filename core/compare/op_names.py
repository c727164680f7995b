"""One name per operation, whichever side named it.

The tape names a call as the user wrote it (`linear`, `__getitem__`, `add_`); torch.export
names an ATen overload (`aten.linear.default`, `aten.select.int`); torch.jit.trace an ATen
kind (`aten::_convolution`). `op_key` folds these onto one key so the two sequences can be
aligned. The folding is deliberately coarse and listed here in full:

- dunders lose their underscores, reflected and in-place forms their prefix
  (`__rmul__`, `__imul__` -> `mul`; `__rsub__` stays `rsub`, as ATen has `rsub`);
- leading underscores go (`_softmax`, `_convolution`: ATen's private variants);
- a trailing underscore goes (`relu_` pairs with `relu`: in-place or not, same work);
- every convolution is `conv` (a trace only says `_convolution`), every indexing `index`
  (`x[0]` is `select`, `x[:, 1:]` is `slice`), and ATen's `numpy_T` is the `.T` property.
"""

from __future__ import annotations

_REFLECTED_SAME = frozenset({"radd", "rmul", "rand", "ror", "rxor", "rmatmul", "rpow"})
_INPLACE_DUNDER = frozenset(
    "iadd isub imul itruediv ifloordiv imod ipow imatmul iand ior ixor ilshift irshift".split()
)
_ALIASES = {
    "conv1d": "conv",
    "conv2d": "conv",
    "conv3d": "conv",
    "convolution": "conv",
    "conv_transpose1d": "conv",
    "conv_transpose2d": "conv",
    "conv_transpose3d": "conv",
    "getitem": "index",
    "select": "index",
    "slice": "index",
    "truediv": "div",
    "floordiv": "floor_divide",
    "invert": "bitwise_not",
    "and": "bitwise_and",
    "or": "bitwise_or",
    "xor": "bitwise_xor",
    "lshift": "bitwise_left_shift",
    "rshift": "bitwise_right_shift",
    "pos": "positive",
    "numpy_T": "T",  # the `.T` property: the tape names it as written, ATen as numpy_T
}

# Calls that only move Python values around (sizes, tuple items, scalars for `if`):
# they steer the program but compute nothing a graph would keep.
PYTHON_LEVEL = frozenset(
    """__bool__ __int__ __float__ __index__ __len__ __iter__ __contains__ item tolist is_nonzero
    equal allclose size dim numel stride getitem sym_size sym_stride sym_numel sym_storage_offset
    sym_constrain_range sym_constrain_range_for_size _assert_scalar _assert_async
    _assert_tensor_metadata _local_scalar_dense _set_grad_enabled Int Float Bool ScalarImplicit
    NumToTensor ImplicitTensorToNum len format warn""".split()
)


def op_key(name: str) -> str:
    """The key two spellings of the same operation share: `__rmul__` and `aten.mul` -> `mul`."""
    n = name
    if n.startswith("__") and n.endswith("__") and len(n) > 4:
        n = n[2:-2]
        if n in _REFLECTED_SAME or n in _INPLACE_DUNDER:
            n = n[1:]
    n = n.lstrip("_").rstrip("_") or name
    return _ALIASES.get(n, n)


def export_op_name(target) -> str:
    """A readable name for an FX node target: `aten.linear.default` -> `linear`."""
    packet = getattr(target, "overloadpacket", None)
    if packet is not None:
        return packet.__name__
    name_of = getattr(target, "name", None)
    if callable(name_of):  # higher-order operators: torch.ops.higher_order.cond
        try:
            return str(name_of())
        except Exception:
            pass
    return getattr(target, "__name__", None) or str(target)


def trace_op_name(kind: str) -> str:
    """A readable name for a TorchScript node kind: `aten::linear` -> `linear`."""
    return kind.split("::", 1)[-1]
