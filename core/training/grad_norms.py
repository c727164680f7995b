"""Gradient size per layer after a backward pass: vanishing or exploding gradients show up
as one layer's line falling or rising away from the others.

All gradients on a device are measured by one fused `torch._foreach_norm` call and brought
to the CPU together, so a GPU run waits once per step, not once per parameter.
"""

from __future__ import annotations

import math

import torch
from torch import nn

ROOT_NAME = "model"  # the name of the model itself when it owns parameters directly


def _norms(grads: list[torch.Tensor]) -> list[float]:
    """L2 norm of each gradient, in float32 at least (a float16 norm overflows early)."""
    by_device: dict[torch.device, list[int]] = {}
    for i, g in enumerate(grads):
        by_device.setdefault(g.device, []).append(i)
    result = [0.0] * len(grads)
    for indices in by_device.values():
        group = [grads[i] for i in indices]
        try:
            norms = torch._foreach_norm(group, 2, dtype=torch.float32)
        except (RuntimeError, TypeError, NotImplementedError):  # sparse gradients, older torch
            norms = [torch.linalg.vector_norm(g.coalesce().values() if g.is_sparse else g, dtype=torch.float32)
                     for g in group]
        for i, value in zip(indices, torch.stack(list(norms)).tolist()):
            result[i] = value
    return result


class LayerGradNorms:
    """Reads {module name: L2 norm of all its own parameters' gradients together} after each
    backward, for every module that owns parameters directly ("layers.0", "fc"; the model
    itself is "model"). Which module owns which parameter is worked out once, not per read."""

    def __init__(self, model: nn.Module):
        self.owned = [(name or ROOT_NAME, param)
                      for name, module in model.named_modules() for param in module.parameters(recurse=False)]

    def read(self) -> dict[str, float]:
        """Parameters without a gradient are skipped; a module with none is left out."""
        owners, grads = [], []
        for owner, param in self.owned:
            if param.grad is not None:
                owners.append(owner)
                grads.append(param.grad.detach())
        squares: dict[str, float] = {}
        for owner, norm in zip(owners, _norms(grads)):
            squares[owner] = squares.get(owner, 0.0) + norm * norm
        return {owner: math.sqrt(total) for owner, total in squares.items()}


def layer_grad_norms(model: nn.Module) -> dict[str, float]:
    """The per-layer gradient norms of `model` now (see `LayerGradNorms`)."""
    return LayerGradNorms(model).read()
