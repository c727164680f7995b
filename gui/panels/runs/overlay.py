"""Several runs' curves on one plot, to compare them. Uses the training curves widget when
the app has it, otherwise a plain loss plot, so comparing works either way."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

from gradstudio.core.runs import RunRecord, RunStore

from .columns import LOSS
from .status_style import is_dark

_HINT = "Select runs and press Overlay to compare their curves here."
# distinct, colour-blind-friendly hues (Okabe–Ito), readable on light and dark bases
_LINE_COLOURS = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#d55e00", "#56b4e9", "#8c6d31", "#999999")


def _curves_widget_class():
    """The app's training curves widget, or None while it does not exist."""
    try:
        from gradstudio.core.training.series import MetricSeries  # noqa: F401
        from gradstudio.gui.training.curves import CurvesWidget
    except ImportError:
        return None
    return CurvesWidget


class LossPlot(pg.PlotWidget):
    """The fallback: each run's training loss against its step."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.getPlotItem().setLabel("bottom", "step")
        self.getPlotItem().setLabel("left", LOSS)
        self.getPlotItem().showGrid(x=True, y=True, alpha=0.2)
        self.legend = self.getPlotItem().addLegend(offset=(-10, 10))
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.apply_palette()

    def set_overlays(self, runs: list[tuple[str, list[tuple[int, float | None]]]]) -> None:
        self.getPlotItem().clear()
        self.legend.clear()
        self.curves = {}
        for i, (name, points) in enumerate(runs):
            kept = [(s, v) for s, v in points if v is not None]
            pen = pg.mkPen(QColor(_LINE_COLOURS[i % len(_LINE_COLOURS)]), width=2)
            item = self.getPlotItem().plot([s for s, _ in kept], [v for _, v in kept], pen=pen, name=name)
            self.curves[name] = item

    def apply_palette(self) -> None:
        pal = self.palette()
        self.setBackground(pal.color(QPalette.ColorRole.Base))
        text = pal.color(QPalette.ColorRole.Text)
        for side in ("left", "bottom"):
            axis = self.getPlotItem().getAxis(side)
            axis.setTextPen(text)
            axis.setPen(pg.mkPen(text.darker(130) if is_dark(pal) else text.lighter(160)))
        self.legend.setLabelTextColor(text)


class OverlayArea(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel(_HINT, self)
        self.title.setWordWrap(True)
        self.stack = QStackedWidget(self)
        self.placeholder = QLabel("", self)
        self.stack.addWidget(self.placeholder)
        self.plot: QWidget | None = None
        self.run_ids: list[int] = []
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addWidget(self.title)
        lay.addWidget(self.stack, 1)

    def show_runs(self, store: RunStore, records: list[RunRecord]) -> None:
        """Draw these runs' curves, replacing what was shown."""
        self.run_ids = [r.id for r in records]
        if not records:
            self.clear()
            return
        names = _unique_names(records)
        curves_class = _curves_widget_class()
        if curves_class is not None:
            from gradstudio.core.training.series import MetricSeries

            plot = self._plot(curves_class)
            plot.refresh_hz = 0  # stored runs do not grow by themselves: the panel redraws on refresh
            # no live run here: an empty main series, and every selected run as an overlay
            plot.set_series(MetricSeries())
            plot.set_overlays([(name, MetricSeries.from_store(store, r.id)) for name, r in zip(names, records)])
            _hide_live_legend(plot)
        else:
            plot = self._plot(LossPlot)
            plot.set_overlays([(name, store.metrics(r.id, LOSS)) for name, r in zip(names, records)])
        self.title.setText("Comparing " + ", ".join(names))

    def clear(self) -> None:
        self.run_ids = []
        self.title.setText(_HINT)
        self.stack.setCurrentWidget(self.placeholder)

    def _plot(self, cls) -> QWidget:
        if not isinstance(self.plot, cls):
            if self.plot is not None:
                self.stack.removeWidget(self.plot)
                self.plot.deleteLater()
            self.plot = cls(self)
            self.stack.addWidget(self.plot)
        self.stack.setCurrentWidget(self.plot)
        return self.plot

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == event.Type.PaletteChange and isinstance(self.plot, LossPlot):
            self.plot.apply_palette()


def _hide_live_legend(curves) -> None:
    """The curves widget names its live run "train"/"validation" in the legend; with no
    live run here those entries would name nothing."""
    try:
        legend = curves.plots["loss"].legend
        for item in (curves.curves["loss"].train, curves.curves["loss"].val):
            legend.removeItem(item)
    except (AttributeError, KeyError):
        pass


def _unique_names(records: list[RunRecord]) -> list[str]:
    """Legend labels: a run's name, with its id when two runs share a name."""
    counts: dict[str, int] = {}
    for r in records:
        counts[r.name] = counts.get(r.name, 0) + 1
    return [f"{r.name} (#{r.id})" if counts[r.name] > 1 else r.name for r in records]
