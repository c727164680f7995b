"""Tooltips written when they are shown, so they tell the gradient at the current step
(a static tooltip per item would have to be rewritten on every step)."""

from __future__ import annotations

from html import escape

from .edge_item import EdgeItem
from .node_item import NodeItem


def _grad_text(norm) -> str:
    return "no gradient (None)" if norm is None else f"‖grad‖ = {norm:.4g}"


def node_tooltip(item: NodeItem) -> str:
    lines = [item.spec.tooltip]
    if item.has_grad:
        what = ".grad" if item.spec.kind in ("parameter", "input") else "received"
        lines.append(f"{what}: {_grad_text(item.grad_norm)}")
    if item.freed:
        lines.append("<i>saved tensors freed by backward</i>")
    if item.spec.kind == "cluster":
        lines.append("<i>double-click to unfold</i>")
    return "<br>".join(lines)


def edge_tooltip(item: EdgeItem, nodes: dict) -> str:
    """`nodes`: node id -> NodeItem, for the names of the two ends."""
    src, dst = (nodes[i].spec.label if i in nodes else i for i in (item.spec.src, item.spec.dst))
    lines = [f"{escape(src)} → {escape(dst)}"]
    if item.spec.shape:
        lines.append(f"shape {item.spec.shape}")
    if item.has_grad:
        lines.append(f"gradient back: {_grad_text(item.grad_norm)}")
    return "<br>".join(lines)
