"""What one run's graph has that another's lacks.

Nodes match by their `key` (module path, label, position among same-labelled nodes in that
module), never by object identity: two runs never share objects.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .model import Graph


@dataclass
class GraphDiff:
    only_a: list[str] = field(default_factory=list)  # node keys
    only_b: list[str] = field(default_factory=list)
    edges_only_a: list[tuple[str, str, int]] = field(default_factory=list)  # (src key, dst key, slot)
    edges_only_b: list[tuple[str, str, int]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.only_a or self.only_b or self.edges_only_a or self.edges_only_b)

    @property
    def empty(self) -> bool:
        return not self

    def describe(self) -> str:
        """For a status line after Run again: counts, and which nodes are gone."""
        if not self:
            return "same graph as the previous run"
        gone = []
        for key in self.only_a:
            module, _, rest = key.rpartition("/")
            gone.append(rest.split("#")[0] + (f" in {module}" if module else ""))
        text = f"{len(self.only_b)} nodes new (marked 'new')"
        if gone:
            shown = ", ".join(gone[:6]) + (f" and {len(gone) - 6} more" if len(gone) > 6 else "")
            text += f"; {len(gone)} gone: {shown}"
        return text

    def summary(self) -> str:
        if not self:
            return "the graphs match"
        return (
            f"{len(self.only_b)} nodes new, {len(self.only_a)} gone; "
            f"{len(self.edges_only_b)} edges new, {len(self.edges_only_a)} gone"
        )


def _edge_keys(g: Graph) -> list[tuple[str, str, int]]:
    """(src key, dst key, slot): the slot is which argument of dst the edge feeds, so
    `a - b` and `b - a` differ. -1 for edges without one (a leaf into its AccumulateGrad)."""
    return [(g.nodes[e.src].key, g.nodes[e.dst].key, -1 if e.slot is None else e.slot) for e in g.edges]


def _only_in(a: Counter, b: Counter) -> list:
    """What `a` has more of than `b`, each as often as it is missing (`cat([h] * 3)` has
    three edges from h where `cat([h] * 2)` has two)."""
    return sorted((a - b).elements())


def diff(a: Graph, b: Graph) -> GraphDiff:
    """Compare two graphs (e.g. two runs of a dynamic model)."""
    ka = Counter(n.key for n in a.nodes.values())
    kb = Counter(n.key for n in b.nodes.values())
    ea, eb = Counter(_edge_keys(a)), Counter(_edge_keys(b))
    return GraphDiff(
        only_a=_only_in(ka, kb),
        only_b=_only_in(kb, ka),
        edges_only_a=_only_in(ea, eb),
        edges_only_b=_only_in(eb, ea),
    )
