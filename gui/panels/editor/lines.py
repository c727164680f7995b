"""Which editor lines to mark for a session: plain functions, testable without Qt."""

from __future__ import annotations

from gradstudio.core.capture import BackwardStartEvent


def step_line(session) -> int | None:
    """The script line of the current step, or None when it comes from elsewhere.

    Backward events carry no source of their own: they show the line that started the
    pass (`loss.backward()`), so the band stays on it while gradients flow.
    """
    ev = session.current_event
    if ev is None:
        return None
    src = getattr(ev, "source", None)
    if src is None and ev.is_backward:
        src = _pass_start(session.tape, ev)
    if src is None or src.filename != session.filename:
        return None
    return src.lineno


def step_is_backward(session) -> bool:
    ev = session.current_event
    return ev is not None and ev.is_backward


def error_line(session) -> int | None:
    """The script line the current error points at, if it is in this script."""
    err = session.error
    if err is None or not err.lineno:
        return None
    if err.filename not in (None, session.filename):
        return None
    return err.lineno


def _pass_start(tape, ev):
    pass_index = getattr(ev, "pass_index", None)
    for k in range(ev.index, -1, -1):
        e = tape.events[k]
        if isinstance(e, BackwardStartEvent) and e.pass_index == pass_index:
            return e.source
    return None
