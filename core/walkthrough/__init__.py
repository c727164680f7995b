"""The seed's training loop one line at a time: what each line does to the graph, .grad and weights."""

from .accumulation import accumulation_ratio, elementwise_ratio
from .loop import LineResult, Position, TrainingWalkthrough
from .seed_lines import LINES
from .updates import ParamUpdate, parameter_updates, update_heatmap, update_rule

__all__ = [
    "LINES", "LineResult", "ParamUpdate", "Position", "TrainingWalkthrough", "accumulation_ratio",
    "elementwise_ratio", "parameter_updates", "update_heatmap", "update_rule",
]
