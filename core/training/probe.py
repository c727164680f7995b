"""What a model predicts over its input space, for drawing next to the data: the class
(and how sure it is) on a grid over a 2-D plane, or the fitted curve of a 1-D regression.

The model is evaluated under torch.no_grad in eval mode and its training mode is restored
afterwards. These functions do not lock anything: a caller probing a model that another
thread is training must hold the lock that thread takes around its optimizer step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass
class Grid:
    """Predictions over a rectangle, cell centres of a res x res grid.

    `classes[row, col]` is the predicted class at x = col, y = row (row 0 at ymin);
    `confidence` has the same shape: the predicted class's probability (0..1).
    """

    xmin: float
    xmax: float
    ymin: float
    ymax: float
    classes: np.ndarray
    confidence: np.ndarray

    @property
    def resolution(self) -> int:
        return self.classes.shape[0]


def data_bounds(x: torch.Tensor, margin: float = 0.15) -> tuple[float, float, float, float]:
    """(xmin, xmax, ymin, ymax) of the first two input columns, widened by `margin` times
    their span on each side. One column gives its own range for both axes."""
    if x.dim() == 1:
        x = x[:, None]
    if x.dim() != 2 or x.shape[0] == 0:
        raise ValueError(f"x: expected inputs of shape [samples, features], got {list(x.shape)}")
    if margin < 0:
        raise ValueError(f"margin: expected a number >= 0, got {margin}")
    cols = x.detach().to("cpu", torch.float64)
    bounds: list[float] = []
    for c in (0, 1 if x.shape[1] > 1 else 0):
        lo, hi = float(cols[:, c].min()), float(cols[:, c].max())
        pad = (hi - lo) * margin if hi > lo else 1.0
        bounds += [lo - pad, hi + pad]
    return bounds[0], bounds[1], bounds[2], bounds[3]


def _placement(model: nn.Module, device) -> tuple[torch.device, torch.dtype]:
    param = next(model.parameters(), None)
    if device is None:
        device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    return torch.device(device), dtype


def _evaluate(model: nn.Module, inputs: np.ndarray, device) -> torch.Tensor:
    device, dtype = _placement(model, device)
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            out = model(torch.as_tensor(inputs, dtype=dtype, device=device))
    finally:
        model.train(was_training)
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"the model returned {type(out).__name__}, expected a tensor")
    return out.detach().to("cpu", torch.float64)


def decision_grid(model: nn.Module, bounds: tuple[float, float, float, float], resolution: int = 120,
                  device=None) -> Grid:
    """The predicted class and its probability over a grid. A model with one output is read
    as a binary logit (class 1 where sigmoid > 0.5), more outputs as class scores."""
    xmin, xmax, ymin, ymax = (float(b) for b in bounds)
    if not (xmin < xmax and ymin < ymax):
        raise ValueError(f"bounds: expected xmin < xmax and ymin < ymax, got {bounds}")
    if resolution < 2:
        raise ValueError(f"resolution: expected at least 2, got {resolution}")
    xs = xmin + (np.arange(resolution) + 0.5) * (xmax - xmin) / resolution
    ys = ymin + (np.arange(resolution) + 0.5) * (ymax - ymin) / resolution
    gx, gy = np.meshgrid(xs, ys)  # gx[row, col] = xs[col], gy[row, col] = ys[row]
    out = _evaluate(model, np.stack([gx.ravel(), gy.ravel()], 1), device)
    n = resolution * resolution
    if out.dim() == 0 or out.shape[0] != n:
        raise ValueError(f"the model's output for {n} points has shape {list(out.shape)}; "
                         f"expected [{n}, classes] or [{n}, 1]")
    if out.dim() == 1 or (out.dim() == 2 and out.shape[1] == 1):
        p = torch.sigmoid(out.reshape(n))
        classes, confidence = (p > 0.5).long(), torch.maximum(p, 1 - p)
    elif out.dim() == 2:
        confidence, classes = torch.softmax(out, 1).max(1)
    else:
        raise ValueError(f"the model's output for {n} points has shape {list(out.shape)}; "
                         f"expected [{n}, classes] or [{n}, 1]")
    shape = (resolution, resolution)
    return Grid(xmin, xmax, ymin, ymax, classes.numpy().reshape(shape).astype(np.int64),
                confidence.numpy().reshape(shape))


def fitted_curve(model: nn.Module, xs: np.ndarray, device=None) -> np.ndarray:
    """The model's output at each x of a 1-D regression (one input, one output)."""
    xs = np.asarray(xs, np.float64).reshape(-1)
    out = _evaluate(model, xs[:, None], device)
    if out.numel() != xs.size:
        raise ValueError(f"the model's output for {xs.size} points has shape {list(out.shape)}; "
                         f"expected one value per point")
    return out.numpy().reshape(-1)


def curve_over(model: nn.Module, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(xs, the model's prediction at each x): the fitted-curve probe, as a picklable function
    so a run in a separate training process can take it along."""
    return xs, fitted_curve(model, xs)
