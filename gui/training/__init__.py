"""Training in the app: settings, controls and live curves."""

from .boundary import PredictionView
from .curves import CurvesWidget
from .grad_norms_plot import GradNormsPlot

__all__ = ["CurvesWidget", "PredictionView", "GradNormsPlot"]
