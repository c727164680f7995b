"""Every run kept in an embedded SQLite database (WAL): config, machine, status, metrics.

Metrics are buffered and written in small transactions every 0.8 s (a training job hands
them over every 0.1 s), so a run killed outright loses under a second. A run left "running" by a process that no
longer exists is marked "interrupted" when the database is next opened. A file that is not
a gradstudio run database is refused with a clear message and never written to.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from .checkpoints import SCHEMA as CHECKPOINTS_SCHEMA
from .checkpoints import Checkpoint, delete_checkpoint_files, list_checkpoints

FORMAT = "gradstudio-runs"
VERSION = 1
STATUSES = ("running", "completed", "stopped", "diverged", "failed", "interrupted")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, reason TEXT,
    created REAL NOT NULL, finished REAL, pid INTEGER, config TEXT NOT NULL, machine TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS metrics (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step INTEGER NOT NULL, name TEXT NOT NULL, value REAL, wall REAL NOT NULL);
CREATE INDEX IF NOT EXISTS metrics_run ON metrics(run_id, name, step);
""" + CHECKPOINTS_SCHEMA


class RunStoreError(RuntimeError):
    """The database cannot be used (not ours, damaged, newer)."""


@dataclass
class RunRecord:
    id: int
    name: str
    status: str
    reason: str | None
    created: float
    finished: float | None
    config: dict
    machine: dict


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunStore:
    def __init__(self, path: str | os.PathLike, flush_seconds: float = 0.8):
        self.path = Path(path)
        self.flush_seconds = flush_seconds
        self._buffer: list[tuple] = []
        self._last_flush = time.monotonic()
        existed = self.path.exists() and self.path.stat().st_size > 0
        if existed:
            self._check_foreign()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            with self.db:
                self.db.executescript(SCHEMA)
                self.db.execute("INSERT OR IGNORE INTO meta VALUES ('format', ?), ('version', ?)", (FORMAT, str(VERSION)))
            self._check_version()
            self._mark_interrupted()
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise RunStoreError(f"{self.path}: damaged run database ({exc}); it was left as it is") from exc

    def _check_foreign(self) -> None:
        """Read-only look at an existing file before anything writes to it."""
        try:
            ro = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            try:
                tables = {r[0] for r in ro.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                fmt = ro.execute("SELECT value FROM meta WHERE key='format'").fetchone() if "meta" in tables else None
            finally:
                ro.close()
        except sqlite3.DatabaseError as exc:
            raise RunStoreError(f"{self.path}: not a gradstudio run database ({exc}); it was left as it is") from exc
        if fmt is None or fmt[0] != FORMAT:
            raise RunStoreError(f"{self.path}: not a gradstudio run database (tables: {', '.join(sorted(tables)) or 'none'}); "
                                "it was left as it is — choose another file")

    def _check_version(self) -> None:
        version = int(self.db.execute("SELECT value FROM meta WHERE key='version'").fetchone()[0])
        if version > VERSION:
            raise RunStoreError(f"{self.path}: written by a newer gradstudio (version {version}; this one reads {VERSION})")

    def _mark_interrupted(self) -> None:
        rows = self.db.execute("SELECT id, pid FROM runs WHERE status='running'").fetchall()
        dead = [run_id for run_id, pid in rows if pid != os.getpid() and not _pid_alive(pid)]
        if dead:
            with self.db:
                self.db.executemany(
                    "UPDATE runs SET status='interrupted', reason='the program stopped while training' WHERE id=?",
                    [(d,) for d in dead])

    # -- writing -----------------------------------------------------------------------
    def start_run(self, name: str, config: dict, machine: dict) -> int:
        with self.db:
            cur = self.db.execute(
                "INSERT INTO runs (name, status, created, pid, config, machine) VALUES (?, 'running', ?, ?, ?, ?)",
                (name, time.time(), os.getpid(), json.dumps(config), json.dumps(machine)))
        return cur.lastrowid

    def log(self, run_id: int, step: int, **values: float | None) -> None:
        """Buffer metrics; written at least every `flush_seconds`."""
        wall = time.time()
        self._buffer.extend((run_id, step, k, None if v is None else float(v), wall) for k, v in values.items())
        if time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()

    def log_many(self, run_id: int, rows: list[tuple[int, dict]]) -> None:
        """Buffer many steps' metrics, (step, {name: value or None}) each."""
        wall = time.time()
        self._buffer.extend((run_id, step, k, None if v is None else float(v), wall)
                            for step, values in rows for k, v in values.items())
        if time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        if self._buffer:
            with self.db:
                self.db.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?)", self._buffer)
            self._buffer.clear()
        self._last_flush = time.monotonic()

    def finish(self, run_id: int, status: str, reason: str | None = None) -> None:
        if status not in STATUSES:
            raise ValueError(f"status: expected one of {', '.join(STATUSES)}")
        self.flush()
        with self.db:
            self.db.execute("UPDATE runs SET status=?, reason=?, finished=? WHERE id=?", (status, reason, time.time(), run_id))

    def rename(self, run_id: int, name: str) -> None:
        with self.db:
            self.db.execute("UPDATE runs SET name=? WHERE id=?", (name, run_id))

    def delete(self, run_id: int) -> None:
        """The run, its metrics, and its checkpoint files."""
        delete_checkpoint_files(self, run_id)
        with self.db:
            self.db.execute("DELETE FROM checkpoints WHERE run_id=?", (run_id,))
            self.db.execute("DELETE FROM metrics WHERE run_id=?", (run_id,))
            self.db.execute("DELETE FROM runs WHERE id=?", (run_id,))

    # -- reading -----------------------------------------------------------------------
    def runs(self) -> list[RunRecord]:
        rows = self.db.execute("SELECT id, name, status, reason, created, finished, config, machine FROM runs ORDER BY id")
        return [RunRecord(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), json.loads(r[7])) for r in rows]

    def run(self, run_id: int) -> RunRecord:
        found = [r for r in self.runs() if r.id == run_id]
        if not found:
            raise KeyError(f"no run {run_id}")
        return found[0]

    def metrics(self, run_id: int, name: str) -> list[tuple[int, float | None]]:
        return list(self.db.execute("SELECT step, value FROM metrics WHERE run_id=? AND name=? ORDER BY step", (run_id, name)))

    def metric_names(self, run_id: int) -> list[str]:
        """Every metric name a run logged, sorted."""
        return [r[0] for r in self.db.execute("SELECT DISTINCT name FROM metrics WHERE run_id=? ORDER BY name", (run_id,))]

    def all_metrics(self, run_id: int) -> list[tuple[int, str, float | None, float]]:
        """Every (step, name, value, wall) of a run, by step then name (in logging order within those)."""
        return list(self.db.execute(
            "SELECT step, name, value, wall FROM metrics WHERE run_id=? ORDER BY step, name, rowid", (run_id,)))

    def checkpoints(self, run_id: int) -> list[Checkpoint]:
        """The run's checkpoints, oldest first; the newest is where a resume starts."""
        return list_checkpoints(self, run_id)

    def close(self) -> None:
        self.flush()
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
