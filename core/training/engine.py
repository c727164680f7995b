"""The seed's training loop, literally, one batch at a time:

    optimizer.zero_grad(); outputs = net(x); loss = loss_fn(outputs, y); loss.backward(); optimizer.step()

`Trainer.steps()` yields each step's metrics, so pausing is just not asking for the next one,
a GUI runs it on a worker, and a test iterates it. The trainer's state (model, optimizer,
scheduler, epoch, batch) is exposed so a job can checkpoint it and resume exactly where it
stopped: shuffling is reseeded per epoch, so batch k of epoch e is the same batch every time.
A NaN or Inf loss stops the run as diverged, before it can spoil the weights.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import nullcontext

import torch
from torch import nn
from torch.utils.data import DataLoader

from .accuracy import PendingAccuracy, batch_accuracy
from .config import LOSSES, OPTIMIZERS, TrainConfig, resolve_device
from .grad_norms import LayerGradNorms


class Diverged(RuntimeError):
    """The loss became NaN or Inf."""

    def __init__(self, step: int, loss: float):
        super().__init__(f"the loss became {loss} at step {step}: try a smaller learning rate")
        self.step, self.loss = step, loss


class StepMetrics:
    """One optimizer step's numbers. The training accuracy may still be waiting as tensors
    (see `accuracy.PendingAccuracy`): reading it works it out, with the other waiting steps."""

    __slots__ = ("step", "epoch", "loss", "_accuracy", "_pending", "val_loss", "val_accuracy", "lr",
                 "end_of_epoch", "grad_norms")

    def __init__(self, step: int, epoch: int, loss: float, accuracy: float | None = None, *,
                 val_loss: float | None = None, val_accuracy: float | None = None, lr: float | None = None,
                 end_of_epoch: bool = False, grad_norms: dict[str, float] | None = None):
        self.step, self.epoch, self.loss = step, epoch, loss
        self._accuracy, self._pending = accuracy, None
        self.val_loss, self.val_accuracy = val_loss, val_accuracy  # at the last step of each epoch
        self.lr = lr
        self.end_of_epoch = end_of_epoch
        self.grad_norms = grad_norms

    @property
    def accuracy(self) -> float | None:
        if self._pending is not None:
            self._pending.resolve()
        return self._accuracy

    @accuracy.setter
    def accuracy(self, value: float | None) -> None:
        self._accuracy, self._pending = value, None

    def __repr__(self) -> str:
        return (f"StepMetrics(step={self.step}, epoch={self.epoch}, loss={self.loss}, accuracy={self.accuracy}, "
                f"val_loss={self.val_loss}, val_accuracy={self.val_accuracy}, lr={self.lr})")

    def values(self) -> dict[str, float | None]:
        """The scalar metrics by name, as the run store and the curves keep them."""
        out = {"loss": self.loss, "accuracy": self.accuracy, "val_loss": self.val_loss,
               "val_accuracy": self.val_accuracy, "lr": self.lr}
        out = {k: v for k, v in out.items() if v is not None}
        for layer, norm in (self.grad_norms or {}).items():
            out[f"grad_norm/{layer}"] = norm
        return out


def check_shapes(model: nn.Module, loss_fn: nn.Module, loader: DataLoader, device: torch.device) -> torch.Size:
    """One batch through model and loss before the first step: a mismatch is said in words.
    The loss runs on the CPU: there a wrong class index raises, where CUDA would trip a
    device-side assert that leaves the GPU unusable for the rest of the process. Returns the
    output's shape."""
    x, y = next(iter(loader))
    try:
        with torch.no_grad():
            out = model(x.to(device))
    except Exception as exc:
        raise ValueError(f"the model does not accept the data's inputs {list(x.shape)} ({x.dtype}): "
                         f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc
    try:
        loss_fn(out.cpu(), y.cpu())
    except Exception as exc:
        raise ValueError(
            f"the model's output {list(out.shape)} does not fit the targets {list(y.shape)} "
            f"({y.dtype}) for {type(loss_fn).__name__}: {str(exc).splitlines()[0]}"
        ) from exc
    return out.shape


class ClassTargets:
    """Class indices checked on the CPU before a batch goes to a GPU, for losses that take
    them (cross entropy): an index out of range trips a device-side assert there, which
    ruins the CUDA context of the whole process, not only this run. On the CPU torch raises
    its own clear error, so there is nothing to do."""

    def __init__(self, loss_fn: nn.Module, output_shape: torch.Size, device: torch.device):
        self.classes = (output_shape[1] if isinstance(loss_fn, nn.CrossEntropyLoss) and device.type != "cpu"
                        and len(output_shape) >= 2 else None)
        self.ignore_index = getattr(loss_fn, "ignore_index", -100)

    def check(self, labels: torch.Tensor, where: str = "training") -> None:
        if self.classes is None or labels.is_floating_point() or labels.numel() == 0 or labels.device.type != "cpu":
            return
        top, low = int(labels.max()), int(labels.min())
        if top >= self.classes or (low < 0 and low != self.ignore_index):
            bad = top if top >= self.classes else low
            raise ValueError(f"target class {bad} in the {where} data is out of range for the model's "
                             f"{self.classes} outputs (classes 0 to {self.classes - 1})")


def make_optimizer(params, config: TrainConfig) -> torch.optim.Optimizer:
    kwargs = {"lr": config.lr, "weight_decay": config.weight_decay}
    if config.optimizer in ("SGD", "RMSprop"):
        kwargs["momentum"] = config.momentum
    return OPTIMIZERS[config.optimizer](params, **kwargs)


class Trainer:
    """Owns model, loss, optimizer and scheduler for one run; `steps()` runs the loop."""

    def __init__(self, model: nn.Module, train_loader: DataLoader, val_loader: DataLoader | None,
                 config: TrainConfig, *, device: torch.device | None = None, wrap: Callable | None = None):
        config.check()
        self.config = config
        self.device = device or resolve_device(config.device)
        torch.manual_seed(config.seed)
        self.model = model.to(self.device)
        # `net` is what the loop calls: the model itself, or DataParallel/DDP around it
        self.net = wrap(self.model) if wrap else self._maybe_data_parallel(self.model)
        self.train_loader, self.val_loader = train_loader, val_loader
        self.loss_fn = LOSSES[config.loss]()
        self.optimizer = make_optimizer(self.model.parameters(), config)
        self.scheduler = (torch.optim.lr_scheduler.StepLR(self.optimizer, config.scheduler_step, config.scheduler_gamma)
                          if config.scheduler_step else None)
        self.step = 0  # optimizer steps taken
        self.epoch = 0  # the epoch being trained
        self.batch = 0  # batches of this epoch already trained
        self.grad_norms_every = 0  # 0: never; else every N steps (one norm per layer)
        self.record_next: Callable | None = None  # a context manager factory wrapped around the next step
        self.step_lock = nullcontext()  # held during each step, so other threads can read a consistent model
        self._grad_norms: LayerGradNorms | None = None
        self._accuracies = PendingAccuracy()  # resolved together, when first read
        self._targets: ClassTargets | None = None  # set by check()

    def _maybe_data_parallel(self, model: nn.Module) -> nn.Module:
        if self.config.extra.get("data_parallel") and self.device.type == "cuda" and torch.cuda.device_count() > 1:
            return nn.DataParallel(model)
        return model

    def check(self) -> None:
        shape = check_shapes(self.net, self.loss_fn, self.train_loader, self.device)
        self._targets = ClassTargets(self.loss_fn, shape, self.device)

    @property
    def total_steps(self) -> int:
        return self.config.epochs * len(self.train_loader)

    def _begin_epoch(self, epoch: int) -> None:
        """Shuffling and dropout depend only on (seed, epoch): resuming mid-run repeats them."""
        seed = self.config.seed * 1_000_003 + epoch
        generator = getattr(self.train_loader, "generator", None)
        if isinstance(generator, torch.Generator):
            generator.manual_seed(seed)
        sampler = getattr(self.train_loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):  # DistributedSampler
            sampler.set_epoch(epoch)
        torch.manual_seed(seed)

    def steps(self) -> Iterator[StepMetrics]:
        """Yield StepMetrics after every optimizer step; raise Diverged on a NaN/Inf loss."""
        while self.epoch < self.config.epochs:
            self._begin_epoch(self.epoch)
            self.net.train()
            batches = len(self.train_loader)
            for i, (images, labels) in enumerate(self.train_loader):
                if i < self.batch:
                    continue  # resumed mid-epoch: these batches were trained before the stop
                with self.step_lock:
                    metrics = self.train_step(images, labels)
                self.batch = i + 1
                if self.batch == batches:  # the state at the yield is already "next epoch, batch 0"
                    if self.val_loader is not None:
                        metrics.val_loss, metrics.val_accuracy = self.evaluate()
                    self.epoch, self.batch = self.epoch + 1, 0
                    if self.scheduler is not None:
                        self.scheduler.step()
                    metrics.end_of_epoch = True
                yield metrics

    def train_step(self, images: torch.Tensor, labels: torch.Tensor) -> StepMetrics:
        if self._targets is not None:
            self._targets.check(labels)
        images, labels = images.to(self.device), labels.to(self.device)
        optimizer, net, loss_fn = self.optimizer, self.net, self.loss_fn
        recording = self.record_next() if self.record_next else nullcontext()
        self.record_next = None
        with recording:
            optimizer.zero_grad()
            outputs = net(images)
            loss = loss_fn(outputs, labels)
            value = loss.item()
            if not math.isfinite(value):
                raise Diverged(self.step, value)
            loss.backward()
            norms = None
            if self.grad_norms_every and self.step % self.grad_norms_every == 0:
                if self._grad_norms is None:
                    self._grad_norms = LayerGradNorms(self.model)
                norms = self._grad_norms.read()
            optimizer.step()
        metrics = StepMetrics(self.step, self.epoch, value, lr=optimizer.param_groups[0]["lr"], grad_norms=norms)
        self._accuracies.add(metrics, outputs, labels)
        self.step += 1
        return metrics

    def evaluate(self) -> tuple[float, float | None]:
        return evaluate(self.model, self.loss_fn, self.val_loader, self.device, self._targets)

    # -- checkpoints -------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler else None,
            "step": self.step, "epoch": self.epoch, "batch": self.batch,
        }

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state.get("scheduler"):
            self.scheduler.load_state_dict(state["scheduler"])
        self.step, self.epoch, self.batch = int(state["step"]), int(state["epoch"]), int(state["batch"])


def train(model: nn.Module, train_loader: DataLoader, val_loader: DataLoader | None, config: TrainConfig):
    """Yield StepMetrics after every optimizer step; raise Diverged on a NaN/Inf loss."""
    trainer = Trainer(model, train_loader, val_loader, config)
    trainer.check()
    yield from trainer.steps()


@torch.no_grad()
def evaluate(model: nn.Module, loss_fn: nn.Module, loader: DataLoader, device: torch.device,
             targets: ClassTargets | None = None):
    was_training = model.training
    model.eval()
    total, correct, seen, accurate = 0.0, 0, 0, True
    for x, y in loader:
        if targets is not None:
            targets.check(y, "validation")
        x, y = x.to(device), y.to(device)
        out = model(x)
        total += float(loss_fn(out, y)) * len(x)
        acc = batch_accuracy(out, y)
        accurate = accurate and acc is not None
        correct += int(round((acc or 0) * len(x)))
        seen += len(x)
    model.train(was_training)
    return total / max(seen, 1), (correct / max(seen, 1) if accurate else None)
