"""What a training run is made of, as plain data: optimizer, loss, epochs, device, seed."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

OPTIMIZERS = {"SGD": torch.optim.SGD, "Adam": torch.optim.Adam, "AdamW": torch.optim.AdamW, "RMSprop": torch.optim.RMSprop}
LOSSES = {"cross_entropy": nn.CrossEntropyLoss, "mse": nn.MSELoss, "bce_with_logits": nn.BCEWithLogitsLoss,
          "l1": nn.L1Loss}


@dataclass
class TrainConfig:
    optimizer: str = "Adam"
    lr: float = 0.01
    momentum: float = 0.0  # SGD and RMSprop
    weight_decay: float = 0.0
    loss: str = "cross_entropy"
    epochs: int = 10
    device: str = "auto"  # "auto": the first GPU torch sees, else MPS, else the CPU
    seed: int = 0
    scheduler_step: int = 0  # StepLR every N epochs (0: no scheduler)
    scheduler_gamma: float = 0.5
    extra: dict = field(default_factory=dict)

    def check(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer: expected one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss: expected one of {', '.join(LOSSES)}, got {self.loss!r}")
        if not self.lr > 0:
            raise ValueError("lr: expected a positive number")
        if self.epochs < 1:
            raise ValueError("epochs: expected a positive integer")
        resolve_device(self.device)

    def to_dict(self) -> dict:
        return asdict(self)


def resolve_device(name: str) -> torch.device:
    """"auto", "cpu", "cuda", "cuda:1", "mps"; a clear error for one this machine lacks."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", 0)
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and (not torch.cuda.is_available() or (device.index or 0) >= torch.cuda.device_count()):
        raise ValueError(f"device: {name} is not available here (torch sees {torch.cuda.device_count()} CUDA devices)")
    if device.type == "cuda" and device.index is None:  # records and messages name the GPU used
        device = torch.device("cuda", 0)  # as "auto"; asking torch for its current one would start CUDA here
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("device: mps is not available here")
    return device


def available_devices() -> list[tuple[str, str]]:
    """(name, description) of every device torch sees, GPUs first. Does not start CUDA."""
    from .gpu_names import gpu_names

    out = [(f"cuda:{i}", name) for i, name in enumerate(gpu_names(torch.cuda.device_count()))]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        out.append(("mps", "Apple GPU"))
    out.append(("cpu", "CPU"))
    return out
