"""Recording: running PyTorch code in, a replayable tape out."""

from .events import (
    BackwardEndEvent,
    BackwardNodeEvent,
    BackwardStartEvent,
    CallEvent,
    ErrorEvent,
    Event,
    InputRef,
    LeafGradEvent,
    ModuleCall,
)
from .recorder import record
from .snapshot import TensorSnapshot, TensorStats
from .source import SourceLocation, register_source
from .tape import DEFAULT_MEMORY_BUDGET, LeafInfo, NodeInfo, OutputInfo, SavedTensorInfo, Tape

__all__ = [
    "record", "Tape", "Event", "CallEvent", "BackwardStartEvent", "BackwardNodeEvent", "LeafGradEvent",
    "BackwardEndEvent", "ErrorEvent", "InputRef", "ModuleCall", "NodeInfo", "LeafInfo", "OutputInfo",
    "SavedTensorInfo", "TensorSnapshot", "TensorStats", "SourceLocation", "register_source",
    "DEFAULT_MEMORY_BUDGET",
]
