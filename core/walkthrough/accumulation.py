"""How much `.grad` grew between two backward passes: the proof that backward accumulates.

Without `optimizer.zero_grad()`, a second backward on the same batch and weights adds the
same gradient again, so every element doubles: the ratio is exactly 2.
"""

from __future__ import annotations

import math

import torch


def elementwise_ratio(first: torch.Tensor | None, second: torch.Tensor | None) -> torch.Tensor | None:
    """second / first per element; NaN where first is 0. None when either has no grad."""
    if first is None or second is None:
        return None
    first, second = first.detach().double(), second.detach().double()
    ratio = torch.full_like(first, math.nan)
    nonzero = first != 0
    ratio[nonzero] = second[nonzero] / first[nonzero]
    return ratio


def accumulation_ratio(first: dict, second: dict) -> dict[str, float]:
    """Per parameter, the median of second/first over elements where first != 0 (the median
    shrugs off elements whose first gradient is nearly 0). NaN when there is nothing to
    compare (no grad, or an all-zero first grad)."""
    ratios = {}
    for name, a in first.items():
        r = elementwise_ratio(a, second.get(name))
        if r is None:
            ratios[name] = math.nan
            continue
        known = r[~torch.isnan(r)]
        ratios[name] = float(known.median()) if known.numel() else math.nan
    return ratios
