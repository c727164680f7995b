"""Where the next step goes: single steps, over and out of module calls, to a source line.

Pure functions of a tape and a step index, so the app's buttons and keys are testable
without Qt.
"""

from __future__ import annotations

from .capture import CallEvent, Tape

# Timeline categories, each drawn in its own colour.
FORWARD, CONTROL, NO_NODE, BACKWARD, ERROR = "forward", "control", "no-node", "backward", "error"


def category(event) -> str:
    if event.kind == "error":
        return ERROR
    if isinstance(event, CallEvent):
        if event.control_flow:
            return CONTROL
        return FORWARD if event.nodes else NO_NODE
    return BACKWARD


def clamp(tape: Tape, step: int) -> int:
    return max(0, min(step, len(tape.events) - 1))


def step_over(tape: Tape, step: int) -> int:
    """Next event, skipping a whole module call if the next event enters one."""
    nxt = step + 1
    if nxt >= len(tape.events):
        return clamp(tape, nxt)
    here = set(_calls(tape, step))
    entered = [c for c in _calls(tape, nxt) if c not in here]
    if not entered:
        return nxt
    end = tape.module_calls[entered[0]].end_event
    # land on the last event inside the call: its result is then on screen
    return clamp(tape, (end if end is not None else len(tape.events)) - 1) if end != nxt else nxt


def step_out(tape: Tape, step: int) -> int:
    """To the first event after the innermost module call that contains this step returns."""
    calls = _calls(tape, step)
    if not calls:
        return clamp(tape, step + 1)
    end = tape.module_calls[calls[-1]].end_event
    return clamp(tape, end if end is not None else len(tape.events) - 1)


def run_to_line(tape: Tape, step: int, filename: str, lineno: int) -> int | None:
    """The next event made by `filename:lineno` after `step` (wrapping around), or None."""
    n = len(tape.events)
    for k in list(range(step + 1, n)) + list(range(0, step + 1)):
        src = getattr(tape.events[k], "source", None)
        if src is not None and src.lineno == lineno and src.filename == filename:
            return k
    return None


def first_backward(tape: Tape) -> int | None:
    return next((e.index for e in tape.events if e.kind == "backward_start"), None)


def _calls(tape: Tape, step: int) -> tuple[int, ...]:
    ev = tape.events[step]
    return ev.module_calls if isinstance(ev, CallEvent) else ()
