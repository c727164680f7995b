"""The seed lecture's examples as ready modules: the lessons record these."""

from .dynamic import RandomDepthNet, VariableLengthRNN
from .hierarchy import CascadeNet, ResidualBlock, Stage
from .power import Power

__all__ = ["Power", "ResidualBlock", "Stage", "CascadeNet", "VariableLengthRNN", "RandomDepthNet"]
