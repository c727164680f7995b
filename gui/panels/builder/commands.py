"""Document operations as QUndoCommands: the operation runs once before the push (so a bad
edit raises where the panel can show it), then undo and redo replay Edit inverses."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QUndoCommand

from .document import BuilderDocument, Edit

SET_ARG_ID = 1  # consecutive edits of one field merge into one undo step


class EditCommand(QUndoCommand):
    """One applied Edit; `select` is told which module to show after undo or redo."""

    def __init__(self, document: BuilderDocument, edit: Edit, forward: tuple[str, tuple],
                 select: Callable[[list | None], None]):
        super().__init__(edit.text)
        self._document = document
        self._edit = edit
        self._forward = forward
        self._select = select
        self._applied = True  # the panel ran the operation before pushing

    def id(self) -> int:  # noqa: A003 - Qt's name
        return SET_ARG_ID if self._forward[0] == "set_arg" else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802
        if not isinstance(other, EditCommand) or other._forward[0] != "set_arg":
            return False
        if other._forward[1][:2] != self._forward[1][:2]:  # another module or field
            return False
        self._forward = other._forward  # keep our inverse: the value before the first edit
        return True

    def redo(self) -> None:
        if self._applied:
            self._applied = False
            return
        redone = self._document.apply(*self._forward)
        self._edit = Edit(self._edit.text, redone.path, redone.inverse)
        self._select(redone.path)

    def undo(self) -> None:
        undone = self._document.apply(*self._edit.inverse)
        self._forward = undone.inverse
        self._select(undone.path)
