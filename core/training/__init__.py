"""Training: the seed's loop as a generator of metrics, configured by plain data."""

from .config import LOSSES, OPTIMIZERS, TrainConfig, available_devices, resolve_device
from .engine import Diverged, StepMetrics, Trainer, evaluate, train

__all__ = ["TrainConfig", "OPTIMIZERS", "LOSSES", "resolve_device", "available_devices", "train", "evaluate",
           "StepMetrics", "Diverged", "Trainer"]
