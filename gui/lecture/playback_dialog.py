"""What to put in a playback: which part of the tape, which format, how big, how fast."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QWidget,
)

from gradstudio.core import stepping

SIZES = [(1280, 720), (1920, 1080), (960, 540), (800, 600)]
PARTS = [("whole", "The whole tape"), ("forward", "The forward pass"), ("backward", "The backward pass")]


@dataclass(frozen=True)
class PlaybackOptions:
    part: str = "whole"  # "whole", "forward" or "backward"
    fmt: str = "gif"  # "gif" or "png"
    size: tuple[int, int] = (1280, 720)
    seconds_per_frame: float = 0.6


def steps_for(part: str, tape) -> range:
    """The steps of one part of a tape: the forward pass ends where the first backward starts."""
    if part not in dict(PARTS):
        raise ValueError(f"part: expected whole, forward or backward, got {part!r}")
    n = len(tape.events)
    first = stepping.first_backward(tape)
    if part == "whole":
        return range(n)
    if part == "forward":
        return range(first if first is not None else n)
    if first is None:
        raise ValueError("part: this tape has no backward pass")
    return range(first, n)


class PlaybackDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, options: PlaybackOptions = PlaybackOptions()):
        super().__init__(parent)
        self.setWindowTitle("Export playback")
        self.part_box = QComboBox(self)
        for key, text in PARTS:
            self.part_box.addItem(text, key)
        self.format_box = QComboBox(self)
        self.format_box.addItem("Animated GIF", "gif")
        self.format_box.addItem("Numbered PNG files in a folder", "png")
        self.size_box = QComboBox(self)
        for w, h in SIZES:
            self.size_box.addItem(f"{w} × {h}", (w, h))
        self.seconds_box = QDoubleSpinBox(self)
        self.seconds_box.setRange(0.1, 10.0)
        self.seconds_box.setSingleStep(0.1)
        self.seconds_box.setSuffix(" s per frame")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Play", self.part_box)
        form.addRow("Format", self.format_box)
        form.addRow("Size", self.size_box)
        form.addRow("Pace", self.seconds_box)
        form.addRow(buttons)
        self.set_options(options)

    def set_options(self, o: PlaybackOptions) -> None:
        self.part_box.setCurrentIndex(max(0, self.part_box.findData(o.part)))
        self.format_box.setCurrentIndex(max(0, self.format_box.findData(o.fmt)))
        self.size_box.setCurrentIndex(max(0, SIZES.index(o.size) if o.size in SIZES else 0))
        self.seconds_box.setValue(o.seconds_per_frame)

    def options(self) -> PlaybackOptions:
        w, h = self.size_box.currentData()
        return PlaybackOptions(self.part_box.currentData(), self.format_box.currentData(), (int(w), int(h)),
                               self.seconds_box.value())

    @classmethod
    def ask(cls, parent: QWidget | None, options: PlaybackOptions) -> PlaybackOptions | None:
        """Modal; None when cancelled (tests replace this)."""
        dialog = cls(parent, options)
        return dialog.options() if dialog.exec() == QDialog.DialogCode.Accepted else None
