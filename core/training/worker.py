"""The training process: `python -m gradstudio.core.training.worker`, started by the app
before it is needed, so torch is already imported when the user presses Train.

Handshake: the app writes a random key (hex) and a newline to our stdin and keeps stdin open;
we listen on a local socket with that key, write its address (JSON) as one line to stdout,
then send stdout to stderr so the user's prints cannot fill a pipe nobody reads. The app
connects and sends one pickled TrainingRecipe; we run it as a TrainingJob and send back, as
pickled tuples `(kind, payload)`:

- `("metrics", {"rows": [(step, {name: value})...], ...})` every 0.1 s while training;
- `("state", {"state": running|paused|recorded|finished, ...})` on each transition, with the
  tape of a recorded step and, at the end, the JobResult.

Every message also carries `progress` and, when it changed, the latest `probe`. The app
sends `("pause",)`, `("resume",)`, `("stop",)` or `("step", record)`. When the app goes away
(stdin reaches its end, as it does when the app is killed), a run under way is stopped and
stored as stopped with that reason; an idle process exits.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import threading
import time
import traceback

APP_GONE_REASON = "the app that started it closed"
GRACE_SECONDS = 30.0  # after the app is gone, the time a run gets to stop and store its ending


def compute_threads(cores: int | None = None) -> int:
    """Threads for torch's CPU ops: every core but one, which is left to the app for drawing.
    Measured on 2 cores: with both, each redraw of the app stalls torch's second thread and
    the small MLP trains 25% slower; with one, as fast as a plain loop with two."""
    cores = cores or os.cpu_count() or 1
    return max(1, cores - 1)


class Forwarder:
    """Stands in for the job's MetricSeries and state callback: sends what they would get."""

    def __init__(self, send):
        self.send = send
        self.job = None
        self._probe_sent = 0

    def extend(self, rows) -> None:  # the MetricSeries interface the job uses
        self.send("metrics", self._with_extras({"rows": rows}))

    def state(self, state: str) -> None:
        payload = {"state": state}
        job = self.job
        if job is not None:
            if state == "recorded":
                payload["tape"] = job.last_tape
            if state == "finished":
                payload["result"] = job.result
                payload["last_checkpoint"] = job.last_checkpoint
            payload["run_id"] = job.run_id
        self.send("state", self._with_extras(payload))

    def _with_extras(self, payload: dict) -> dict:
        job = self.job
        if job is not None:
            payload["progress"] = job.progress()
            if job.probe_version != self._probe_sent and job.latest_probe is not None:
                self._probe_sent = job.probe_version
                payload["probe"] = (job.probe_version, job.latest_probe)
        return payload


class _Sender:
    """Pickled messages on the connection, one writer at a time. Once the app has hung up,
    messages are dropped: the run still ends properly and its record is still written."""

    def __init__(self, conn):
        self.conn = conn
        self.lock = threading.Lock()
        self.gone = False

    def __call__(self, kind: str, payload: dict) -> None:
        if self.gone:
            return
        data = pickle.dumps((kind, payload), protocol=pickle.HIGHEST_PROTOCOL)
        with self.lock:
            try:
                self.conn.send_bytes(data)
            except (OSError, EOFError):
                self.gone = True


def _failed(send, reason: str) -> None:
    from .job import JobResult

    send("state", {"state": "finished", "result": JobResult("failed", reason, None, 0)})


def _obey(conn, job) -> None:
    """The app's commands, until it hangs up."""
    while True:
        try:
            message = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return
        kind = message[0]
        if kind == "pause":
            job.pause()
        elif kind == "resume":
            job.resume()
        elif kind == "stop":
            job.stop()
        elif kind == "step":
            job.step_once(record=bool(message[1]))


class _Watch:
    """Notices the app going away (our stdin ends) and stops the run, or exits when idle."""

    def __init__(self):
        self.job = None
        threading.Thread(target=self._wait, name="gradstudio-app-watch", daemon=True).start()

    def _wait(self) -> None:
        try:
            while os.read(0, 4096):  # not sys.stdin: its lock would block the interpreter's exit
                pass
        except OSError:  # any failure to read means the app is unreachable
            pass
        job = self.job
        if job is None:
            os._exit(0)
        job.stop(APP_GONE_REASON)
        time.sleep(GRACE_SECONDS)
        os._exit(1)


def serve(conn, watch: _Watch) -> int:
    send = _Sender(conn)
    try:
        payload = conn.recv_bytes()
    except (EOFError, OSError):
        return 0  # the app closed before it needed us
    try:
        recipe = pickle.loads(payload)
        loaders = recipe.loaders()
    except Exception as exc:  # noqa: BLE001 - said to the app as the run's failure
        _failed(send, f"the training process could not set up the run: {type(exc).__name__}: {exc}")
        return 1
    store, warning = None, None
    if recipe.store_path:
        from ..runs import RunStore

        try:
            store = RunStore(recipe.store_path)
        except Exception as exc:  # noqa: BLE001 - train anyway, and say the run is not stored
            warning = f"This run is not being stored: {exc}"
    forward = Forwarder(send)
    if warning:
        send("warning", {"text": warning})
    job = recipe.job(store=store, series=forward, on_state=forward.state, loaders=loaders)
    forward.job = watch.job = job
    threading.Thread(target=_obey, args=(conn, job), name="gradstudio-commands", daemon=True).start()
    try:
        job.run()
    finally:
        if store is not None:
            store.close()
    return 0


def warm_up_gpu() -> None:
    """Start CUDA on the first GPU and take one small training step there while nobody
    waits: CUDA loads each kernel (and cuBLAS, cuDNN) on first use, which a run would
    otherwise spend its first half second on (measured on an H100). Costs the CUDA context's
    memory on that GPU while the process waits. Never fails the process."""
    import torch
    from torch import nn

    try:
        if not torch.cuda.is_available():
            return
        net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                            nn.Linear(64, 8), nn.Tanh(), nn.Linear(8, 2)).cuda()
        optimizer = torch.optim.Adam(net.parameters())
        loss = nn.functional.cross_entropy(net(torch.randn(4, 1, 8, 8, device="cuda")),
                                           torch.zeros(4, dtype=torch.long, device="cuda"))
        loss.backward()
        optimizer.step()
        loss.item()
    except Exception:  # noqa: BLE001 - the run will meet (and report) a broken GPU itself
        traceback.print_exc()


def main() -> int:
    key = bytes.fromhex(sys.stdin.buffer.readline().decode().strip())
    # the slow imports, done while the app does not need us yet: torch, and torch._dynamo,
    # which the first optimizer made in a process imports (2 s here)
    from multiprocessing.connection import Listener

    import torch

    from . import job  # noqa: F401

    torch.set_num_threads(compute_threads())
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)

    watch = _Watch()
    with Listener(authkey=key) as listener:
        address = listener.address
        sys.stdout.write(json.dumps(address) + "\n")
        sys.stdout.flush()
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
        warm_up_gpu()  # an app that connects meanwhile waits in the backlog, as it would for the run
        conn = listener.accept()
    try:
        return serve(conn, watch)
    except Exception:  # noqa: BLE001 - anything unforeseen: on stderr, and the app sees the exit code
        traceback.print_exc()
        return 1
    finally:
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
