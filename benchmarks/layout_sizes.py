"""How long each layout engine takes as graphs grow: recorded models and synthetic
ResNet-like graphs of ~100 to 20,000 nodes.

    python benchmarks/layout_sizes.py            # builtin up to 20k, dot up to 5k
    python benchmarks/layout_sizes.py --dot-max 20000 --timeout 300
    python benchmarks/layout_sizes.py --recorded  # CascadeNet recordings (slow to record)
    python benchmarks/layout_sizes.py --no-igraph --dot-max 0  # the pure-Python fallback
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time

from gradstudio.core.graph.model import Cluster, Graph, GraphEdge, GraphNode
from gradstudio.core.layout import compute_layout


def synthetic_graph(blocks: int, width: int = 1) -> Graph:
    """`blocks` residual blocks (conv-bn-relu-conv-bn-add-relu, each conv/bn with its
    parameter and AccumulateGrad), `width` side by side per stage, 8 blocks per stage,
    nested clusters stage > block > layer. About 19 nodes per block."""
    g = Graph()
    g.clusters[""] = Cluster("", "Net", None)

    def node(kind, label, module):
        nid = f"n{len(g.nodes)}"
        shape = (8, 16, 32, 32)
        g.add_node(GraphNode(id=nid, kind=kind, label=label, key=nid, module=module, step=len(g.nodes), shape=shape))
        if module is not None:
            g.clusters[module].nodes.append(nid)
        return nid

    def cluster(path, cls, parent):
        g.clusters[path] = Cluster(path, cls, parent)
        g.clusters[parent].children.append(path)
        return path

    def edge(a, b):
        g.edges.append(GraphEdge(src=a, dst=b, step=len(g.edges)))

    def layer(x, module, label, params):
        op = node("op", label, module)
        edge(x, op)
        for p in params:
            leaf = node("parameter", f"{module}.{p}", module)
            acc = node("accumulate", "AccumulateGrad", module)
            edge(leaf, acc)
            edge(acc, op)
        return op

    x = node("input", "x", None)
    heads = [x] * width
    stage = None
    for b in range(blocks):
        col = b % width
        if b % (8 * width) == 0:
            stage = cluster(f"s{b // (8 * width)}", "Stage", "")
        blk = cluster(f"{stage}.b{b}", "Block", stage)
        h = heads[col]
        conv, bn = ("Conv2d", "ConvolutionBackward0"), ("BatchNorm2d", "NativeBatchNormBackward0")
        y = layer(h, cluster(f"{blk}.conv1", conv[0], blk), conv[1], ["weight"])
        y = layer(y, cluster(f"{blk}.bn1", bn[0], blk), bn[1], ["weight", "bias"])
        y = layer(y, cluster(f"{blk}.relu", "ReLU", blk), "ReluBackward0", [])
        y = layer(y, cluster(f"{blk}.conv2", conv[0], blk), conv[1], ["weight"])
        y = layer(y, cluster(f"{blk}.bn2", bn[0], blk), bn[1], ["weight", "bias"])
        add = node("op", "AddBackward0", blk)
        edge(y, add)
        edge(h, add)
        heads[col] = layer(add, f"{blk}.relu", "ReluBackward0", [])
    s = heads[0]
    for h in heads[1:]:
        t = node("op", "AddBackward0", None)
        edge(s, t)
        edge(h, t)
        s = t
    out = node("output", "loss", None)
    edge(s, out)
    return g


def recorded_graph(depth: int) -> Graph:
    """A real recording: CascadeNet with `depth` residual blocks per stage (~38 nodes each)."""
    import torch

    from gradstudio.core import record
    from gradstudio.core.examples import CascadeNet

    m = CascadeNet(widths=(4, 8), depth=depth)
    with record(m) as tape:
        m(torch.randn(1, 3, 8, 8)).sum().backward()
    return tape.graph()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dot-max", type=int, default=5000, help="skip dot above this many nodes")
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--recorded", action="store_true", help="CascadeNet recordings, not synthetic graphs")
    ap.add_argument("--no-igraph", action="store_true", help="time the pure-Python fallback ordering")
    args = ap.parse_args()
    if args.no_igraph:
        sys.modules["igraph"] = None  # import igraph -> ImportError
    have_dot = shutil.which("dot") is not None
    print(f"{'nodes':>7} {'edges':>7}  {'builtin s':>9}  {'dot s':>8}")
    compute_layout(synthetic_graph(2), engine="builtin")  # warm up: imports
    if args.recorded:
        graphs = (recorded_graph(d) for d in (2, 26, 131, 525))
    else:
        graphs = (synthetic_graph(b, w) for b, w in [(5, 1), (53, 2), (263, 4), (1052, 8), (1052, 1)])
    for g in graphs:
        t = time.perf_counter()
        compute_layout(g, engine="builtin")
        tb = time.perf_counter() - t
        td = "-"
        if have_dot and len(g.nodes) <= args.dot_max:
            lay = compute_layout(g, engine="dot", dot_max_nodes=10**9, dot_timeout=args.timeout)
            td = f"{lay.seconds:8.2f}" if lay.engine == "dot" else f"({lay.fallback_reason})"
        print(f"{len(g.nodes):7d} {len(g.edges):7d}  {tb:9.2f}  {td:>8}", flush=True)


if __name__ == "__main__":
    main()
