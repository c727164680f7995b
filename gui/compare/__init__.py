"""Dynamic versus static: the tape's graphs beside torch.export's or torch.jit.trace's."""

from .view import CompareView

__all__ = ["CompareView"]
