"""What PyTorch says while capturing a static graph: warnings, log lines, errors.

torch.export and torch.jit.trace talk through three channels: Python warnings
(`TracerWarning`, deprecations), the `torch.*` loggers (printed to stderr, invisible in a
desktop app), and exceptions whose messages carry pages of debugging hints. This module
collects the first two as text and trims the third to what a reader needs, without
rewording any of it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import warnings

from ..capture.source import SourceLocation, _is_internal

_MAX_LOG_CHARS = 600
_MAX_ERROR_LINES = 24

# Lines of torch's error messages that only point at debugging switches and links.
_HINT_PATTERNS = (
    "TORCH_LOGS",
    "TORCHDYNAMO_",
    "https://",
    "http://",
    "draft_export",
    "For C++ stack trace",
    "For more debugging help",
    "For more information, run with",
    "For extended logs",
    "Caused by: (",  # an internal file and line of torch, not the user's
)

_FILE_LINE = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<func>\S+)')


class _Collector(logging.Handler):
    def __init__(self, sink: list[str]):
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage().strip()
        except Exception:
            return
        if len(text) > _MAX_LOG_CHARS:
            text = text[:_MAX_LOG_CHARS].rstrip() + " …"
        self.sink.append(f"{record.levelname.lower()} ({record.name}): {text}")


@contextlib.contextmanager
def collect_messages(sink: list[str]):
    """Append every warning and every torch log record of WARNING or above to `sink`.

    Torch's loggers keep their own stderr handlers; while the block runs those are swapped
    for a collector, and put back afterwards however the block ends. What torch prints to
    stderr meanwhile (export prints its partial graph on failure) goes to the yielded buffer.
    """
    collector = _Collector(sink)
    loggers = [logging.getLogger("torch")] + [
        lg
        for name, lg in list(logging.root.manager.loggerDict.items())
        if name.startswith("torch.") and isinstance(lg, logging.Logger) and lg.handlers
    ]
    saved = [(lg, lg.handlers[:]) for lg in loggers]
    for lg in loggers:
        lg.handlers = [collector]
    printed = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(printed):
        warnings.simplefilter("always")
        try:
            yield printed
        finally:
            for lg, handlers in saved:
                lg.handlers = handlers
            seen: set[str] = set()
            for w in caught:
                text = f"{w.category.__name__}: {w.message}"
                if text not in seen:  # torch.jit.trace runs the model twice: each message once
                    seen.add(text)
                    sink.append(text)


def printed_text(printed: io.StringIO, exc: BaseException | None = None) -> str | None:
    """What was printed, minus the partial graph an export error carries (kept apart)."""
    text = printed.getvalue()
    partial = getattr(exc, "partial_fx_graph", None)
    if partial:
        text = text.replace(str(partial), "")
    text = text.strip()
    if not text:
        return None
    return text if len(text) <= _MAX_LOG_CHARS else text[:_MAX_LOG_CHARS].rstrip() + " …"


def _without_hints(line: str) -> str:
    """The line up to the sentence that points at a debugging switch or link."""
    hits = [line.find(p) for p in _HINT_PATTERNS if p in line]
    if not hits:
        return line
    first = min(hits)
    start = max(line.rfind(". ", 0, first), line.rfind("! ", 0, first), line.rfind("? ", 0, first))
    return line[: start + 1].rstrip() if start >= 0 else ""


def clean_error(exc: BaseException) -> str:
    """`Type: message`, faithful, minus debugging switches, links and runs of blank lines."""
    lines: list[str] = []
    for raw in str(exc).splitlines():
        line = _without_hints(raw).rstrip()
        if line != raw.rstrip() and not line.strip():
            continue  # the whole line was a hint
        if not line.strip() and (not lines or not lines[-1].strip()):
            continue
        lines.append(line)
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) > _MAX_ERROR_LINES:
        lines = lines[:_MAX_ERROR_LINES] + ["…"]
    message = "\n".join(lines).strip() or repr(exc)
    return f"{type(exc).__name__}: {message}"


def _is_user_file(filename: str, exclude: tuple[str, ...]) -> bool:
    return not _is_internal(filename) and filename not in exclude and not filename.startswith("<frozen")


def error_location(exc: BaseException, exclude: tuple[str, ...] = ()) -> SourceLocation | None:
    """The user's line an error points at: the innermost user frame of its traceback, else
    the last user `File "...", line N` its message quotes. Files in `exclude` (the code
    that called torch) do not count."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if _is_user_file(code.co_filename, exclude):
            found = SourceLocation(code.co_filename, tb.tb_lineno, code.co_name)
        tb = tb.tb_next
    if found is not None:
        return found
    quoted = [
        SourceLocation(m["file"], int(m["line"]), m["func"])
        for m in _FILE_LINE.finditer(str(exc))
        if _is_user_file(m["file"], exclude)
    ]
    return quoted[-1] if quoted else None


def user_frame_of_stack(stack_trace: str | None) -> SourceLocation | None:
    """The innermost user frame of an FX node's `stack_trace` (outermost frame first)."""
    if not stack_trace:
        return None
    frames = [
        SourceLocation(m["file"], int(m["line"]), m["func"])
        for m in _FILE_LINE.finditer(stack_trace)
        if _is_user_file(m["file"], ())
    ]
    return frames[-1] if frames else None


_TRACE_FRAME = re.compile(r"^(?P<file>.+)\((?P<line>\d+)\): (?P<func>\S+)\s*$")


def user_frame_of_trace_range(source_range: str | None) -> SourceLocation | None:
    """The innermost user frame of a TorchScript node's source range (innermost first)."""
    for line in (source_range or "").splitlines():
        m = _TRACE_FRAME.match(line.strip())
        if m and _is_user_file(m["file"], ()):
            return SourceLocation(m["file"], int(m["line"]), m["func"])
    return None
