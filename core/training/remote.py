"""The app's side of a run in a separate training process (see `worker.py` for the other).

`TrainingProcess` starts `python -m gradstudio.core.training.worker` ahead of time, so the
seconds torch takes to import are spent before the user presses Train. `RemoteJob` runs a
pickled recipe there and looks, to the GUI, like a local TrainingJob: the same `state`,
`result`, `latest_probe`/`probe_version`, `last_tape`, `progress()`, and pause, resume, stop
and single step. Metrics arrive every 0.1 s in batches and go into the app's MetricSeries.
If the process dies without saying how the run ended, the run ends as failed with the exit
code, and its record in the run store says so too.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Client

from .job import JobResult, Progress


class TrainingProcess:
    """A Python process importing torch, then waiting for one run."""

    def __init__(self):
        self.key = os.urandom(32)
        self.popen = subprocess.Popen([sys.executable, "-m", "gradstudio.core.training.worker"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.popen.stdin.write(self.key.hex().encode() + b"\n")
        self.popen.stdin.flush()  # stdin stays open: its end tells the process the app is gone
        self._address = None
        self._connected = False  # until then it holds no run, and may simply be killed

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def wait_ready(self) -> None:
        """Block until the process listens (it imports torch first: seconds)."""
        if self._address is None:
            line = self.popen.stdout.readline()
            if not line:
                raise RuntimeError(f"the training process ended before it was ready (exit code {self.popen.wait()})")
            self._address = json.loads(line)

    def connect(self):
        self.wait_ready()
        self._connected = True
        return Client(self._address, authkey=self.key)

    def close(self, timeout: float = 5.0, wait: bool = True) -> None:
        """Tell the process the app is done with it (an idle one exits at once, one that is
        training stops its run and stores it), and kill it if it lingers past `timeout`.
        Without `wait`, a daemon thread does the waiting. One that never got a run is killed:
        it may still be importing torch, and would only notice the app leaving after that."""
        if not self._connected and self.alive:
            self.popen.kill()
        for pipe in (self.popen.stdin, self.popen.stdout):
            try:
                pipe.close()
            except OSError:
                pass
        if wait:
            self._reap(timeout)
        else:
            threading.Thread(target=self._reap, args=(timeout,), name="gradstudio-reap", daemon=True).start()

    def _reap(self, timeout: float) -> None:
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


class RemoteJob:
    """A run in a TrainingProcess, controlled and observed from the app."""

    def __init__(self, process: TrainingProcess, payload: bytes, *, series=None,
                 on_state: Callable[[str], None] | None = None, store_path: str | None = None):
        self.process, self.payload = process, payload
        self.series, self.on_state, self.store_path = series, on_state, store_path
        self.state = "ready"
        self.result: JobResult | None = None
        self.latest_probe = None
        self.probe_version = 0
        self.last_tape = None
        self.last_checkpoint: str | None = None
        self.run_id: int | None = None
        self.warning: str | None = None
        self._progress: Progress | None = None
        self._conn = None
        self._queued: list[tuple] = []
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._serve, name="gradstudio-training-link", daemon=True)

    # -- control (any thread) ----------------------------------------------------------
    def start(self) -> None:
        self.thread.start()

    def is_alive(self) -> bool:
        return self.thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        self.thread.join(timeout)

    def pause(self) -> None:
        self._command("pause")

    def resume(self) -> None:
        self._command("resume")

    def stop(self) -> None:
        self._command("stop")

    def step_once(self, record: bool = True) -> None:
        self._command("step", record)

    def progress(self) -> Progress | None:
        return self._progress

    def _command(self, *message) -> None:
        """Sent at once, or as soon as the process is connected."""
        with self._lock:
            if self._conn is None:
                self._queued.append(message)
                return
            try:
                self._conn.send_bytes(pickle.dumps(message))
            except OSError:  # the process is gone: the link thread reports how the run ended
                return

    # -- the link (its own thread) -----------------------------------------------------
    def _serve(self) -> None:
        conn = None
        try:
            conn = self.process.connect()
            conn.send_bytes(self.payload)
            with self._lock:
                self._conn = conn
                for message in self._queued:
                    conn.send_bytes(pickle.dumps(message))
                self._queued.clear()
            while self.result is None:
                kind, payload = pickle.loads(conn.recv_bytes())
                self._receive(kind, payload)
        except Exception as exc:  # noqa: BLE001 - whatever broke the link, the run ends in words
            if self.result is None:
                self._lost(exc)
        finally:
            with self._lock:
                self._conn = None
            if conn is not None:
                conn.close()
            self.process.close(timeout=60.0, wait=False)  # it has said all; its exit is its own business

    def _receive(self, kind: str, payload: dict) -> None:
        if "progress" in payload and payload["progress"] is not None:
            self._progress = payload["progress"]
        if "probe" in payload:
            version, self.latest_probe = payload["probe"]
            self.probe_version = version
        if kind == "metrics":
            if self.series is not None:
                self.series.extend(payload["rows"])
        elif kind == "warning":
            self.warning = payload["text"]
        elif kind == "state":
            state = payload["state"]
            self.run_id = payload.get("run_id", self.run_id)
            if state == "recorded":
                self.last_tape = payload["tape"]
            if state == "finished":
                self.last_checkpoint = payload.get("last_checkpoint")
                self.result = payload["result"]
            if state != "recorded":  # a notice, not a state: the run is still paused or running
                self.state = state
            self._notify(state)

    def _lost(self, exc: BaseException) -> None:
        """The process died (or never started) without saying how the run ended."""
        try:
            code = self.process.popen.wait(2.0)
        except subprocess.TimeoutExpired:
            code = None
        where = f" (exit code {code})" if code is not None else ""
        reason = f"the training process stopped unexpectedly{where}: {type(exc).__name__}: {exc}".rstrip(": ")
        if self.state == "ready":  # it never started the run: its own error is on the app's stderr
            reason += "; GRADSTUDIO_TRAINING=thread trains inside the app instead"
        if self.run_id is not None and self.store_path:
            from ..runs import RunStore

            try:
                with RunStore(self.store_path) as store:
                    if store.run(self.run_id).status in ("running", "interrupted"):
                        store.finish(self.run_id, "failed", reason)
            except Exception:  # noqa: BLE001 - the record stays "running", shown as interrupted later
                pass
        steps = self._progress.step if self._progress is not None else 0
        self.result = JobResult("failed", reason, self.run_id, steps, self.last_checkpoint)
        self.state = "finished"
        self._notify("finished")

    def _notify(self, state: str) -> None:
        if self.on_state is not None:
            self.on_state(state)
