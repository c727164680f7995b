"""`torch.compile`d code under `record()`: run eagerly, named as written.

Compiled code hides its ops from a torch-function mode: a compiled function shows up as one
`CompiledFunction.apply` (or, with some backends, as runs of `GeneratedBackwardFor_...`
calls) instead of the user's `linear`, `relu`, … So while recording, the compiler's stance is
"force_eager": compiled functions and modules run their Python as written, op by op, and the
graph shows what the model does. (The stance is process-wide in PyTorch, so code compiled
elsewhere in the process also runs eagerly for the length of the recording.)

A compiled module (`torch.compile(net)`) wraps the original as `_orig_mod`; names drop that
wrapper, so parameters read `0.weight`, not `_orig_mod.0.weight`.
"""

from __future__ import annotations

import contextlib
import sys

from torch import nn

WRAPPED = "_orig_mod"  # the attribute an OptimizedModule keeps the compiled module in

_wrapper_types: dict[type, bool] = {}


def is_compiled_wrapper(mod: nn.Module) -> bool:
    """`mod` is what `torch.compile(module)` returned (checked per type; dynamo is not
    imported for it)."""
    t = type(mod)
    hit = _wrapper_types.get(t)
    if hit is None:
        hit = _wrapper_types[t] = t.__name__ == "OptimizedModule" and t.__module__.startswith("torch._dynamo")
    return hit


def has_compiled_wrapper(root: nn.Module) -> bool:
    return any(is_compiled_wrapper(m) for m in root.modules())


def without_wrappers(name: str) -> str:
    """`_orig_mod.0.weight` -> `0.weight` (only called for trees with a compiled wrapper)."""
    return ".".join(part for part in name.split(".") if part != WRAPPED)


def run_compiled_code_eagerly():
    """A context manager for the recording: compiled code runs eagerly inside it. Nothing
    to do when the compiler was never loaded (nothing can have been compiled), on a PyTorch
    without stances (before 2.6), or inside a compiled region (where PyTorch refuses)."""
    dynamo = sys.modules.get("torch._dynamo")
    set_stance = getattr(dynamo, "set_stance", None)
    if set_stance is None:
        return contextlib.nullcontext()
    try:
        return set_stance("force_eager")  # set now; leaving the context restores the prior one
    except RuntimeError:
        return contextlib.nullcontext()
