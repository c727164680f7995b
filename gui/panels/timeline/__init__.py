"""The timeline panel: every tape event as a coloured mark, stepping and playback."""

from .model import CATEGORY_COLORS, CATEGORY_LABELS, step_text
from .panel import TimelinePanel
from .strip import TimelineStrip

__all__ = ["TimelinePanel", "TimelineStrip", "CATEGORY_COLORS", "CATEGORY_LABELS", "step_text"]
