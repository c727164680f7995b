"""A `Session` that shows a ready graph instead of a tape's: the static side of the view.

The graph panel observes a session; a static capture has no tape to step through, so this
session holds an empty tape and parks its step past every node: everything is shown at once.
"""

from __future__ import annotations

from gradstudio.core.capture import Tape
from gradstudio.core.graph.model import Graph
from gradstudio.core.session import Session


class GraphSession(Session):
    def show_graph(self, graph: Graph | None) -> None:
        """Show `graph` whole (None: nothing new; the panel keeps what it drew)."""
        self.previous_graph = None
        self.last_diff = None
        self.selected = None
        self.collapsed = frozenset()
        self.graph = graph
        self.tape = Tape() if graph is not None else None
        self.step = 1 + max((n.step for n in graph.nodes.values()), default=0) if graph is not None else 0
        self.run_count += 1
        self.sig_tape_changed.emit(self.tape)
