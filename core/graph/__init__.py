"""The graph a tape describes, and comparing two of them."""

from .build import build_graph
from .diff import GraphDiff, diff
from .model import Cluster, Graph, GraphEdge, GraphNode

__all__ = ["Graph", "GraphNode", "GraphEdge", "Cluster", "build_graph", "diff", "GraphDiff"]
