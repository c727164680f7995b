"""What the timeline says and how it colours events: plain functions, testable without Qt."""

from __future__ import annotations

import os

from gradstudio.core import stepping
from gradstudio.core.capture import (
    BackwardEndEvent,
    BackwardNodeEvent,
    BackwardStartEvent,
    CallEvent,
    ErrorEvent,
    LeafGradEvent,
)

# Okabe-Ito hues: told apart also with the common colour-vision deficiencies.
CATEGORY_COLORS = {
    stepping.FORWARD: "#0072b2",
    stepping.CONTROL: "#e69f00",
    stepping.NO_NODE: "#b4b4b4",
    stepping.BACKWARD: "#009e73",
    stepping.ERROR: "#d62728",
}
CATEGORY_LABELS = {
    stepping.FORWARD: "forward op",
    stepping.CONTROL: "control flow",
    stepping.NO_NODE: "no graph node",
    stepping.BACKWARD: "backward",
    stepping.ERROR: "error",
}


def categories(tape) -> list[str]:
    return [stepping.category(e) for e in tape.events] if tape is not None else []


def step_text(session) -> str:
    """`step 3 / 9 — pow @ cube (02_power.py:12)`; steps count from 1 for people."""
    n = session.n_events
    if not n:
        return "no recording yet"
    return f"step {session.step + 1} / {n} — {event_text(session.tape, session.current_event)}"


def event_text(tape, ev) -> str:
    """One line saying what an event did, where."""
    if isinstance(ev, CallEvent):
        text = ev.op + ("  (control flow)" if ev.control_flow else "")
        if ev.module is not None:
            text += f" @ {ev.module or '(model)'}"
        return text + _where(ev.source)
    if isinstance(ev, BackwardStartEvent):
        return f"{ev.api or 'backward'} starts pass {ev.pass_index + 1}" + _where(ev.source)
    if isinstance(ev, BackwardNodeEvent):
        node = tape.nodes.get(ev.node)
        if node is None:
            return f"backward through {ev.node}"
        return f"backward through {node.name}" + (f" @ {node.module or '(model)'}" if node.module is not None else "")
    if isinstance(ev, LeafGradEvent):
        leaf = tape.leaves.get(ev.leaf)
        return f"{leaf.name if leaf else ev.leaf}.grad accumulated"
    if isinstance(ev, BackwardEndEvent):
        if not ev.ok:
            return f"backward failed: {ev.error}"
        return "backward ends" + ("; saved tensors freed" if ev.freed else "")
    if isinstance(ev, ErrorEvent):
        return f"{ev.exc_type}: {ev.message}" + _where(ev.source)
    return ev.kind if ev is not None else ""


def _where(source) -> str:
    if source is None:
        return ""
    name = source.filename
    if not name.startswith("<"):
        name = os.path.basename(name)
    return f" ({name}:{source.lineno})"


def step_at(x: float, width: float, n: int) -> int:
    """The event under x on a strip `width` wide holding `n` equal marks."""
    if n <= 0 or width <= 0:
        return 0
    return max(0, min(n - 1, int(x / width * n)))
