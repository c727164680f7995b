"""The seed's training loop, literally, as a generator the caller drives:

    optimizer.zero_grad(); outputs = net(x); loss = loss_fn(outputs, y); loss.backward(); optimizer.step()

Each step yields its metrics, so pausing is just not asking for the next one, a GUI runs it
on a worker, and a test iterates it. A NaN or Inf loss stops the run as diverged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader

from .config import LOSSES, OPTIMIZERS, TrainConfig, resolve_device


class Diverged(RuntimeError):
    """The loss became NaN or Inf."""

    def __init__(self, step: int, loss: float):
        super().__init__(f"the loss became {loss} at step {step}: try a smaller learning rate")
        self.step, self.loss = step, loss


@dataclass
class StepMetrics:
    step: int
    epoch: int
    loss: float
    accuracy: float | None = None
    val_loss: float | None = None  # at the last step of each epoch
    val_accuracy: float | None = None


def _accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> float | None:
    if outputs.dim() == 2 and targets.dim() == 1 and not targets.is_floating_point():
        return float((outputs.argmax(1) == targets).float().mean())
    return None


def check_shapes(model: nn.Module, loss_fn: nn.Module, loader: DataLoader, device: torch.device) -> None:
    """One batch through model and loss before the first step: a mismatch is said in words."""
    x, y = next(iter(loader))
    with torch.no_grad():
        out = model(x.to(device))
    try:
        loss_fn(out, y.to(device))
    except Exception as exc:
        raise ValueError(
            f"the model's output {list(out.shape)} does not fit the targets {list(y.shape)} "
            f"({y.dtype}) for {type(loss_fn).__name__}: {str(exc).splitlines()[0]}"
        ) from exc


def train(model: nn.Module, train_loader: DataLoader, val_loader: DataLoader | None, config: TrainConfig):
    """Yield StepMetrics after every optimizer step; raise Diverged on a NaN/Inf loss."""
    config.check()
    torch.manual_seed(config.seed)
    device = resolve_device(config.device)
    model.to(device)
    loss_fn = LOSSES[config.loss]()
    kwargs = {"lr": config.lr, "weight_decay": config.weight_decay}
    if config.optimizer in ("SGD", "RMSprop"):
        kwargs["momentum"] = config.momentum
    optimizer = OPTIMIZERS[config.optimizer](model.parameters(), **kwargs)
    scheduler = (torch.optim.lr_scheduler.StepLR(optimizer, config.scheduler_step, config.scheduler_gamma)
                 if config.scheduler_step else None)
    check_shapes(model, loss_fn, train_loader, device)
    step = 0
    for epoch in range(config.epochs):
        model.train()
        batches = len(train_loader)
        for i, (images, labels) in enumerate(train_loader):
            images, labels = images.to(device), labels.to(device)
            optimizer.zero_grad()
            outputs = model(images)
            loss = loss_fn(outputs, labels)
            value = loss.item()
            if not math.isfinite(value):
                raise Diverged(step, value)
            loss.backward()
            optimizer.step()
            metrics = StepMetrics(step, epoch, value, _accuracy(outputs.detach(), labels))
            if i == batches - 1 and val_loader is not None:
                metrics.val_loss, metrics.val_accuracy = evaluate(model, loss_fn, val_loader, device)
            step += 1
            yield metrics
        if scheduler is not None:
            scheduler.step()


@torch.no_grad()
def evaluate(model: nn.Module, loss_fn: nn.Module, loader: DataLoader, device: torch.device):
    model.eval()
    total, correct, seen, accurate = 0.0, 0, 0, True
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        out = model(x)
        total += float(loss_fn(out, y)) * len(x)
        acc = _accuracy(out, y)
        accurate = accurate and acc is not None
        correct += int(round((acc or 0) * len(x)))
        seen += len(x)
    model.train()
    return total / max(seen, 1), (correct / max(seen, 1) if accurate else None)
