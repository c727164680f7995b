"""Pair a tape's operations with a static graph's, in order, to show what a capture lost.

Only the model's own work is compared: events inside some module (the static graph holds
nothing else: not the inputs' creation, not the loss). Events where a tensor steered Python
(`if t:`, `t.item()`, `len(t)`) compute nothing a graph keeps; they are never paired and are
listed among `dynamic_only`, since those are exactly what a static graph loses.

Alignment: `difflib.SequenceMatcher` over (module path, op key) first; inside stretches it
could not align, a second pass over op keys alone pairs ops whose module names differ
(a tape recorded without its model names modules differently). A third pass pairs one call
with several static ops from the same module and line (torch.jit.trace spells an RNN cell
as linear, linear, add, tanh): when the static ops of that module and line divide evenly
among the unpaired calls, each call takes its share in order, so one event may appear in
several pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from difflib import SequenceMatcher

from ..capture.events import CallEvent
from ..capture.tape import Tape
from .lost import explain_losses
from .op_names import PYTHON_LEVEL, op_key
from .static_capture import StaticCapture


@dataclass
class OpMatch:
    """Which tape events the static graph holds, which it lost, and why in words.

    Attributes:
        pairs: (tape event index, static op index), in order; one event may pair with
            several static ops that spell it out.
        dynamic_only: tape event indexes with no static counterpart (control flow included).
        static_only: static op indexes with no tape counterpart.
        lost: sentences saying what the static graph lost.
        method: the capture compared with (`torch.export`, `torch.jit.trace`).
    """

    method: str
    pairs: list[tuple[int, int]] = field(default_factory=list)
    dynamic_only: list[int] = field(default_factory=list)
    static_only: list[int] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every operation on either side found its counterpart."""
        return not self.dynamic_only and not self.static_only


def model_events(tape: Tape, model_path: str = "") -> tuple[list[CallEvent], list[CallEvent]]:
    """The model's computing events and its control-flow events, module paths made relative
    to `model_path` (the name the model went by while recording, "" if none)."""
    compute, control = [], []
    for e in tape.forward_events:
        module = _relative(e.module, model_path)
        if module is None:
            continue
        if e.control_flow or e.op in PYTHON_LEVEL:
            control.append(e)
        else:
            compute.append(e)
    return compute, control


def _relative(module: str | None, model_path: str) -> str | None:
    if module is None or not model_path:
        return module
    if module == model_path:
        return ""
    if module.startswith(model_path + "."):
        return module[len(model_path) + 1 :]
    return None  # another module than the model


def _place(module: str | None, source) -> tuple | None:
    return None if source is None else (module, source.filename, source.lineno)


def _spelled_out(compute, static, rows, cols, found, model_path) -> list[tuple[int, int]]:
    """Calls the static graph spells as several ops: same module and line, evenly divided."""
    taken_a = {i for i, _ in found}
    taken_b = {j for _, j in found}
    calls: dict[tuple, list[int]] = {}
    for i in rows:
        place = _place(_relative(compute[i].module, model_path), compute[i].source)
        if i not in taken_a and place is not None:
            calls.setdefault(place, []).append(i)
    pairs = []
    for place, events in calls.items():
        ops = [j for j in cols if j not in taken_b and _place(static.ops[j].module, static.ops[j].source) == place]
        if not ops or len(ops) % len(events):
            continue
        share = len(ops) // len(events)
        for n, i in enumerate(events):
            pairs.extend((i, j) for j in ops[n * share : (n + 1) * share])
    return pairs


def match_ops(tape: Tape, static: StaticCapture, *, model_path: str = "") -> OpMatch:
    """Align the tape's operations with `static`'s and explain what the static graph lost."""
    compute, control = model_events(tape, model_path)
    a = [(_relative(e.module, model_path), op_key(e.op)) for e in compute]
    b = [(op.module, op.key) for op in static.ops]
    pairs: list[tuple[int, int]] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            pairs.extend(zip(range(i1, i2), range(j1, j2)))
        elif tag == "replace":  # same ops under other module names still pair
            inner = SequenceMatcher(None, [k for _, k in a[i1:i2]], [k for _, k in b[j1:j2]], autojunk=False)
            found = []
            for block in inner.get_matching_blocks():
                found.extend((i1 + block.a + k, j1 + block.b + k) for k in range(block.size))
            pairs.extend(found)
            pairs.extend(_spelled_out(compute, static, range(i1, i2), range(j1, j2), found, model_path))
    paired_a = {i for i, _ in pairs}
    paired_b = {j for _, j in pairs}
    unpaired = [e for i, e in enumerate(compute) if i not in paired_a]
    static_only = [j for j in range(len(static.ops)) if j not in paired_b]
    result = OpMatch(
        method=static.method,
        pairs=sorted((compute[i].index, j) for i, j in pairs),
        dynamic_only=sorted(e.index for e in unpaired + control),
        static_only=static_only,
    )
    result.lost = explain_losses(compute, control, static, {e.index for e in unpaired}, set(static_only))
    return result
