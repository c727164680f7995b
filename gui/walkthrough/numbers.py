"""How tensor values are written in the walkthrough: short in cells, full precision on hover.

A cell shows four significant digits so a row fits; the tooltip shows the value exactly as
stored (float32's shortest round-trip text), so nothing is hidden from a sceptical student.
"""

from __future__ import annotations

import math

import numpy as np
import torch

SAMPLE = 3  # values shown in a "first values" cell
TOOLTIP_VALUES = 8  # values listed in a cell's tooltip


def as_array(t: torch.Tensor) -> np.ndarray:
    """A CPU numpy copy in the tensor's own float precision (float32 stays float32)."""
    t = t.detach().cpu()
    if not t.is_floating_point():
        t = t.double()
    elif t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    return t.numpy()


def short(v: float) -> str:
    if math.isnan(v):
        return "nan"
    if v == 0:
        return "0"
    return f"{v:.4g}"


def fixed(v: float, decimals: int) -> str:
    return "nan" if math.isnan(v) else f"{v:.{decimals}f}"


def full(v) -> str:
    """Every digit the value holds: the shortest text that reads back as the same number
    in the value's own precision (numpy scalars keep float32's)."""
    return str(v) if isinstance(v, np.generic) else repr(float(v))


def first_values(t: torch.Tensor | None, n: int = SAMPLE) -> list:
    """The first n elements in memory order, as numpy scalars of the tensor's precision."""
    if t is None:
        return []
    return list(as_array(t).reshape(-1)[:n])


def sample_text(values: list, total: int) -> str:
    text = ", ".join(short(float(v)) for v in values)
    return text + (", …" if total > len(values) else "")


def values_tooltip(name: str, t: torch.Tensor | None) -> str:
    """Full-precision first values, with where they sit in the tensor."""
    if t is None:
        return f"{name}: none yet"
    flat = as_array(t).reshape(-1)
    shown = flat[:TOOLTIP_VALUES]
    more = f"\n… {flat.size - shown.size} more" if flat.size > shown.size else ""
    lines = [f"{name} (first {shown.size} of {flat.size}, full precision):"]
    lines += [f"  [{k}] {full(v)}" for k, v in enumerate(shown)]
    return "\n".join(lines) + more


def grid(t: torch.Tensor) -> np.ndarray:
    """A tensor as rows and columns: a vector is one row, a conv kernel [out, in, k, k]
    becomes [out, in·k·k] (the same view as the update heatmap)."""
    a = as_array(t)
    if a.ndim == 0:
        return a.reshape(1, 1)
    if a.ndim == 1:
        return a.reshape(1, -1)
    return a.reshape(a.shape[0], -1)


def decimals_for(biggest: float, least: int = 4, most: int = 8) -> int:
    """Decimals that show `biggest` (the largest lr·grad on screen) with three significant
    digits, so `old − lr·grad = new` can be checked by eye (to the last digit's rounding;
    the tooltips hold every digit)."""
    if not biggest > 0 or math.isinf(biggest):
        return least
    return max(least, min(most, 3 - math.floor(math.log10(biggest))))


def norm(t: torch.Tensor | None) -> float | None:
    return None if t is None else float(t.detach().double().norm())
