"""What the parameter table and the selected-parameter view show after a line.

Three modes: the current `.grad` (most lines); two `.grad`s side by side with their ratio
(a backward that added to gradients already there: the accumulation lesson); and the
step's old, grad and new weights (after `optimizer.step()`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from gradstudio.core.walkthrough import LineResult, ParamUpdate, accumulation_ratio
from gradstudio.core.walkthrough.seed_lines import BACKWARD, ZERO_GRAD
from gradstudio.core.walkthrough.seed_lines import STEP as STEP_LINE

GRADS, COMPARE, STEP = "grads", "compare", "step"


@dataclass
class Inspection:
    mode: str
    params: dict[str, torch.Tensor]  # the weights after the line
    grads: dict[str, torch.Tensor | None]  # .grad after the line
    lr: float = 0.0
    updates: dict[str, ParamUpdate] = field(default_factory=dict)  # STEP
    before_label: str = ""  # COMPARE: where the first .grad came from
    after_label: str = ""
    before: dict[str, torch.Tensor | None] = field(default_factory=dict)
    ratios: dict[str, float] = field(default_factory=dict)  # COMPARE: median of after / before

    @property
    def names(self) -> list[str]:
        return list(self.params)


class GradHistory:
    """Remembers where the current `.grad` came from, to label an accumulation."""

    def __init__(self):
        self.label: str | None = None  # "iteration 1", "backward again"; None: no .grad

    def inspect(self, result: LineResult, previous: LineResult | None, lr: float, *,
                again: bool = False) -> Inspection:
        """The inspection after `result`; `previous` is the line before it (its .grad is
        what this line started from)."""
        base = Inspection(GRADS, result.params, result.grads, lr)
        if not result.ok:
            return base
        if result.index == ZERO_GRAD:
            if not result.change.startswith("skipped"):
                self.label = None  # cleared
            return base
        if result.index == BACKWARD:
            label = "backward again" if again else f"iteration {result.iteration}"
            before = previous.grads if previous is not None else {}
            earlier, self.label = self.label, label
            if earlier is None or _all_missing(before):
                return base
            return Inspection(COMPARE, result.params, result.grads, lr, before_label=earlier, after_label=label,
                              before=before, ratios=accumulation_ratio(before, result.grads))
        if result.index == STEP_LINE and result.updates is not None:
            return Inspection(STEP, result.params, result.grads, lr, updates={u.name: u for u in result.updates})
        return base


def _all_missing(grads: dict) -> bool:
    return all(g is None for g in grads.values())
