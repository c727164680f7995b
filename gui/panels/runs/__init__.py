"""The Runs panel: every stored training run, compared and exported."""

from .panel import RunsPanel
from .table_model import RunsFilterProxy, RunsTableModel

__all__ = ["RunsPanel", "RunsTableModel", "RunsFilterProxy"]
