"""Layouts already computed, so folding and unfolding a module box again is instant.

Keyed by (graph token, collapsed set, engine). The token is whatever the caller uses to
name one recording (a tape id, a counter); the cache never looks inside the graph, so a
new recording needs a new token, and a new font (new sizes) needs `clear()`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Hashable

from ..graph.model import Graph
from .compute import compute_layout
from .model import Layout, Measure


class LayoutCache:
    """Least-recently-used; safe to use from a worker thread and the GUI thread."""

    def __init__(self, max_entries: int = 32):
        self.max_entries = max_entries
        self._items: OrderedDict[tuple, Layout] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(token: Hashable, collapsed=frozenset(), engine: str = "auto") -> tuple:
        return (token, frozenset(collapsed), engine)

    def get(self, token: Hashable, collapsed=frozenset(), engine: str = "auto") -> Layout | None:
        k = self.key(token, collapsed, engine)
        with self._lock:
            lay = self._items.get(k)
            if lay is not None:
                self._items.move_to_end(k)
            return lay

    def put(self, token: Hashable, collapsed, engine: str, layout: Layout) -> None:
        with self._lock:
            self._items[self.key(token, collapsed, engine)] = layout
            self._items.move_to_end(self.key(token, collapsed, engine))
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def layout(
        self,
        token: Hashable,
        graph: Graph,
        collapsed=frozenset(),
        engine: str = "auto",
        measure: Measure | None = None,
    ) -> Layout:
        """The cached layout, or compute and remember it (computed outside the lock)."""
        lay = self.get(token, collapsed, engine)
        if lay is None:
            lay = compute_layout(graph, engine=engine, measure=measure, collapsed=collapsed)
            self.put(token, collapsed, engine, lay)
        return lay

    def clear(self, token: Hashable | None = None) -> None:
        """Forget one recording's layouts, or all of them."""
        with self._lock:
            if token is None:
                self._items.clear()
            else:
                for k in [k for k in self._items if k[0] == token]:
                    del self._items[k]

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: tuple) -> bool:
        return key in self._items
