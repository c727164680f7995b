"""What each column of the runs table says about a run, as plain values (no Qt), so the
table model stays a thin adapter and the wording is tested on its own.

A run's config may come from any version of the app, so every key is optional: a missing
or odd value is shown as "—" rather than failing the whole table.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from gradstudio.core.runs import RunRecord, RunStore

MISSING = "—"
LOSS = "loss"
VAL_ACCURACY = "val_accuracy"


@dataclass(frozen=True)
class RunSummary:
    """The metric-derived numbers one row shows (read from the store, cached per run)."""

    steps: int
    best_val_accuracy: float | None
    final_loss: float | None


def summarize(store: RunStore, run_id: int) -> RunSummary:
    losses = store.metrics(run_id, LOSS)
    accuracies = [v for _, v in store.metrics(run_id, VAL_ACCURACY) if _finite(v)]
    final = next((v for _, v in reversed(losses) if v is not None), None)
    steps = losses[-1][0] + 1 if losses else 0
    return RunSummary(steps, max(accuracies) if accuracies else None, final)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _section(config: dict, key: str) -> dict:
    value = config.get(key) if isinstance(config, dict) else None
    return value if isinstance(value, dict) else {}


def dataset_text(config: dict) -> str:
    kind = _section(config, "dataset").get("kind")
    return str(kind) if kind not in (None, "") else MISSING


def dataset_tooltip(config: dict) -> str:
    options = _section(config, "dataset").get("options")
    if not isinstance(options, dict) or not options:
        return ""
    return ", ".join(f"{k}={v}" for k, v in options.items())


def model_text(config: dict) -> str:
    """A model is a short description string or a builder spec ({"kind", "children"…})."""
    model = config.get("model") if isinstance(config, dict) else None
    if isinstance(model, str) and model.strip():
        return model.strip()
    if isinstance(model, dict) and model.get("kind"):
        children = model.get("children")
        if isinstance(children, list) and children:
            return f"{model['kind']} · {len(children)} layer{'s' if len(children) != 1 else ''}"
        return str(model["kind"])
    return MISSING


def train_value(config: dict, key: str) -> Any:
    return _section(config, "train").get(key)


def number_text(value: Any) -> str:
    return f"{value:g}" if _finite(value) else MISSING


def integer_text(value: Any) -> str:
    return f"{int(value):,}" if _finite(value) else MISSING


def plain_text(value: Any) -> str:
    return str(value) if value not in (None, "") else MISSING


def result_text(summary: RunSummary | None) -> str:
    if summary is None:
        return MISSING
    if summary.best_val_accuracy is not None:
        return f"{summary.best_val_accuracy:.1%} val acc"
    if summary.final_loss is not None:
        return f"loss {summary.final_loss:.4g}"
    return MISSING


def result_sort_key(summary: RunSummary | None) -> float:
    """Bigger is better: runs with a validation accuracy rank above loss-only runs, which
    rank by lower final loss; runs without numbers rank last."""
    if summary is None:
        return -math.inf
    if summary.best_val_accuracy is not None:
        return 1e12 + summary.best_val_accuracy
    if summary.final_loss is not None and math.isfinite(summary.final_loss):
        return -summary.final_loss
    return -math.inf


def created_text(created: float | None) -> str:
    if not _finite(created):
        return MISSING
    return datetime.fromtimestamp(created).strftime("%Y-%m-%d %H:%M")


def duration_seconds(record: RunRecord, now: float | None = None) -> float | None:
    """Until it finished; a running run counts up to now; an interrupted one is unknown."""
    if _finite(record.finished):
        return max(0.0, record.finished - record.created)
    if record.status == "running":
        return max(0.0, (time.time() if now is None else now) - record.created)
    return None


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return MISSING
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    if s < 48 * 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86400} d {s % 86400 // 3600:02d} h"


def device_text(record: RunRecord) -> str:
    """The device the run used (recorded as "device"), else the one asked for ("auto"…)."""
    used = record.config.get("device") if isinstance(record.config, dict) else None
    return plain_text(used if isinstance(used, str) and used else train_value(record.config, "device"))


def device_tooltip(record: RunRecord) -> str:
    machine = record.machine if isinstance(record.machine, dict) else {}
    gpus = machine.get("gpus") or []
    names = [g.get("name", "?") for g in gpus if isinstance(g, dict)]
    parts = [f"host {machine['hostname']}"] if machine.get("hostname") else []
    if machine.get("cpu"):
        parts.append(f"CPU {machine['cpu']}")
    if names:
        parts.append("GPU " + ", ".join(names))
    return " · ".join(parts)


@dataclass(frozen=True)
class Column:
    title: str
    text: Callable[[RunRecord, RunSummary | None], str]
    sort_key: Callable[[RunRecord, RunSummary | None], Any]
    tooltip: Callable[[RunRecord, RunSummary | None], str] = lambda r, s: ""
    numeric: bool = False


def _num_key(value: Any) -> float:
    return float(value) if _finite(value) else -math.inf


def _text_key(text: str) -> str:
    return "" if text == MISSING else text.casefold()


def _train_text(key: str) -> Callable[[RunRecord, RunSummary | None], str]:
    return lambda r, s: plain_text(train_value(r.config, key))


COLUMNS: tuple[Column, ...] = (
    Column("Name", lambda r, s: r.name, lambda r, s: r.name.casefold(), lambda r, s: f"run {r.id}"),
    Column("Status", lambda r, s: r.status, lambda r, s: r.status, lambda r, s: r.reason or r.status),
    Column("Dataset", lambda r, s: dataset_text(r.config), lambda r, s: _text_key(dataset_text(r.config)),
           lambda r, s: dataset_tooltip(r.config)),
    Column("Model", lambda r, s: model_text(r.config), lambda r, s: _text_key(model_text(r.config)),
           lambda r, s: model_text(r.config)),
    Column("Optimizer", _train_text("optimizer"), lambda r, s: _text_key(_train_text("optimizer")(r, s))),
    Column("lr", lambda r, s: number_text(train_value(r.config, "lr")),
           lambda r, s: _num_key(train_value(r.config, "lr")), numeric=True),
    Column("Epochs", lambda r, s: integer_text(train_value(r.config, "epochs")),
           lambda r, s: _num_key(train_value(r.config, "epochs")), numeric=True),
    Column("Steps", lambda r, s: integer_text(s.steps) if s else MISSING,
           lambda r, s: _num_key(s.steps if s else None), numeric=True),
    Column("Best val acc / final loss", lambda r, s: result_text(s), lambda r, s: result_sort_key(s), numeric=True),
    Column("Created", lambda r, s: created_text(r.created), lambda r, s: _num_key(r.created),
           lambda r, s: datetime.fromtimestamp(r.created).strftime("%Y-%m-%d %H:%M:%S") if _finite(r.created) else ""),
    Column("Duration", lambda r, s: duration_text(duration_seconds(r)), lambda r, s: _num_key(duration_seconds(r)),
           numeric=True),
    Column("Device", lambda r, s: device_text(r), lambda r, s: _text_key(device_text(r)), lambda r, s: device_tooltip(r)),
)
NAME, STATUS = 0, 1
