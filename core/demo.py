"""A text walkthrough of the seed's Power example, for a terminal or a notebook.

    python -m gradstudio.core.demo

Records `cube = Power(3)` on a random input, then prints each event (forward calls with the
nodes they created, then backward node by node) and the final graph.
"""

from __future__ import annotations

import torch

from .capture import BackwardNodeEvent, CallEvent, LeafGradEvent, record
from .examples import Power


def power_tape(seed: int = 0):
    torch.manual_seed(seed)
    cube = Power(3)
    inp = torch.randn(100, requires_grad=True)
    with record(cube) as tape:
        output = cube(inp)
        loss = output.mean()
        loss.backward()
    return tape


def _module_label(path: str | None) -> str:
    if path is None:
        return "script"
    return path or "model"


def describe(tape) -> str:
    g = tape.graph()
    lines = [tape.summary(), ""]
    for ev in tape.events:
        if isinstance(ev, CallEvent):
            made = ", ".join(g.nodes[n].label for n in ev.nodes) or "no node"
            where = f"  [{_module_label(ev.module)}] {ev.source}: {ev.source.text.strip()}" if ev.source else ""
            lines.append(f"{ev.index:3d}  {ev.op:<12} -> {made}{where}")
        elif isinstance(ev, BackwardNodeEvent):
            grad = ev.grads_received[0] if ev.grads_received else None
            norm = f"|grad| = {grad.stats.norm:.4g}" if grad is not None else ""
            lines.append(f"{ev.index:3d}  backward {g.nodes[ev.node].label:<20} {norm}")
        elif isinstance(ev, LeafGradEvent):
            lines.append(f"{ev.index:3d}  {g.nodes[ev.leaf].label}.grad filled, norm {ev.grad.stats.norm:.4g}")
        else:
            lines.append(f"{ev.index:3d}  {ev.kind}")
    lines += ["", repr(g), f"bytes saved for backward at the end: {g.saved_bytes}"]
    return "\n".join(lines)


def main() -> None:
    print(describe(power_tape()))


if __name__ == "__main__":
    main()
