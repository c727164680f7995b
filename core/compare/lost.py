"""Sentences for what a static graph lost, read off the tape, the capture and the source.

The heuristics, all conservative (no sentence rather than a wrong one):

1. A failed capture: say so, with the error type and the user's line.
2. Control flow: each line where a tensor steered Python (`__bool__`, `item`, ...). Its kind
   comes from the line's text: `if`/`elif`/`while`/`assert`, else a number taken out of a
   tensor, else a generic sentence.
3. Loops: a line whose operations repeat r times (the smallest period of its op keys) and
   that sits in a `for`/`while` of the same function. Reported once per loop, with the
   static graph's own repetition count for the same line: the loop was unrolled.
4. Whole lines present on one side only: a branch not taken, or work the capture dropped.
"""

from __future__ import annotations

import io
import linecache
import re
import tokenize

from ..capture.events import CallEvent
from ..capture.source import SourceLocation
from .op_names import op_key
from .static_capture import EXPORT, StaticCapture, StaticOp

_CONDITION = re.compile(r"^(?P<kw>if|elif|while|assert)\s+(?P<cond>.*?)\s*:?\s*(#.*)?$")
_TO_NUMBER = frozenset({"item", "__int__", "__float__", "__index__", "tolist"})


def explain_losses(
    compute: list[CallEvent],
    control: list[CallEvent],
    static: StaticCapture,
    dynamic_unpaired: set[int],
    static_unpaired: set[int],
) -> list[str]:
    when = "export" if static.method == EXPORT else "trace"
    sentences: list[str] = []
    if not static.ok:
        sentences.append(_failure(static))
    control_lines = set()
    for loc, events in _by_line(control).items():
        control_lines.add(loc)
        sentence = _control_sentence(loc, events, static, when)
        if sentence:
            sentences.append(sentence)
    if not static.ok:
        return sentences
    looped = _loop_sentences(compute, static, when)
    sentences.extend(s for _, s in looped)
    loop_lines = {line for line, _ in looped}
    tape_lines = _by_line(compute)
    for loc, events in tape_lines.items():
        if loc in control_lines or loc in loop_lines:
            continue
        if all(e.index in dynamic_unpaired for e in events):
            sentences.append(
                f"line {loc[1]} (`{_text(loc)}`) ran in this run, but none of its operations is in the "
                f"static graph: a branch not taken at {when} time, or work the capture dropped"
            )
    static_lines = _by_line(static.ops)
    for loc, ops in static_lines.items():
        if loc in tape_lines or loc in control_lines or loc in loop_lines:
            continue
        if all(op.index in static_unpaired for op in ops):
            sentences.append(f"line {loc[1]} (`{_text(loc)}`) is in the static graph but did not run in this run")
    return sentences


# -- helpers ---------------------------------------------------------------------------
def _by_line(items) -> dict[tuple[str, int], list]:
    """Items grouped by their source line, in order of first appearance."""
    groups: dict[tuple[str, int], list] = {}
    for item in items:
        src: SourceLocation | None = item.source
        if src is not None:
            groups.setdefault((src.filename, src.lineno), []).append(item)
    return groups


def _text(loc: tuple[str, int]) -> str:
    return _code(linecache.getline(loc[0], loc[1]))


def _code(line: str) -> str:
    """The line without its comment (a `#` inside a string stays)."""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(line.strip() + "\n").readline):
            if tok.type == tokenize.COMMENT:
                return line.strip()[: tok.start[1]].rstrip()
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return line.strip()


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def _failure(static: StaticCapture) -> str:
    where = ""
    if static.error_line is not None:
        loc = (static.error_line.filename, static.error_line.lineno)
        where = f" at line {loc[1]} (`{_text(loc)}`)"
    return f"{static.method} captured no graph: {static.error_type}{where}"


def _control_sentence(loc, events: list[CallEvent], static: StaticCapture, when: str) -> str | None:
    text = _text(loc)
    m = _CONDITION.match(text)
    runs = f" ({_times(len(events))} in this run)" if len(events) > 1 else ""
    if not static.ok:
        err = static.error_line
        if err is not None and (err.filename, err.lineno) == loc:
            what = f"the `{m['kw']}` on line {loc[1]} ({m['cond']})" if m else f"line {loc[1]} (`{text}`)"
            return f"{what} depends on the tensor's values: {static.method} refused to capture it ({static.error_type})"
        return None
    if m:
        kw, cond = m["kw"], m["cond"]
        head = f"the `{kw}` on line {loc[1]} ({cond}) was evaluated once at {when} time{runs}"
        if kw == "while":
            return f"{head}; the static graph repeats the loop's body as often as it ran then"
        if kw == "assert":
            return f"{head}; the static graph never checks it again"
        return f"{head}; the static graph keeps only the branch that ran"
    op = events[0].op
    if op in _TO_NUMBER:
        return (
            f"line {loc[1]} (`{text}`) turned a tensor into a Python number (`{op}`) at {when} time{runs}; "
            "the static graph keeps that number as a constant"
        )
    return (
        f"line {loc[1]} (`{text}`) let a tensor's value steer Python (`{op}`) at {when} time{runs}; "
        "the static graph keeps only what happened then"
    )


def _repeats(keys: list[str]) -> int:
    """How many times the shortest repeating pattern fills `keys` ([a, b, a, b] -> 2)."""
    n = len(keys)
    for period in range(1, n + 1):
        if n % period == 0 and keys == keys[:period] * (n // period):
            return n // period
    return 1


def _enclosing_loop(loc: tuple[str, int]) -> tuple[int, str] | None:
    """The `for`/`while` line around this one, within the same function, if any."""
    filename, lineno = loc
    line = linecache.getline(filename, lineno)
    indent = len(line) - len(line.lstrip())
    for n in range(lineno - 1, 0, -1):
        above = linecache.getline(filename, n)
        stripped = above.strip()
        if not stripped or stripped.startswith("#"):
            continue
        above_indent = len(above) - len(above.lstrip())
        if above_indent >= indent:
            continue
        if stripped.startswith(("for ", "while ", "async for ")):
            return n, _code(stripped)
        if stripped.startswith(("def ", "async def ", "class ")):
            return None
        indent = above_indent
    return None


def _loop_sentences(compute: list[CallEvent], static: StaticCapture, when: str) -> list[tuple[tuple, str]]:
    """(line, sentence) for each loop whose body repeated on either side."""
    tape_lines = _by_line(compute)
    static_lines: dict[tuple[str, int], list[StaticOp]] = _by_line(static.ops)
    out: list[tuple[tuple, str]] = []
    reported: set[tuple[str, int]] = set()
    for loc in list(tape_lines) + [k for k in static_lines if k not in tape_lines]:
        r_tape = _repeats([op_key(e.op) for e in tape_lines.get(loc, [])])
        r_static = _repeats([op.key for op in static_lines.get(loc, [])])
        if loc not in static_lines or (r_tape < 2 and r_static < 2):
            continue
        loop = _enclosing_loop(loc)
        if loop is None or (loc[0], loop[0]) in reported:
            continue
        reported.add((loc[0], loop[0]))
        if loc not in tape_lines:
            head = (
                f"the loop on line {loop[0]} (`{loop[1]}`) never reached line {loc[1]} in this run "
                f"but ran {_times(r_static)} at {when} time"
            )
        elif r_tape == r_static:
            head = f"the loop on line {loop[0]} (`{loop[1]}`) ran {_times(r_static)} at {when} time, as in this run"
        else:
            head = (
                f"the loop on line {loop[0]} (`{loop[1]}`) ran {_times(r_tape)} in this run "
                f"but {_times(r_static)} at {when} time"
            )
        out.append((loc, f"{head}; the static graph is unrolled: it always runs line {loc[1]} {_times(r_static)}"))
    return out
