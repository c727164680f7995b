"""Gradient norm of each layer over the steps, on a log axis: a layer whose line sinks
decades below the others is not learning (vanishing gradients), one that climbs is
exploding. Reads "grad_norm/<layer>" metrics from the run's MetricSeries on a timer, like
the loss curves."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QEvent
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QWidget

from gradstudio.core.training.series import MetricSeries

from .boundary import class_colour
from .curves import REFRESH_HZ, LogAxis, RefreshTimer, add_fast_curve, dim_colour, message_or_plot, style_plot

PREFIX = "grad_norm/"
NO_NORMS = "Gradient norms per layer appear here once training starts"
LEGEND_ROWS = 6  # more layers spread the legend over more columns


class GradNormsPlot(QWidget):
    """One line per layer (module owning parameters) over steps, log y axis."""

    def __init__(self, parent: QWidget | None = None, refresh_hz: float = REFRESH_HZ):
        super().__init__(parent)
        self.series: MetricSeries | None = None
        self.prefix = PREFIX
        self.lines: dict[str, pg.PlotDataItem] = {}
        self._drawn: int | None = None
        self.view = pg.PlotWidget(self, axisItems={"left": LogAxis("left")})
        self.plot = self.view.getPlotItem()
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setLogMode(y=True)
        self.plot.setLabel("left", "gradient norm")
        self.plot.setLabel("bottom", "step")
        self.legend = self.plot.addLegend(offset=(-8, 8), labelTextSize="8pt", verSpacing=-6)
        self.message, self._stack = message_or_plot(self, self.view, NO_NORMS)
        self._timer = RefreshTimer(self, self.refresh, refresh_hz)
        self._apply_palette()

    @property
    def refresh_hz(self) -> float:
        """Redraw checks per second; 0 stops the timer (call refresh() yourself)."""
        return self._timer.hz

    @refresh_hz.setter
    def refresh_hz(self, hz: float) -> None:
        self._timer.hz = hz

    def set_series(self, series: MetricSeries | None, prefix: str = PREFIX) -> None:
        """The run whose metrics named prefix + layer are drawn (None: nothing)."""
        self.series, self.prefix = series, prefix
        for line in self.lines.values():
            self.plot.removeItem(line)
            self.legend.removeItem(line)
        self.lines = {}
        self._drawn = None
        self.refresh()

    def refresh(self) -> bool:
        """Redraw if the series has new points; True if it redrew."""
        version = self.series.version if self.series is not None else None
        if version == self._drawn:
            return False
        self._drawn = version
        layers = [n for n in self.series.names() if n.startswith(self.prefix)] if self.series is not None else []
        if not layers:
            self._stack.setCurrentWidget(self.message)
            return True
        self._stack.setCurrentWidget(self.view)
        for name in layers:
            line = self.lines.get(name)
            if line is None:
                line = self.lines[name] = add_fast_curve(self.plot, name=name[len(self.prefix):])
                line.setPen(pg.mkPen(class_colour(len(self.lines) - 1), width=1.4))
                self.legend.setColumnCount(max(1, math.ceil(len(self.lines) / LEGEND_ROWS)))
            line.setData(*self.series.arrays(name))
        return True

    # -- theme -------------------------------------------------------------------------
    def _apply_palette(self) -> None:
        palette = self.palette()
        style_plot(self.view, palette)
        self.message.setStyleSheet(f"color: {dim_colour(palette).name()}; font-size: 13pt; background: "
                                   f"{palette.color(QPalette.ColorRole.Base).name()}")

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "legend"):
            self._apply_palette()
