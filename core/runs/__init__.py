"""The experiment record: every run in SQLite with its config, machine and metrics."""

from .checkpoints import Checkpoint, CheckpointError, load_checkpoint
from .machine import machine_info
from .store import STATUSES, RunRecord, RunStore, RunStoreError

__all__ = ["RunStore", "RunStoreError", "RunRecord", "STATUSES", "machine_info", "Checkpoint", "CheckpointError",
           "load_checkpoint"]
