"""Models a training run can make for itself from its data."""

from __future__ import annotations

import torch

from ..builder import ModuleSpec


def small_mlp_spec(dataset, hidden: int = 32):
    """A two-hidden-layer MLP sized for `dataset`: in = its features, out = its classes (or targets)."""
    M = ModuleSpec
    x, y = dataset[0]
    x, y = torch.as_tensor(x), torch.as_tensor(y)
    inputs = int(x.numel())
    if getattr(dataset, "task", None) == "regression" or y.is_floating_point():
        outputs = int(y.numel()) or 1
    else:
        outputs = int(getattr(dataset, "num_classes", None) or 2)
    layers = [M.of("Flatten")] if x.dim() > 1 else []
    layers += [M.of("Linear", in_features=inputs, out_features=hidden), M.of("ReLU"),
               M.of("Linear", in_features=hidden, out_features=hidden), M.of("ReLU"),
               M.of("Linear", in_features=hidden, out_features=outputs)]
    return M.of("Sequential", *layers)
