"""Writing tapes and graphs out: the tape as JSON, the graph as DOT source for Graphviz tools."""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path

from .capture import SavedTensorInfo, Tape, TensorSnapshot
from .capture.source import SourceLocation
from .graph import Graph
from .layout.model import join_dims

TAPE_FORMAT = "gradstudio-tape"
TAPE_VERSION = 1


def _plain(value, with_values: bool):
    if isinstance(value, TensorSnapshot):
        return value.to_dict(with_values=with_values)
    if isinstance(value, SavedTensorInfo):
        return _plain(value.to_dict(), with_values)
    if isinstance(value, SourceLocation):
        return {"file": value.filename, "line": value.lineno, "function": value.function, "text": value.text}
    if isinstance(value, (frozenset, set)):
        return sorted(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v, with_values) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v, with_values) for k, v in value.items()}
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name), with_values) for f in dataclasses.fields(value)}
    return value


def tape_to_dict(tape: Tape, *, with_values: bool = False) -> dict:
    """Everything the tape holds, as JSON-ready data (values only if asked: they are big)."""
    return {
        "format": TAPE_FORMAT,
        "version": TAPE_VERSION,
        "failed": tape.failed,
        "values_truncated": tape.values_truncated,
        "events": [_plain(e, with_values) for e in tape.events],
        "nodes": [_plain(n, with_values) for n in tape.nodes.values()],
        "leaves": [_plain(leaf, with_values) for leaf in tape.leaves.values()],
        "module_calls": [_plain(c, with_values) for c in tape.module_calls],
        "module_classes": dict(tape.module_classes),
        "outputs": [_plain(o, with_values) for o in tape.outputs],
    }


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write to a temporary file beside `path`, then rename: a crash never leaves half a file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_tape_json(tape: Tape, path: str | os.PathLike, *, with_values: bool = False) -> None:
    write_atomic(path, json.dumps(tape_to_dict(tape, with_values=with_values), indent=1, allow_nan=False))


_FILL = {"op": "lightgrey", "accumulate": "lightgrey", "parameter": "lightblue", "input": "lightblue",
         "output": "darkolivegreen1"}


def graph_to_dot(graph: Graph, name: str = "gradstudio") -> str:
    """DOT source of a graph (e.g. `tape.graph(step=k)`), modules as nested clusters."""
    lines = [f'digraph "{name}" {{', '  node [shape=box style="rounded,filled" fontname="Helvetica" fontsize=10];']
    # each node in the box the graph puts it in (a module run several times has no box of
    # its own: its nodes sit in the enclosing one)
    boxed = {nid for c in graph.clusters.values() for nid in c.nodes}

    def node_line(nid: str, indent: str) -> str:
        n = graph.nodes[nid]
        shape = join_dims(n.shape) if n.shape is not None else ""
        label = _esc(n.label) + (f"\\n{shape}" if shape else "")
        style = "" if n.contributes else ' color="grey60" fontcolor="grey50"'
        return f'{indent}"{nid}" [label="{label}" fillcolor="{_FILL[n.kind]}"{style}];'

    def emit(path: str, indent: str) -> None:
        c = graph.clusters[path]
        lines.append(f'{indent}subgraph "cluster_{_esc(path) or "model"}" {{')
        lines.append(f'{indent}  label="{_esc(c.label)}"; style="rounded"; color="grey70";')
        for nid in c.nodes:
            lines.append(node_line(nid, indent + "  "))
        for child in c.children:
            emit(child, indent + "  ")
        lines.append(f"{indent}}}")

    for nid in graph.nodes:
        if nid not in boxed:
            lines.append(node_line(nid, "  "))
    for path, c in graph.clusters.items():
        if c.parent is None or c.parent not in graph.clusters:
            emit(path, "  ")
    for e in graph.edges:
        label = f' [label="{join_dims(e.shape)}" fontsize=8]' if e.shape else ""
        lines.append(f'  "{e.src}" -> "{e.dst}"{label};')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
