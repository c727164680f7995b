"""Checkpoints: a run's weights and optimizer state as files beside the run database, each
referenced from it. Loading uses `torch.load(weights_only=True)`, so a checkpoint file can
hold tensors and plain containers only: opening one never runs code.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch

SCHEMA = """
CREATE TABLE IF NOT EXISTS checkpoints (
    id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step INTEGER NOT NULL, epoch INTEGER NOT NULL, path TEXT NOT NULL, created REAL NOT NULL, note TEXT);
CREATE INDEX IF NOT EXISTS checkpoints_run ON checkpoints(run_id, step);
"""


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, damaged, or holds something other than tensors."""


@dataclass
class Checkpoint:
    id: int
    run_id: int
    step: int
    epoch: int
    path: str
    created: float
    note: str | None


def checkpoint_dir(db_path: str | os.PathLike, run_id: int) -> Path:
    """Checkpoints of run 7 of `runs.sqlite` go to `runs-checkpoints/run-7/`."""
    db_path = Path(db_path)
    return db_path.parent / f"{db_path.stem}-checkpoints" / f"run-{run_id}"


def save_checkpoint(store, run_id: int, state: dict, note: str | None = None) -> Checkpoint:
    """Write `state` (a Trainer.state_dict()) atomically and reference it from the database."""
    directory = checkpoint_dir(store.path, run_id)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"step-{int(state['step']):08d}.pt"
    tmp = path.with_suffix(".pt.tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
    created = time.time()
    with store.db:
        store.db.execute("DELETE FROM checkpoints WHERE run_id=? AND path=?", (run_id, str(path)))
        cur = store.db.execute(
            "INSERT INTO checkpoints (run_id, step, epoch, path, created, note) VALUES (?, ?, ?, ?, ?, ?)",
            (run_id, int(state["step"]), int(state["epoch"]), str(path), created, note))
    return Checkpoint(cur.lastrowid, run_id, int(state["step"]), int(state["epoch"]), str(path), created, note)


def list_checkpoints(store, run_id: int) -> list[Checkpoint]:
    rows = store.db.execute(
        "SELECT id, run_id, step, epoch, path, created, note FROM checkpoints WHERE run_id=? ORDER BY step, id",
        (run_id,))
    return [Checkpoint(*row) for row in rows]


def delete_checkpoint_files(store, run_id: int) -> None:
    for ckpt in list_checkpoints(store, run_id):
        Path(ckpt.path).unlink(missing_ok=True)
    directory = checkpoint_dir(store.path, run_id)
    if directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """The state saved by `save_checkpoint`, read with weights_only=True."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found (moved or deleted?)")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # unpickling refused or file damaged
        raise CheckpointError(f"{path}: cannot be loaded as weights only ({str(exc).splitlines()[0]})") from exc
    missing = {"model", "optimizer", "step", "epoch", "batch"} - set(state if isinstance(state, dict) else ())
    if missing:
        raise CheckpointError(f"{path}: not a gradstudio checkpoint (missing {', '.join(sorted(missing))})")
    return state
