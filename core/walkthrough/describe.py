"""What a line did to the graph, read off the tape, in the words shown next to the line."""

from __future__ import annotations

from ..capture import BackwardNodeEvent, CallEvent, Tape
from ..layout.model import join_dims


def created_nodes(tape: Tape, steps: range) -> tuple[int, int]:
    """(operation nodes, AccumulateGrad nodes) that the events in `steps` created."""
    ops = accumulate = 0
    for ev in tape.events[steps.start:steps.stop]:
        if isinstance(ev, CallEvent):
            for nid in ev.nodes:
                if tape.nodes[nid].is_accumulate:
                    accumulate += 1
                else:
                    ops += 1
    return ops, accumulate


def nodes_ran(tape: Tape, steps: range) -> list[str]:
    """Ids of the autograd nodes a backward pass in `steps` ran, in order."""
    return [ev.node for ev in tape.events[steps.start:steps.stop] if isinstance(ev, BackwardNodeEvent)]


def saved_bytes(tape: Tape, node_ids: list[str]) -> int:
    """Bytes the nodes held for backward, each buffer once, parameters' own memory left out."""
    seen: set = set()
    total = 0
    for nid in node_ids:
        for s in tape.nodes[nid].saved or ():
            if s.aliases_leaf or s.shape is None:
                continue
            key = s.storage_key or (nid, s.name)
            if key not in seen:
                seen.add(key)
                total += s.nbytes
    return total


def format_bytes(n: int) -> str:
    for unit, size in (("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def shape_text(shape) -> str:
    return join_dims(shape) or "scalar"
