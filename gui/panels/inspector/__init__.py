"""The inspector panel: one node's op, source, saved tensors, value and gradient."""

from .describe import format_bytes, memory_text
from .panel import InspectorPanel
from .tensor_view import TensorView

__all__ = ["InspectorPanel", "TensorView", "memory_text", "format_bytes"]
