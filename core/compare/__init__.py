"""Dynamic versus static: one model captured by torch.export and torch.jit.trace beside the tape."""

from .branch_model import SignBranch
from .match import OpMatch, match_ops, model_events
from .op_names import op_key
from .scenarios import (
    DataDependentBranch,
    FrozenDepth,
    RnnLengths,
    data_dependent_branch,
    frozen_depth,
    rnn_lengths,
)
from .static_capture import (
    EXPORT,
    TRACE,
    StaticCapture,
    StaticOp,
    capture_export,
    capture_trace,
)

__all__ = [
    "capture_export", "capture_trace", "StaticCapture", "StaticOp", "EXPORT", "TRACE",
    "match_ops", "OpMatch", "model_events", "op_key",
    "frozen_depth", "FrozenDepth", "data_dependent_branch", "DataDependentBranch", "rnn_lengths", "RnnLengths",
    "SignBranch",
]
