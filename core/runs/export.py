"""A stored run written out for other tools: a wide CSV (spreadsheets, pandas) and a
TensorBoard event file, without tensorboard installed."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import socket
import tempfile
from pathlib import Path

from ..export import write_atomic
from .store import RunStore
from .tfevents import FILE_VERSION, encode_event, frame_record, scalar_value, text_value

# The trainer's names, grouped so TensorBoard draws train and validation on one chart each.
TENSORBOARD_TAGS = {
    "loss": "loss/train",
    "accuracy": "accuracy/train",
    "val_loss": "loss/validation",
    "val_accuracy": "accuracy/validation",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def export_csv(store: RunStore, run_id: int, path: str | os.PathLike) -> Path:
    """One row per step: `step,wall_time,<metric names sorted>`; a cell is empty where the metric
    has no value at that step (validation metrics come once per epoch). wall_time is the first
    time anything was logged at that step."""
    path = Path(path)
    store.run(run_id)  # KeyError "no run N" before anything is written
    _require_folder(path.parent)
    store.flush()
    names = store.metric_names(run_id)
    rows: dict[int, dict] = {}
    for step, name, value, wall in store.all_metrics(run_id):
        row = rows.setdefault(step, {"step": step, "wall_time": wall})
        if value is not None:
            row[name] = repr(value)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=["step", "wall_time", *names], restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows.values())
    write_atomic(path, text.getvalue())
    return path


def export_tensorboard(store: RunStore, run_id: int, directory: str | os.PathLike) -> Path:
    """Write `directory/<run name>-<id>/events.out.tfevents.<created>.<host>.gradstudio` and return
    its path; point `tensorboard --logdir directory` at it. Exporting again replaces the file."""
    record = store.run(run_id)
    store.flush()
    folder = Path(directory) / f"{_safe(record.name) or 'run'}-{record.id}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"events.out.tfevents.{int(record.created)}.{_safe(socket.gethostname()) or 'host'}.gradstudio"

    chunks = [frame_record(encode_event(record.created, file_version=FILE_VERSION)),
              frame_record(encode_event(record.created, values=[text_value("config", _config_markdown(record))]))]
    for step, name, value, wall in store.all_metrics(run_id):
        if value is not None:
            tag = TENSORBOARD_TAGS.get(name, name)
            chunks.append(frame_record(encode_event(wall, step, values=[scalar_value(tag, value)])))
    _write_bytes_atomic(path, b"".join(chunks))
    for stale in folder.glob("events.out.tfevents.*.gradstudio"):
        if stale != path:  # an earlier export from another machine: TensorBoard would show both
            stale.unlink(missing_ok=True)
    return path


def _config_markdown(record) -> str:
    lines = [f"**{record.name}** — {record.status}" + (f" ({record.reason})" if record.reason else ""), ""]
    lines += ["    " + line for line in json.dumps(record.config, indent=2, sort_keys=True, default=str).splitlines()]
    return "\n".join(lines)


def _safe(name: str) -> str:
    return _UNSAFE.sub("_", name).strip("._")[:80]


def _require_folder(folder: Path) -> None:
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: folder does not exist; choose an existing folder for the CSV")


def _write_bytes_atomic(path: Path, data: bytes) -> None:
    """Binary twin of write_atomic: TensorBoard never reads half a file."""
    fd, tmp = tempfile.mkstemp(prefix=".partial-", dir=path.parent)  # no "tfevents" in it
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
