"""Colours of the graph: one palette per node kind, a light and a dark theme, and the
gradient-magnitude colour map.

Node colours follow torchviz, which students have seen in papers and tutorials: parameters
light blue, grad_fn ops light grey, outputs green. Gradient norms span many decades (1e-6 next
to 1e+2 in one model), so the colour map runs on a log scale, blue (small) to red (large),
with stops chosen to stay visible on both a white and a near-black background.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from PySide6.QtGui import QColor


@dataclass(frozen=True)
class KindStyle:
    fill: str
    border: str
    text: str


@dataclass(frozen=True)
class Theme:
    """Every colour the graph view paints, by role."""

    name: str
    background: str
    text: str
    text_dim: str
    kinds: dict = field(default_factory=dict)  # node kind -> KindStyle
    edge: str = "#6b6b6b"
    edge_no_grad: str = "#9a9a9a"  # backward ran but sent no gradient (None)
    cluster_fills: tuple = ("#f6f7fb", "#eef0f7")  # alternate by module depth
    cluster_border: str = "#b8bdd0"
    cluster_text: str = "#4a5070"
    current: str = "#ff8f00"  # glow around the node(s) of the current event
    selection: str = "#1565c0"
    search: str = "#f9a825"
    freed_fill: str = "#eeeeee"
    freed_border: str = "#7a7a7a"
    freed_text: str = "#5c5c5c"
    badge_text: str = "#ffffff"
    freed_badge: str = "#c4c4c4"
    freed_badge_text: str = "#3a3a3a"
    nan: str = "#d500f9"  # gradients with NaN/Inf: a colour outside the scale
    minimap_bg: str = "#e6ffffff"  # #AARRGGBB
    minimap_view: str = "#1565c0"


LIGHT = Theme(
    name="light",
    background="#ffffff",
    text="#1f1f1f",
    text_dim="#555555",
    kinds={
        "op": KindStyle("#d9d9d9", "#8a8a8a", "#1f1f1f"),  # torchviz lightgrey
        "accumulate": KindStyle("#ecdcbf", "#a08a63", "#3b2f1a"),  # light tan
        "parameter": KindStyle("#add8e6", "#5a93a8", "#10303c"),  # torchviz lightblue
        "input": KindStyle("#d7cff2", "#7e6fb5", "#251c48"),  # lavender: a leaf, not a weight
        "output": KindStyle("#caff70", "#4f8a10", "#1d3300"),  # torchviz darkolivegreen1
        "cluster": KindStyle("#e3e7f5", "#6f7aa6", "#252c4d"),  # a folded module
    },
)

DARK = Theme(
    name="dark",
    background="#1b1d21",
    text="#e8e8e8",
    text_dim="#a8a8a8",
    kinds={
        "op": KindStyle("#3d4047", "#7d818a", "#ececec"),
        "accumulate": KindStyle("#4d4232", "#a38d66", "#f3e6cf"),
        "parameter": KindStyle("#244b5c", "#5fa9c6", "#dff4fb"),
        "input": KindStyle("#3b3160", "#9a8ad6", "#ebe6ff"),
        "output": KindStyle("#3c5a1c", "#9bd84a", "#efffd9"),
        "cluster": KindStyle("#2d3350", "#8a95c8", "#e3e7ff"),
    },
    edge="#9aa0a8",
    edge_no_grad="#6d7178",
    cluster_fills=("#22252b", "#272b32"),
    cluster_border="#4b5366",
    cluster_text="#aab3cc",
    current="#ffab40",
    selection="#64b5f6",
    search="#ffd54f",
    freed_fill="#2c2e33",
    freed_border="#6d7178",
    freed_text="#858a93",
    badge_text="#ffffff",
    freed_badge="#4a4d54",
    freed_badge_text="#d0d0d0",
    nan="#ea80fc",
    minimap_bg="#e61b1d21",
    minimap_view="#64b5f6",
)

THEMES = {"light": LIGHT, "dark": DARK}
KIND_NAMES = {  # legend order and wording
    "parameter": "parameter", "input": "input", "accumulate": "AccumulateGrad",
    "op": "grad_fn", "output": "output", "cluster": "folded module",
}


def theme(name: str) -> Theme:
    try:
        return THEMES[name]
    except KeyError:
        raise ValueError(f"theme must be one of {sorted(THEMES)}, not {name!r}") from None


def kind_style(th: Theme, kind: str) -> KindStyle:
    return th.kinds.get(kind) or th.kinds["op"]


# -- gradient magnitude ------------------------------------------------------------------
# blue -> teal -> amber -> orange -> red; no pale yellow, which vanishes on white
GRAD_STOPS = (
    (0.00, (49, 92, 196)),
    (0.30, (18, 150, 160)),
    (0.58, (222, 165, 0)),
    (0.80, (240, 108, 20)),
    (1.00, (206, 20, 30)),
)
_LUT_SIZE = 256


def _interp(t: float) -> tuple[int, int, int]:
    for (t0, c0), (t1, c1) in zip(GRAD_STOPS, GRAD_STOPS[1:]):
        if t <= t1:
            u = 0.0 if t1 == t0 else (t - t0) / (t1 - t0)
            return tuple(round(a + (b - a) * u) for a, b in zip(c0, c1))
    return GRAD_STOPS[-1][1]


_LUT = [QColor(*_interp(i / (_LUT_SIZE - 1))) for i in range(_LUT_SIZE)]


def norm_to_t(norm: float | None, lo: float, hi: float) -> float | None:
    """Position of a gradient norm on the log scale [lo, hi] as 0..1 (None if not finite).
    Zero and anything below lo map to 0, anything above hi to 1."""
    if norm is None or not math.isfinite(norm):
        return None
    if norm <= 0 or norm <= lo or hi <= 0:
        return 0.0
    if norm >= hi:
        return 1.0
    llo, lhi = math.log10(max(lo, 1e-30)), math.log10(hi)
    if lhi <= llo:
        return 1.0
    return (math.log10(norm) - llo) / (lhi - llo)


def color_at(t: float) -> QColor:
    """The colour map at 0..1 (0 cold/small, 1 hot/large)."""
    t = min(max(t, 0.0), 1.0)
    return _LUT[round(t * (_LUT_SIZE - 1))]


def color_for_norm(norm: float | None, lo: float, hi: float, th: Theme = LIGHT) -> QColor:
    """The colour of a gradient with this norm, on a log scale between lo and hi; NaN/Inf
    get the theme's out-of-scale colour, no gradient (None) its 'no gradient' grey."""
    if norm is None:
        return QColor(th.edge_no_grad)
    t = norm_to_t(norm, lo, hi)
    return QColor(th.nan) if t is None else color_at(t)


def norm_range(norms) -> tuple[float, float]:
    """(lo, hi) of the finite positive norms; (1, 1) when there are none. A range narrower
    than one decade is widened around its centre so similar gradients do not look alarming."""
    vals = [v for v in norms if v is not None and math.isfinite(v) and v > 0]
    if not vals:
        return (1.0, 1.0)
    lo, hi = min(vals), max(vals)
    if hi / lo < 10:
        mid = math.sqrt(lo * hi)
        lo, hi = mid / math.sqrt(10), mid * math.sqrt(10)
    return (lo, hi)


def mix(a: QColor | str, b: QColor | str, t: float) -> QColor:
    """a blended toward b by t (0: a, 1: b)."""
    a, b = QColor(a), QColor(b)
    return QColor(
        round(a.red() + (b.red() - a.red()) * t),
        round(a.green() + (b.green() - a.green()) * t),
        round(a.blue() + (b.blue() - a.blue()) * t),
        round(a.alpha() + (b.alpha() - a.alpha()) * t),
    )
