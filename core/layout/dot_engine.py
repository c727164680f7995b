"""Graphviz `dot`: the best-looking layered layout (real module clusters, spline edges),
but a system program, and slow past a few thousand nodes.

Nodes get the caller's sizes with fixedsize, so dot's positions fit the boxes the GUI draws.
`newrank` ranks the whole graph at once (clusters otherwise get ranked on their own and
spread sideways). Output is `-Tjson0` (positions only), converted from dot's y-up to y-down.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import graphviz

from ..graph.model import Graph
from .layering import module_minlen
from .model import Layout, Point, edge_keys


class DotError(RuntimeError):
    """dot is missing, failed, or took too long; the message says which, for the user."""


def dot_layout(graph: Graph, sizes: dict[str, tuple[float, float]], timeout: float = 60.0) -> Layout:
    exe = shutil.which("dot")
    if exe is None:
        raise DotError("Graphviz 'dot' not found on PATH")
    source, names, cluster_names, keys = to_dot(graph, sizes)
    try:
        proc = subprocess.run([exe, "-Tjson0"], input=source.encode(), capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise DotError(f"Graphviz 'dot' took more than {timeout:g} s") from None
    except OSError as exc:
        raise DotError(f"Graphviz 'dot' could not run: {exc}") from None
    if proc.returncode != 0:
        msg = proc.stderr.decode(errors="replace").strip().splitlines()
        raise DotError(f"Graphviz 'dot' failed: {msg[-1] if msg else f'exit status {proc.returncode}'}")
    try:
        return from_json(json.loads(proc.stdout), names, cluster_names, keys, sizes)
    except (ValueError, KeyError, IndexError) as exc:
        raise DotError(f"could not read Graphviz 'dot' output: {exc}") from None


def to_dot(graph: Graph, sizes):
    """DOT source with clusters nested like the module tree. Node names are `v<i>` (our ids
    hold ':', which DOT reads as a port), clusters `cluster_<i>`, edges carry id `e<i>`."""
    names = {nid: f"v{i}" for i, nid in enumerate(graph.nodes)}
    dg = graphviz.Digraph(
        graph_attr={
            "rankdir": "TB", "newrank": "true", "nodesep": "0.25", "ranksep": "0.5",
            "fontsize": "9", "labeljust": "l",
        },
        node_attr={"shape": "box", "fixedsize": "true", "label": "", "margin": "0"},
        edge_attr={"arrowsize": "0.6"},
    )
    placed: set[str] = set()
    cluster_names: dict[str, str] = {}

    def add(parent, path: str) -> None:
        c = graph.clusters[path]
        name = f"cluster_{len(cluster_names)}"
        cluster_names[name] = path
        with parent.subgraph(name=name) as sg:
            sg.attr(label=c.label, margin="8")
            for nid in c.nodes:
                if nid in names and nid not in placed:
                    _node(sg, names[nid], sizes[nid])
                    placed.add(nid)
            for child in c.children:
                if child in graph.clusters:
                    add(sg, child)

    for path, c in graph.clusters.items():
        if c.parent not in graph.clusters:
            add(dg, path)
    for nid in graph.nodes:
        if nid not in placed:
            _node(dg, names[nid], sizes[nid])
    keys = []
    edges = [(k, e) for k, e in zip(edge_keys(graph.edges), graph.edges) if e.src in names and e.dst in names]
    for (key, e), minlen in zip(edges, module_minlen(graph, [e for _, e in edges])):
        attrs = {"id": f"e{len(keys)}"}
        if minlen > 1:
            attrs["minlen"] = str(minlen)
        dg.edge(names[e.src], names[e.dst], **attrs)
        keys.append(key)
    return dg.source, names, cluster_names, keys


def _node(g, name: str, size: tuple[float, float]) -> None:
    g.node(name, width=f"{size[0] / 72:.4f}", height=f"{size[1] / 72:.4f}")


def from_json(data: dict, names: dict[str, str], cluster_names: dict[str, str], keys, sizes) -> Layout:
    x0, y0, x1, y1 = (float(v) for v in data["bb"].split(","))

    def pt(s: str) -> Point:
        x, y = s.split(",")[:2]
        return (float(x) - x0, y1 - float(y))

    ids = {v: k for k, v in names.items()}
    lay = Layout(edge_style="bezier", engine="dot", bbox=(0.0, 0.0, x1 - x0, y1 - y0))
    for obj in data.get("objects", []):
        name = obj.get("name", "")
        if name in cluster_names and "bb" in obj:
            a, b, c, d = (float(v) for v in obj["bb"].split(","))
            lay.clusters[cluster_names[name]] = (a - x0, y1 - d, c - a, d - b)
        elif name in ids and "pos" in obj:
            lay.positions[ids[name]] = pt(obj["pos"])
            lay.sizes[ids[name]] = sizes[ids[name]]
    for e in data.get("edges", []):
        eid = e.get("id", "")
        if eid.startswith("e") and "pos" in e:
            lay.edges[keys[int(eid[1:])]] = _spline(e["pos"], pt)
    for key in keys:  # dot drops nothing in practice; a straight line if it ever does
        if key not in lay.edges and key[0] in lay.positions and key[1] in lay.positions:
            (ax, ay), (bx, by) = lay.positions[key[0]], lay.positions[key[1]]
            lay.edges[key] = [(ax, ay), (ax, ay), (bx, by), (bx, by)]
    return lay


def _spline(pos: str, pt) -> list[Point]:
    """dot's 'e,tip s,tip p0 c1 c2 p1 ...' as one cubic Bezier from tail to head; the
    arrow's length becomes a straight last segment ending on the head's border."""
    start = end = None
    pts: list[Point] = []
    for tok in pos.split(";")[0].split():
        if tok.startswith("e,"):
            end = pt(tok[2:])
        elif tok.startswith("s,"):
            start = pt(tok[2:])
        else:
            pts.append(pt(tok))
    if start is not None:
        pts = _straight(start, pts[0]) + pts[1:] if pts else [start]
    if end is not None and pts:
        pts = pts + _straight(pts[-1], end)[1:]
    return pts


def _straight(a: Point, b: Point) -> list[Point]:
    """A straight segment as cubic control points a, c1, c2, b."""
    return [a, (a[0] + (b[0] - a[0]) / 3, a[1] + (b[1] - a[1]) / 3),
            (a[0] + 2 * (b[0] - a[0]) / 3, a[1] + 2 * (b[1] - a[1]) / 3), b]
