"""Which box gets which mark: matched ops share a number and colour on both sides, ops only
in the dynamic run are "lost", ops only in the static graph are "static only".

Plain data, no Qt. A pair's number is its static op's position (1, 2, ...), so every
dynamic panel beside one static graph numbers the same operation alike. A call the static
graph spells as several ops (an RNN cell as linear, linear, add, tanh) shows their range.
Calls that made no autograd node (a comparison, `if t:`) have no box: they are listed.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..capture import CallEvent, Tape
from ..graph.model import Graph
from . import OpMatch
from .static_graph import static_node_id

PAIRED, LOST, STATIC_ONLY = "paired", "lost", "static_only"
# distinct on white and on near-black; no red or orange, which mean lost / static only
PAIR_COLOURS = ("#1f77b4", "#2e9d3a", "#8e44ad", "#00897b", "#c2185b", "#3949ab", "#8d6e63", "#0097a7",
                "#7cb342", "#5e35b1")
LOST_COLOUR = "#d32f2f"
STATIC_ONLY_COLOUR = "#ef6c00"
LOST_TEXT = "lost in static graph"
STATIC_ONLY_TEXT = "not in this run"


@dataclass(frozen=True)
class Mark:
    role: str  # PAIRED, LOST or STATIC_ONLY
    label: str  # the pair's number(s), "" otherwise
    colour: str
    note: str = ""  # a caption other than the role's own

    @property
    def caption(self) -> str:
        return self.note or {LOST: LOST_TEXT, STATIC_ONLY: STATIC_ONLY_TEXT}.get(self.role, "")


def pair_colour(static_index: int) -> str:
    return PAIR_COLOURS[static_index % len(PAIR_COLOURS)]


def _numbers(static_indexes: list[int]) -> str:
    first, last = min(static_indexes) + 1, max(static_indexes) + 1
    if first == last:
        return str(first)
    if last - first + 1 == len(static_indexes):
        return f"{first}–{last}"
    return ",".join(str(j + 1) for j in sorted(static_indexes))


def _partners(match: OpMatch) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for i, j in match.pairs:
        out.setdefault(i, []).append(j)
    return out


def _op_boxes(event: CallEvent, graph: Graph) -> list[str]:
    return [n for n in event.nodes if n in graph.nodes and graph.nodes[n].kind == "op"]


def dynamic_marks(tape: Tape, graph: Graph, match: OpMatch) -> dict[str, Mark]:
    """Node id -> mark, for the boxes of the tape's graph."""
    marks: dict[str, Mark] = {}
    for i, js in _partners(match).items():
        mark = Mark(PAIRED, _numbers(js), pair_colour(min(js)))
        for nid in _op_boxes(tape.events[i], graph):
            marks[nid] = mark
    lost = Mark(LOST, "", LOST_COLOUR)
    for i in match.dynamic_only:
        for nid in _op_boxes(tape.events[i], graph):
            marks[nid] = lost
    return marks


def static_marks(match: OpMatch, absent: str = STATIC_ONLY_TEXT) -> dict[str, Mark]:
    """Node id -> mark, for the boxes of the static graph (`static_graph`); `absent`
    captions the ops the matched run lacks ("not in this run")."""
    marks = {static_node_id(j): Mark(PAIRED, str(j + 1), pair_colour(j)) for _, j in match.pairs}
    only = Mark(STATIC_ONLY, "", STATIC_ONLY_COLOUR, absent)
    marks.update({static_node_id(j): only for j in match.static_only})
    return marks


@dataclass(frozen=True)
class Unboxed:
    """A call of the run that made no box: its words, and whether the static graph has it."""

    text: str
    mark: Mark


def unboxed_calls(tape: Tape, graph: Graph, match: OpMatch) -> list[Unboxed]:
    """The model's calls without an autograd node (`sum` of an input, `gt`, `if t:`)."""
    partners = _partners(match)
    lost = set(match.dynamic_only)
    out = []
    for i in sorted(set(partners) | lost):
        event = tape.events[i]
        if _op_boxes(event, graph):
            continue
        where = f" (line {event.source.lineno})" if event.source is not None else ""
        what = f"{event.op}, a tensor steering Python" if event.control_flow else event.op
        if i in partners:
            mark = Mark(PAIRED, _numbers(partners[i]), pair_colour(min(partners[i])))
        else:
            mark = Mark(LOST, "", LOST_COLOUR)
        out.append(Unboxed(f"{what}{where}", mark))
    return out
