"""How much each weight of the selected parameter moved in the last step, as a heatmap:
a diverging colour map centred on 0 (blue down, red up) with its colour bar."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QRectF, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

from gradstudio.core.walkthrough import ParamUpdate, update_heatmap

COLOUR_MAP = "CET-D1A"  # diverging: blue, white at 0, red
WAITING = "After optimizer.step(), the change of each weight of the selected parameter is drawn here."


class DeltaHeatmap(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.values: np.ndarray | None = None  # the Δ grid on screen
        self.levels: tuple[float, float] | None = None
        self.title = QLabel("Δ after optimizer.step()", self)
        self.message = QLabel(WAITING, self)
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.canvas = pg.GraphicsLayoutWidget(self)
        self.canvas.setMinimumHeight(120)
        self.plot = self.canvas.addPlot()
        self.plot.invertY(True)  # row 0 at the top, as the tensor prints
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.bar = pg.ColorBarItem(values=(-1, 1), colorMap=pg.colormap.get(COLOUR_MAP), width=14,
                                   interactive=False, colorMapMenu=False)
        self.bar.setImageItem(self.image, insert_in=self.plot)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.message)
        self.stack.addWidget(self.canvas)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.addWidget(self.title)
        layout.addWidget(self.stack, 1)
        self._apply_palette()

    def show_update(self, update: ParamUpdate) -> None:
        v = update_heatmap(update).numpy()
        self.values = v
        finite = np.abs(v[np.isfinite(v)])
        m = float(finite.max()) if finite.size else 0.0
        self.levels = (-m, m) if m > 0 else (-1.0, 1.0)
        self.image.setImage(v, autoLevels=False)
        rows, cols = v.shape
        self.image.setRect(QRectF(-0.5, -0.5, cols, rows))  # pixel (r, c) centred on (c, r)
        self.bar.setLevels(self.levels)
        for axis_name, size in (("bottom", cols), ("left", rows)):
            self.plot.getAxis(axis_name).setTickSpacing(levels=[(max(1, size // 6), 0.0)])
        self.plot.setLabel("left", "row" if rows > 1 else "")
        self.plot.setLabel("bottom", "column")
        self.plot.autoRange(padding=0)
        still = "  (no weight moved: lr is 0)" if m == 0 else ""
        self.title.setText(f"Δ = new − old of {update.name} after optimizer.step(){still}")
        self.stack.setCurrentWidget(self.canvas)

    def show_waiting(self, text: str = WAITING) -> None:
        self.values = self.levels = None
        self.title.setText("Δ after optimizer.step()")
        self.message.setText(text)
        self.stack.setCurrentWidget(self.message)

    def set_scale(self, scale: float) -> None:
        for label in (self.title, self.message):
            font = label.font()
            font.setPointSizeF(10 * scale)
            label.setFont(font)

    def _apply_palette(self) -> None:
        pal = self.palette()
        self.canvas.setBackground(pal.color(QPalette.ColorRole.Base))
        text, mid = pal.color(QPalette.ColorRole.Text), pal.color(QPalette.ColorRole.Mid)
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setPen(mid)
            axis.setTextPen(text)
        self.bar.axis.setTextPen(text)

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_palette()
