"""A progress bar for headless training: one redrawn line on a terminal, one line per epoch
in a log file (a redrawn line would fill it with carriage returns)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from .engine import StepMetrics


class ProgressBar:
    def __init__(self, total_steps: int, epochs: int, stream: TextIO | None = None, width: int = 28,
                 redraw_seconds: float = 0.1):
        self.total, self.epochs, self.width = max(total_steps, 1), epochs, width
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.redraw_seconds = redraw_seconds
        self.start = time.monotonic()
        self._last_draw = 0.0
        self._done = 0
        self._val: str = ""

    def update(self, m: StepMetrics) -> None:
        self._done = m.step + 1
        if m.val_loss is not None:
            acc = f" val_acc {m.val_accuracy:.3f}" if m.val_accuracy is not None else ""
            self._val = f" | val_loss {m.val_loss:.4f}{acc}"
        now = time.monotonic()  # the line is built only when drawn: it reads the accuracy
        if self.tty and (now - self._last_draw >= self.redraw_seconds or m.end_of_epoch):
            self._last_draw = now
            self.stream.write("\r" + self._line(m) + "\x1b[K")
            self.stream.flush()
        elif not self.tty and m.end_of_epoch:
            self.stream.write(self._line(m) + "\n")
            self.stream.flush()

    def _line(self, m: StepMetrics) -> str:
        fraction = min(self._done / self.total, 1.0)
        filled = int(round(fraction * self.width))
        bar = "█" * filled + "·" * (self.width - filled)
        elapsed = time.monotonic() - self.start
        rate = self._done / elapsed if elapsed > 0 else 0.0
        acc = f" acc {m.accuracy:.3f}" if m.accuracy is not None else ""
        return (f"epoch {m.epoch + 1}/{self.epochs} {bar} {self._done}/{self.total} "
                f"loss {m.loss:.4f}{acc}{self._val} {rate:.0f} steps/s")

    def close(self, message: str = "") -> None:
        if self.tty:
            self.stream.write("\n")
        if message:
            self.stream.write(message + "\n")
        self.stream.flush()
