"""Layout engines: every node placed, no overlaps, data flowing down, module boxes around
their nodes, folding modules, falling back when dot is missing, and 20k nodes."""

from __future__ import annotations

import os
import shutil
import stat
import sys
from collections import defaultdict

import pytest
import torch

from gradstudio.core import record
from gradstudio.core.examples import CascadeNet
from gradstudio.core.graph.model import Cluster, Graph, GraphEdge, GraphNode
from gradstudio.core.layout import (
    CLUSTER_KIND,
    LayoutCache,
    cluster_node_id,
    collapse,
    compute_layout,
    default_collapsed,
    default_measure,
)
from gradstudio.core.layout.collapse import subtree

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' not installed")
EPS = 0.51  # dot rounds positions to whole points


@pytest.fixture(scope="module")
def graph() -> Graph:
    torch.manual_seed(0)
    m = CascadeNet()
    with record(m) as tape:
        m(torch.randn(2, 3, 16, 16)).sum().backward()
    return tape.graph()


def layered_graph(rows: int, width: int) -> Graph:
    """rows x width ops, each fed by up to two ops of the row above, one module per row."""
    g = Graph()
    g.clusters[""] = Cluster("", "Net", None)
    for r in range(rows):
        path = f"r{r}"
        g.clusters[path] = Cluster(path, "Row", "")
        g.clusters[""].children.append(path)
        for c in range(width):
            nid = f"{r}_{c}"
            g.add_node(GraphNode(id=nid, kind="op", label="MulBackward0", key=nid, module=path, step=r))
            g.clusters[path].nodes.append(nid)
            if r:
                g.edges.append(GraphEdge(src=f"{r - 1}_{c}", dst=nid))
                g.edges.append(GraphEdge(src=f"{r - 1}_{(c * 7 + 3) % width}", dst=nid))
    return g


def node_rects(lay):
    return {nid: lay.node_rect(nid) for nid in lay.positions}


def assert_no_overlap(lay) -> None:
    """Builtin layouts put nodes in rows: rows must not overlap, nor nodes within a row."""
    rows = defaultdict(list)
    for r in node_rects(lay).values():
        rows[round(r[1] + r[3] / 2, 3)].append(r)
    previous_bottom = None
    for y in sorted(rows):
        row = sorted(rows[y])
        top = min(r[1] for r in row)
        assert previous_bottom is None or top > previous_bottom
        previous_bottom = max(r[1] + r[3] for r in row)
        for a, b in zip(row, row[1:]):
            assert a[0] + a[2] <= b[0] + 1e-6, (a, b)


def assert_clusters_contain_nodes(graph: Graph, lay) -> None:
    rects = node_rects(lay)
    for path in graph.clusters:
        members = [n for p in subtree(graph, path) for n in graph.clusters[p].nodes if n in rects]
        if not members:
            continue
        cx, cy, cw, ch = lay.clusters[path]
        for nid in members:
            x, y, w, h = rects[nid]
            assert cx - EPS <= x and x + w <= cx + cw + EPS, (path, nid)
            assert cy - EPS <= y and y + h <= cy + ch + EPS, (path, nid)


# -- builtin -------------------------------------------------------------------------------
def test_builtin_places_every_node_without_overlap(graph):
    lay = compute_layout(graph, engine="builtin")
    assert lay.engine == "builtin" and lay.fallback_reason is None
    assert set(lay.positions) == set(graph.nodes)
    assert lay.sizes == {nid: default_measure(n) for nid, n in graph.nodes.items()}
    assert_no_overlap(lay)
    x, y, w, h = lay.bbox
    for rx, ry, rw, rh in node_rects(lay).values():
        assert x <= rx and rx + rw <= x + w and y <= ry and ry + rh <= y + h


def test_builtin_flows_down_from_leaves_to_output(graph):
    lay = compute_layout(graph, engine="builtin")
    down = sum(lay.positions[e.src][1] < lay.positions[e.dst][1] for e in graph.edges)
    assert down >= 0.95 * len(graph.edges)
    out = graph.by_kind("output")[0].id
    assert lay.positions[out][1] == max(y for _, y in lay.positions.values())
    for key, pts in lay.edges.items():  # polylines from the source's border to the target's
        assert lay.edge_style == "polyline" and len(pts) >= 2
        src, dst = node_rects(lay)[key[0]], node_rects(lay)[key[1]]
        assert pts[0][1] == pytest.approx(src[1] + src[3]) and pts[-1][1] == pytest.approx(dst[1])


def test_builtin_cluster_boxes_contain_their_nodes(graph):
    lay = compute_layout(graph, engine="builtin")
    with_nodes = {p for p in graph.clusters if any(graph.clusters[q].nodes for q in subtree(graph, p))}
    assert set(lay.clusters) == with_nodes
    assert_clusters_contain_nodes(graph, lay)


def test_builtin_without_igraph_uses_pure_python(graph, monkeypatch):
    monkeypatch.setitem(sys.modules, "igraph", None)  # import igraph -> ImportError
    lay = compute_layout(graph, engine="builtin")
    assert set(lay.positions) == set(graph.nodes)
    assert_no_overlap(lay)
    assert_clusters_contain_nodes(graph, lay)
    assert all(lay.positions[e.src][1] < lay.positions[e.dst][1] for e in graph.edges)


def test_builtin_handles_20k_nodes():
    g = layered_graph(rows=400, width=50)
    assert len(g.nodes) == 20_000
    lay = compute_layout(g, engine="auto")  # too big for dot: builtin whatever is installed
    assert lay.engine == "builtin"
    assert len(lay.positions) == 20_000 and len(lay.edges) == len(g.edges)
    assert_no_overlap(lay)


def test_parallel_edges_and_cycles_survive():
    g = Graph()
    for nid in "abc":
        g.add_node(GraphNode(id=nid, kind="op", label=nid, key=nid))
    g.edges += [GraphEdge("a", "b"), GraphEdge("a", "b"), GraphEdge("b", "c"), GraphEdge("c", "a")]
    for engine in ("builtin", "dot") if shutil.which("dot") else ("builtin",):
        lay = compute_layout(g, engine=engine)
        assert lay.engine == engine
        assert set(lay.edges) == {("a", "b", 0), ("a", "b", 1), ("b", "c", 0), ("c", "a", 0)}


# -- dot -----------------------------------------------------------------------------------
@needs_dot
def test_dot_places_every_node_and_module(graph):
    lay = compute_layout(graph, engine="dot")
    assert lay.engine == "dot" and lay.fallback_reason is None
    assert set(lay.positions) == set(graph.nodes)
    assert len(lay.edges) == len(graph.edges)
    assert all((len(pts) - 1) % 3 == 0 for pts in lay.edges.values()) and lay.edge_style == "bezier"
    down = sum(lay.positions[e.src][1] < lay.positions[e.dst][1] for e in graph.edges)
    assert down >= 0.9 * len(graph.edges)  # y grows downward: leaves on top
    assert_clusters_contain_nodes(graph, lay)
    assert lay.bbox[0] == 0 and lay.bbox[1] == 0
    for x, y in lay.positions.values():
        assert 0 <= x <= lay.bbox[2] and 0 <= y <= lay.bbox[3]


@needs_dot
def test_dot_ends_edges_on_the_target_border(graph):
    lay = compute_layout(graph, engine="dot")
    for (src, dst, _), pts in lay.edges.items():
        x, y, w, h = lay.node_rect(dst)
        ex, ey = pts[-1]
        assert x - 2 <= ex <= x + w + 2 and y - 2 <= ey <= y + h + 2


@needs_dot
def test_auto_picks_dot_for_small_graphs_and_builtin_for_big(graph):
    assert compute_layout(graph).engine == "dot"
    lay = compute_layout(graph, dot_max_nodes=10)
    assert lay.engine == "builtin" and "nodes" in lay.fallback_reason


# -- fallback ------------------------------------------------------------------------------
def test_missing_dot_falls_back_with_a_reason(graph, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    for engine in ("auto", "dot"):
        lay = compute_layout(graph, engine=engine)
        assert lay.engine == "builtin"
        assert "not found" in lay.fallback_reason and "built-in" in lay.fallback_reason
    assert compute_layout(graph, engine="builtin").fallback_reason is None


def test_failing_dot_falls_back_with_its_message(graph, monkeypatch, tmp_path):
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\necho 'Error: something broke' >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + os.environ.get("PATH", ""))
    lay = compute_layout(graph, engine="dot")
    assert lay.engine == "builtin" and "something broke" in lay.fallback_reason


def test_unknown_engine_is_an_error(graph):
    with pytest.raises(ValueError):
        compute_layout(graph, engine="neato")


# -- collapsing ----------------------------------------------------------------------------
def test_collapse_replaces_a_module_by_one_node(graph):
    path = "stages.0.blocks.0"
    inside = {n for p in subtree(graph, path) for n in graph.clusters[p].nodes}
    crossing = [e for e in graph.edges if (e.src in inside) != (e.dst in inside)]
    g = collapse(graph, {path})
    cid = cluster_node_id(path)
    assert cid in g.nodes and g.nodes[cid].kind == CLUSTER_KIND
    assert g.nodes[cid].label == graph.clusters[path].label
    assert not inside & set(g.nodes)
    assert len(g.nodes) == len(graph.nodes) - len(inside) + 1
    touching = [e for e in g.edges if cid in (e.src, e.dst)]
    assert len(touching) == len(crossing) and all(e.src != e.dst for e in touching)
    assert all(e.src in g.nodes and e.dst in g.nodes for e in g.edges)
    assert not set(subtree(graph, path)) & set(g.clusters)
    assert cid in g.clusters[graph.clusters[path].parent].nodes
    assert len(graph.nodes) > len(g.nodes)  # the original is untouched
    assert g.at(5).nodes.keys() <= g.nodes.keys()  # stepping works on the folded graph

    for engine in ("builtin", "dot") if shutil.which("dot") else ("builtin",):
        lay = compute_layout(graph, engine=engine, collapsed={path})
        assert set(lay.positions) == set(g.nodes) and lay.collapsed == frozenset({path})
        assert_clusters_contain_nodes(g, lay)


def test_nested_and_unknown_collapsed_paths_are_harmless(graph):
    g = collapse(graph, {"stages", "stages.0", "no.such.module"})
    assert cluster_node_id("stages") in g.nodes and cluster_node_id("stages.0") not in g.nodes
    assert collapse(graph, set()) is graph


def test_default_collapsed_fits_the_budget(graph):
    assert default_collapsed(graph, max_nodes=1000) == frozenset()
    folded = default_collapsed(graph, max_nodes=40)
    assert folded
    assert len(collapse(graph, folded).nodes) <= 40
    # keeps as much detail as fits: folding one level deeper would not fit
    deeper = default_collapsed(graph, max_nodes=len(collapse(graph, folded).nodes) - 1)
    assert len(collapse(graph, deeper).nodes) < len(collapse(graph, folded).nodes)


# -- stability and cache -------------------------------------------------------------------
def test_one_layout_serves_every_step(graph):
    lay = compute_layout(graph, engine="builtin")
    for step in (0, 10, graph.at(10**6).step):
        assert graph.at(step).nodes.keys() <= lay.positions.keys()


def test_cache_returns_the_same_layout_per_collapsed_set(graph):
    cache = LayoutCache(max_entries=2)
    a = cache.layout("tape-1", graph, engine="builtin")
    assert cache.layout("tape-1", graph, engine="builtin") is a
    b = cache.layout("tape-1", graph, collapsed={"stem"}, engine="builtin")
    assert b is not a and cache.layout("tape-1", graph, collapsed=["stem"], engine="builtin") is b
    cache.layout("tape-1", graph, collapsed={"head"}, engine="builtin")
    assert len(cache) == 2 and cache.get("tape-1", engine="builtin") is None  # oldest evicted
    cache.clear("tape-1")
    assert len(cache) == 0


def test_default_measure_grows_with_the_label():
    short = GraphNode(id="a", kind="op", label="Mul", key="a")
    long = GraphNode(id="b", kind="op", label="NativeBatchNormBackward0", key="b", shape=(2, 3))
    (ws, hs), (wl, hl) = default_measure(short), default_measure(long)
    assert 0 < ws < wl and 0 < hs < hl


def test_spread_keeps_order_and_gaps_and_moves_as_little_as_it_can():
    from gradstudio.core.layout.spread import spread

    assert spread([0.0, 10.0, 20.0], [5.0, 5.0]) == [0.0, 10.0, 20.0]  # nothing to fix
    assert spread([0.0, 0.0], [10.0]) == [-5.0, 5.0]  # a clash splits the difference
    xs = spread([3.0, 1.0, 2.0, 8.0], [2.0, 2.0, 1.0])
    assert all(b - a >= g - 1e-9 for a, b, g in zip(xs, xs[1:], [2.0, 2.0, 1.0]))


def test_repeated_blocks_fold_into_one_node_marked_times_n():
    from gradstudio.core.examples import CascadeNet
    from gradstudio.core.layout import collapse, compute_layout, repeat_key, repeated_runs

    net = CascadeNet(widths=(4, 8), depth=3)
    with record(net) as tape:
        net(torch.randn(1, 3, 8, 8)).sum().backward()
    g = tape.graph()
    runs = repeated_runs(g)
    assert runs["stages.0.blocks.0"] == ["stages.0.blocks.0", "stages.0.blocks.1", "stages.0.blocks.2"]
    folded = collapse(g, {repeat_key("stages.0.blocks.0")})
    (box,) = [n for n in folded.nodes.values() if n.kind == "cluster"]
    assert box.label == "stages.0.blocks: ResidualBlock × 3"
    assert not any(n.module and n.module.startswith("stages.0.blocks.") for n in folded.nodes.values() if n.kind != "cluster")
    # the run is wired like the blocks it stands for: an edge in from before, out to after
    assert [e for e in folded.edges if e.dst == box.id] and [e for e in folded.edges if e.src == box.id]
    lay = compute_layout(g, engine="builtin", collapsed={repeat_key("stages.0.blocks.0")})
    assert box.id in lay.positions
