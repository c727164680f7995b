"""Auto-play: the tape steps forward on its own at a lecturer's pace (0.25 to 4 s a step),
so the lecturer can talk while the graph grows.

It only keeps time; what one tick does (a step, or opening the next lesson) and whether
to go on is the `advance` callback's answer.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from .lesson_panel import PACE_DEFAULT, PACE_MAX, PACE_MIN


class AutoPlay(QObject):
    sig_playing_changed = Signal(bool)
    """Auto-play started (True) or stopped (False)."""

    def __init__(self, advance: Callable[[], bool], parent: QObject | None = None):
        super().__init__(parent)
        self._advance = advance
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._on_tick)
        self.set_pace(PACE_DEFAULT)

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    @property
    def pace(self) -> float:
        """Seconds per step."""
        return self._timer.interval() / 1000

    def set_pace(self, seconds: float) -> None:
        seconds = min(max(float(seconds), PACE_MIN), PACE_MAX)
        self._timer.setInterval(round(seconds * 1000))

    def start(self) -> None:
        if not self.playing:
            self._timer.start()
            self.sig_playing_changed.emit(True)

    def stop(self) -> None:
        if self.playing:
            self._timer.stop()
            self.sig_playing_changed.emit(False)

    def toggle(self) -> None:
        self.stop() if self.playing else self.start()

    def _on_tick(self) -> None:
        if not self._advance():
            self.stop()
