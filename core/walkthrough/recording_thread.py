"""One `record()` kept open across several calls, without recording anything else.

A recording is a `with` block, and while it is open every torch call and module call on
its thread is recorded. A lecturer advances the loop one line at a time with the app
running in between, so the recording lives on a thread of its own: each line is handed to
that thread, runs there inside the one open `record()`, and the caller waits for it. The
recorder only sees calls made on its own thread, so nothing the app does between two
lines ends up on the tape, and node ids stay consistent across lines (one tape, one graph).
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass

from ..capture import Tape, record

_POLL_S = 0.5  # how often a waiting caller checks that the thread is still alive


@dataclass
class LineError(Exception):
    """What a line raised, as text: no traceback, so no frame keeps a graph alive."""

    kind: str  # the exception's class name: "RuntimeError"
    message: str  # its message, exactly as PyTorch wrote it

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


def _serve(model, model_path: str, requests: queue.Queue, replies: queue.Queue) -> None:
    try:
        with record(model, model_path=model_path) as tape:
            replies.put(("ready", tape))
            while True:
                job = requests.get()
                if job is None:
                    break
                fn, args = job
                try:
                    replies.put(("ok", fn(*args)))
                except Exception as exc:  # the line's own failure: report it, keep recording
                    replies.put(("error", LineError(type(exc).__name__, str(exc))))
                del job, fn, args  # hold nothing of the graph while waiting
    except BaseException as exc:
        replies.put(("error", LineError(type(exc).__name__, str(exc))))
    replies.put(("closed", None))


class RecordingThread:
    """Runs functions one at a time inside a single open `record(model)`.

    Example::

        rec = RecordingThread(net)
        outputs = rec.call(forward, net, images)   # recorded
        rec.call(backward, loss)                   # same tape, same node ids
        tape = rec.close()                         # the recording ends here
    """

    def __init__(self, model, model_path: str = ""):
        self._requests: queue.Queue = queue.Queue()
        self._replies: queue.Queue = queue.Queue()
        self._thread = threading.Thread(
            target=_serve, args=(model, model_path, self._requests, self._replies),
            name="gradstudio-walkthrough-recording", daemon=True,
        )
        self._thread.start()
        kind, value = self._wait()
        if kind != "ready":
            self._thread.join()
            raise RuntimeError(f"the recording could not start: {value}")
        self.tape: Tape = value
        self.closed = False

    def _wait(self) -> tuple[str, object]:
        while True:
            try:
                return self._replies.get(timeout=_POLL_S)
            except queue.Empty:
                if not self._thread.is_alive() and self._replies.empty():
                    return "error", LineError("RuntimeError", "the recording thread ended unexpectedly")

    def call(self, fn, *args):
        """`fn(*args)` on the recording thread; raises `LineError` if it raised."""
        if self.closed:
            raise RuntimeError("this recording is closed; start a new one")
        self._requests.put((fn, args))
        kind, value = self._wait()
        if kind == "ok":
            return value
        if kind == "closed":  # the recording itself broke down (e.g. stopping raised)
            self.closed = True
            raise LineError("RuntimeError", "the recording ended unexpectedly")
        raise value

    def close(self) -> Tape:
        """End the recording (the tape becomes final) and let the thread finish."""
        if not self.closed:
            self.closed = True
            self._requests.put(None)
            self._thread.join()
        return self.tape
