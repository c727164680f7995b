"""The module builder panel: drag modules from a palette into a model tree, see each
layer's output shape as you build, edit arguments, undo, and record the generated code."""

from .document import BuilderDocument, Edit, default_spec, new_spec, parse_path, path_text
from .model_tree import module_label, shape_text
from .panel import BuilderPanel

__all__ = ["BuilderPanel", "BuilderDocument", "Edit", "default_spec", "new_spec", "path_text", "parse_path",
           "module_label", "shape_text"]
