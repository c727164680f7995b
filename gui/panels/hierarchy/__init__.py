"""The module hierarchy of the model on screen: parameters, and requires_grad per module."""

from .panel import HierarchyPanel

__all__ = ["HierarchyPanel"]
