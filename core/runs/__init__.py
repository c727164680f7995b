"""The experiment record: every run in SQLite with its config, machine and metrics."""

from .machine import machine_info
from .store import STATUSES, RunRecord, RunStore, RunStoreError

__all__ = ["RunStore", "RunStoreError", "RunRecord", "STATUSES", "machine_info"]
