"""Where each node, edge and module box of a graph goes, without Qt.

Two engines: Graphviz `dot` (nicer, needs the program, slow on big graphs) and a built-in
layered layout (igraph's Sugiyama, or plain Python). `compute_layout` picks one and falls
back with a reason; `collapse` folds module boxes into single nodes; `LayoutCache` keeps
results so toggling a box is instant.

Example::

    from gradstudio.core.layout import compute_layout
    lay = compute_layout(tape.graph())
    lay.positions["n3"], lay.clusters["stem"], lay.engine
"""

from .cache import LayoutCache
from .collapse import CLUSTER_KIND, cluster_node_id, collapse, default_collapsed, folded_paths, repeat_key, repeated_runs
from .compute import DOT_MAX_NODES, compute_layout
from .model import EdgeKey, Layout, default_measure, edge_keys, shape_text

__all__ = [
    "Layout", "EdgeKey", "compute_layout", "collapse", "default_collapsed", "LayoutCache",
    "repeated_runs", "repeat_key", "folded_paths", "default_measure", "shape_text", "edge_keys", "cluster_node_id", "CLUSTER_KIND", "DOT_MAX_NODES",
]
