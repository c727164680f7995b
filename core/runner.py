"""Run a user's script under `record()`, safely: errors come back as values, and a run can
be cancelled from another thread (also an endless `while True:` loop).

Used by the app's worker thread and usable from any script.
"""

from __future__ import annotations

import ctypes
import threading
import time
import traceback
from dataclasses import dataclass, field

import torch

from .capture import DEFAULT_MEMORY_BUDGET, Tape, record, register_source
from .capture.cancel import RunCancelled
from .capture.source import _is_internal


@dataclass
class ScriptError:
    """Why a run failed, pinned to the user's line where there is one."""

    kind: str  # "syntax", "exception", "cancelled"
    exc_type: str
    message: str
    filename: str | None = None
    lineno: int | None = None
    line_text: str = ""
    traceback: str = ""

    def __str__(self) -> str:
        where = f"line {self.lineno}: " if self.lineno else ""
        if self.kind == "cancelled":
            return f"{where}run cancelled"
        return f"{where}{self.exc_type}: {self.message}"


@dataclass
class RunResult:
    tape: Tape | None
    error: ScriptError | None = None
    notice: str | None = None  # a run that worked but recorded nothing worth drawing says why
    namespace: dict = field(default_factory=dict)
    # id(module) -> the arguments of its first call from the script itself (not from a parent
    # module): lets the app record a script's model again, e.g. after freezing part of it
    first_inputs: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


NOTHING_RECORDED = (
    "Nothing to draw: the script ran, but no tensor in it requires grad, so autograd built no "
    "graph. Create one with requires_grad=True (e.g. torch.randn(3, requires_grad=True)) or "
    "call an nn.Module, whose parameters require grad."
)


class CancelToken:
    """Lets another thread stop a run.

    `cancel()` sets a flag the recorder checks at every torch call (a safe point).
    `cancel(force=True)` also raises RunCancelled asynchronously in the running thread, which
    stops loops that make no torch call (`while True: pass`); callers repeat it until the run
    ends, since user code may catch it once.
    """

    def __init__(self):
        self.cancelled = threading.Event()
        self._thread_id: int | None = None
        self._lock = threading.Lock()

    def bind(self) -> None:
        with self._lock:
            self._thread_id = threading.get_ident()

    def unbind(self) -> None:
        with self._lock:
            self._thread_id = None

    def cancel(self, force: bool = False) -> None:
        self.cancelled.set()
        if not force:
            return
        with self._lock:  # never aim at a thread that has left the run
            tid = self._thread_id
            if tid is not None:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(tid), ctypes.py_object(RunCancelled))


def run_script(
    source: str,
    filename: str = "<editor>",
    *,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    cancel: CancelToken | None = None,
) -> RunResult:
    """Compile and run `source` under `record()`; never raises for the user's mistakes."""
    register_source(filename, source)
    start = time.perf_counter()
    try:
        code = compile(source, filename, "exec")
    except SyntaxError as e:
        return RunResult(
            tape=None,
            error=ScriptError(
                kind="syntax",
                exc_type=type(e).__name__,
                message=e.msg or str(e),
                filename=filename,
                lineno=e.lineno,
                line_text=(e.text or "").rstrip("\n"),
            ),
        )
    namespace = {"__name__": "__main__", "__file__": filename}
    rec = record(memory_budget=memory_budget, names=namespace, cancel=cancel.cancelled if cancel else None)
    calls = _FirstCalls()
    error = None
    try:
        with rec, calls:
            try:
                if cancel is not None:
                    cancel.bind()
                exec(code, namespace)
            finally:  # stop accepting asynchronous cancels before the recorder cleans up
                if cancel is not None:
                    cancel.unbind()
    except RunCancelled as e:
        error = _script_error(e, filename, kind="cancelled")
    except SystemExit as e:  # sys.exit() / exit(0) ends a script; only a non-zero code is an error
        if e.code not in (None, 0):
            error = _script_error(e, filename, kind="exception")
    except BaseException as e:  # the user's code may raise anything
        error = _script_error(e, filename, kind="exception")
    if cancel is not None and cancel.cancelled.is_set() and error is None:
        error = ScriptError("cancelled", "RunCancelled", "run cancelled")
    tape = rec.tape
    notice = None
    if error is None and tape is not None and not tape.nodes:
        notice = NOTHING_RECORDED
    return RunResult(tape=tape, error=error, notice=notice, namespace=namespace, seconds=time.perf_counter() - start,
                     first_inputs=calls.inputs)


class _FirstCalls:
    """Remembers each module's first call from the top level (a forward pre/post hook pair)."""

    def __init__(self):
        self.inputs: dict[int, tuple] = {}
        self._depth = 0
        self._thread = threading.get_ident()
        self._handles = []

    def __enter__(self):
        from torch.nn.modules import module as module_mod

        self._handles = [
            module_mod.register_module_forward_pre_hook(self._pre),
            module_mod.register_module_forward_hook(self._post, always_call=True),
        ]
        return self

    def __exit__(self, *exc) -> bool:
        for h in self._handles:
            h.remove()
        return False

    def _pre(self, module, args):
        if threading.get_ident() == self._thread:
            if self._depth == 0 and id(module) not in self.inputs:
                # detached (an example input must not keep the script's graph alive), and out
                # of the recorder's sight: this is gradstudio's work, not the script's
                with torch._C.DisableTorchFunction():
                    self.inputs[id(module)] = tuple(a.detach() if isinstance(a, torch.Tensor) else a for a in args)
            self._depth += 1

    def _post(self, module, args, output):
        if threading.get_ident() == self._thread:
            self._depth = max(0, self._depth - 1)


def _script_error(exc: BaseException, filename: str, kind: str) -> ScriptError:
    lineno = None
    tb = exc.__traceback__
    frames = []
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename == filename:
            lineno = tb.tb_lineno  # innermost line of the script itself
        if not _is_internal(code.co_filename):
            frames.append(tb)
        tb = tb.tb_next
    import linecache

    text = linecache.getline(filename, lineno).rstrip("\n") if lineno else ""
    formatted = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return ScriptError(
        kind=kind,
        exc_type=type(exc).__name__,
        message=str(exc),
        filename=filename,
        lineno=lineno,
        line_text=text,
        traceback=formatted,
    )
