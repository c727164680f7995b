"""The autograd graph on screen: a scene built once per layout and stepped incrementally,
a zoomable view with minimap and search, and the panel that keeps both in step with a
`Session`.

    from gradstudio.gui.graph_view import GraphPanel
    panel = GraphPanel(session)          # observes the session; lays out off the GUI thread
    panel.sig_layout_ready.connect(...)  # panel.layout_fallback_reason for the status bar
"""

from .colors import THEMES, color_for_norm, norm_to_t
from .panel import GraphPanel
from .scene import GraphScene, Legend
from .view import GraphView

__all__ = ["GraphPanel", "GraphScene", "GraphView", "Legend", "THEMES", "color_for_norm", "norm_to_t"]
