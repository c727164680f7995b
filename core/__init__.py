"""gradstudio's engine: record PyTorch code into a tape, and the graph it describes.

Plain Python and torch, no Qt: usable from a script or a notebook.

Example::

    from gradstudio.core import record
    with record(model) as tape:
        loss = model(x).pow(2).mean()
        loss.backward()
    tape.graph(step=3)
"""

from .capture import DEFAULT_MEMORY_BUDGET, Tape, TensorSnapshot, TensorStats, record
from .graph import Graph, GraphDiff, diff

__all__ = ["record", "Tape", "Graph", "diff", "GraphDiff", "TensorSnapshot", "TensorStats", "DEFAULT_MEMORY_BUDGET"]
