"""The code editor panel: the user's script, the current step's line, the error line."""

from .code_editor import CodeEditor
from .panel import EditorPanel

__all__ = ["CodeEditor", "EditorPanel"]
