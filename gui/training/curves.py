"""Live loss and accuracy curves of a training run, with other runs overlaid for comparison.

The training thread only appends to a MetricSeries; this widget looks at it on a timer
(`refresh_hz`, 5 per second by default, less when drawing gets expensive) and redraws only when the series' version moved,
so a fast run costs the GUI the same as a slow one. Long curves stay cheap to draw because
pyqtgraph draws only the visible part, reduced to peaks per pixel, and smoothing only
computes the points added since the last redraw.
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, Qt, QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from gradstudio.core.training.series import MetricSeries
from gradstudio.core.training.smoothing import RunningEma

THEMES = ("light", "dark")
REFRESH_HZ = 5.0  # live enough to watch; each redraw holds the interpreter the training thread needs
NO_RUN = "Start a training run to see its curves"
NO_STEP = "Waiting for the first training step…"
HOVER_HINT = "Point at the plots to read the values at a step"
# (plot, train metric, validation metric)
PLOTS = (("loss", "loss", "val_loss"), ("accuracy", "accuracy", "val_accuracy"))
READOUT_NAMES = (("loss", "loss"), ("val_loss", "val loss"), ("accuracy", "acc"), ("val_accuracy", "val acc"))
# Okabe-Ito colours, lighter ones on the dark background.
MAIN_COLOURS = {"light": ("#0072b2", "#d55e00"), "dark": ("#56b4e9", "#e69f00")}
OVERLAY_COLOURS = {"light": ("#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#6d6d6d", "#882255"),
                   "dark": ("#009e73", "#cc79a7", "#f0e442", "#d55e00", "#b8b8b8", "#44aa99")}


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Base).lightness() < 128


def dim_colour(palette: QPalette) -> QColor:
    """Secondary text: between the text and background colours."""
    a, b = palette.color(QPalette.ColorRole.Text), palette.color(QPalette.ColorRole.Base)
    return QColor.fromRgbF(*(x * 0.55 + y * 0.45 for x, y in zip(a.getRgbF()[:3], b.getRgbF()[:3])))


def style_plot(view: pg.PlotWidget, palette: QPalette) -> None:
    """Background, axes, grid and legend in the palette's colours."""
    view.setBackground(palette.color(QPalette.ColorRole.Base))
    plot = view.getPlotItem()
    text = palette.color(QPalette.ColorRole.Text)
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(palette.color(QPalette.ColorRole.Mid))
        axis.setTextPen(text)  # after setPen, which also recolours the axis label
        axis.enableAutoSIPrefix(False)  # "loss (x0.001)" with ticks 700, 600… misreads as a loss of 700
    plot.showGrid(x=True, y=True, alpha=0.15)
    if plot.legend is not None:
        base = QColor(palette.color(QPalette.ColorRole.Base))
        base.setAlpha(200)
        plot.legend.setBrush(base)
        plot.legend.setPen(palette.color(QPalette.ColorRole.Mid))
        plot.legend.setLabelTextColor(text)
        for _, label in plot.legend.items:
            label.setText(label.text)  # existing labels take the colour only when redrawn


def message_or_plot(owner: QWidget, view: QWidget, text: str) -> tuple[QLabel, QStackedWidget]:
    """`owner` shows either a centred message (no data yet) or `view`: the label and the
    stack that switches between them, laid out to fill `owner`."""
    message = QLabel(text, owner)
    message.setAlignment(Qt.AlignmentFlag.AlignCenter)
    message.setWordWrap(True)
    stack = QStackedWidget(owner)
    stack.addWidget(message)
    stack.addWidget(view)
    layout = QVBoxLayout(owner)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(stack)
    return message, stack


class LogAxis(pg.AxisItem):
    """In log mode, only ticks at 1, 2 and 5 times a power of ten are labelled (every minor
    tick labelled would overlap when the range is under a few decades)."""

    def logTickStrings(self, values, scale, spacing):  # noqa: N802
        strings = super().logTickStrings(values, scale, spacing)
        mantissas = [f"{v:.0e}"[0] for v in 10 ** np.asarray(values, float) * scale]
        return [text if m in "125" else "" for text, m in zip(strings, mantissas)]


AXIS_WIDTH = 54  # the same for stacked plots, so their steps line up


def add_fast_curve(plot: pg.PlotItem, **opts) -> pg.PlotDataItem:
    """A line in `plot` that draws only its visible part, reduced to per-pixel peaks.
    (Set after adding: PlotItem.addItem imposes the plot's own downsampling settings.)"""
    item = pg.PlotDataItem(**opts)
    plot.addItem(item)
    item.setDownsampling(auto=True, method="peak")
    item.setClipToView(True)
    return item


def nearest(steps: np.ndarray, x: float) -> int | None:
    """Index of the step nearest to x (binary search); None for no steps."""
    if steps.size == 0:
        return None
    i = int(np.searchsorted(steps, x))
    if i == 0:
        return 0
    if i == steps.size:
        return i - 1
    return i if steps[i] - x < x - steps[i - 1] else i - 1


def fmt_value(v: float) -> str:
    return f"{v:.4g}"


class RefreshTimer(QTimer):
    """Calls `refresh` `hz` times a second while `widget` is shown (once at once when it
    appears); 0 Hz stops it.

    A redraw that drew is painted at once and timed, and the next one waits until drawing
    has used at most `budget` of the time (10%): a plot that got expensive to draw (a very
    long run, a slow machine) refreshes less often instead of slowing training down, whose
    thread shares the interpreter with this one."""

    budget = 0.10

    def __init__(self, widget: QWidget, refresh, hz: float):
        super().__init__(widget)
        self._widget, self._refresh = widget, refresh
        self.timeout.connect(self._tick)
        self._hz = 0.0
        self.last_cost = 0.0  # seconds the last redraw and paint took
        self.hz = hz
        widget.installEventFilter(self)

    def _tick(self) -> None:
        start = time.perf_counter()
        if self._refresh() and self._widget.isVisible():
            self._widget.repaint()  # paint now, so its cost is known
            self.last_cost = time.perf_counter() - start
            base = 1000 / self._hz if self._hz else 0
            self.setInterval(max(1, round(max(base, 1000 * self.last_cost / self.budget))))

    @property
    def hz(self) -> float:
        return self._hz

    @hz.setter
    def hz(self, hz: float) -> None:
        if not hz >= 0:
            raise ValueError(f"refresh_hz: expected a number >= 0, got {hz}")
        self._hz = hz
        if hz == 0:
            self.stop()
            return
        self.setInterval(max(1, round(1000 / hz)))
        if self._widget.isVisible():
            self.start()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if watched is self._widget:
            if event.type() == QEvent.Type.Show:
                if self._hz > 0:
                    self.start()
                self._refresh()
            elif event.type() == QEvent.Type.Hide:
                self.stop()
        return False


class _Curves:
    """The items of one plot for one run: raw train (faint), smoothed train, validation."""

    def __init__(self, plot: pg.PlotItem, name: str | None, dashed: bool):
        self.style = Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine
        self.raw = add_fast_curve(plot)
        self.train = add_fast_curve(plot, name=name)
        self.val = add_fast_curve(plot, symbol="o", symbolSize=5)

    def items(self) -> tuple[pg.PlotDataItem, ...]:
        return self.raw, self.train, self.val

    def colour(self, train: str, val: str, dark: bool) -> None:
        faint = QColor(train)
        faint.setAlpha(70 if dark else 55)
        self.raw.setPen(pg.mkPen(faint, width=1, style=self.style))
        self.train.setPen(pg.mkPen(train, width=1.6, style=self.style))
        self.val.setPen(pg.mkPen(val, width=1.6, style=self.style))
        self.val.setSymbolPen(pg.mkPen(QColor(val).darker(130)))
        self.val.setSymbolBrush(QColor(val))


class CurvesWidget(QWidget):
    """Loss above accuracy over steps: training per step (smoothed, the raw curve faint
    behind), validation per epoch with markers; a crosshair reads the values under the
    mouse. The accuracy plot is hidden while no run has accuracies (regression)."""

    def __init__(self, parent: QWidget | None = None, refresh_hz: float = REFRESH_HZ):
        super().__init__(parent)
        self.series: MetricSeries | None = None
        self.overlays: list[tuple[str, MetricSeries]] = []
        self.theme = "dark" if is_dark(self.palette()) else "light"
        self._drawn: tuple | None = None
        self._smoothers: dict[tuple[int, str], RunningEma] = {}  # (id(series), metric)
        self._build_toolbar()
        self._build_plots()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(self._toolbar)
        layout.addWidget(self._stack, 1)
        layout.addWidget(self.readout)
        self._timer = RefreshTimer(self, self.refresh, refresh_hz)
        self._apply_palette()
        self._show_message(NO_RUN)

    # -- building ----------------------------------------------------------------------
    def _build_toolbar(self) -> None:
        self._toolbar = QHBoxLayout()
        self._toolbar.setContentsMargins(0, 0, 0, 0)
        self.smoothing_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.smoothing_slider.setRange(0, 99)
        self.smoothing_slider.setValue(90)
        self.smoothing_slider.setFixedWidth(120)
        self.smoothing_slider.setToolTip("Exponential moving average of the training curves (0 = raw)")
        self.smoothing_label = QLabel(self)
        self.smoothing_label.setMinimumWidth(32)
        self.log_check = QCheckBox("Log loss", self)
        self.log_check.setToolTip("Logarithmic loss axis")
        self.auto_range_button = QPushButton("Auto range", self)
        self.auto_range_button.setToolTip("Fit both plots to all their data again")
        self.readout = QLabel(self)
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        for w in (QLabel("Smoothing", self), self.smoothing_slider, self.smoothing_label, self.log_check,
                  self.auto_range_button):
            self._toolbar.addWidget(w)
        self._toolbar.addStretch(1)
        self.smoothing_slider.valueChanged.connect(self._on_smoothing)
        self.log_check.toggled.connect(self._on_log)
        self.auto_range_button.clicked.connect(self.auto_range)
        self._on_smoothing(self.smoothing_slider.value())

    def _build_plots(self) -> None:
        self._stack = QStackedWidget(self)
        self.message = QLabel(self)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self._plots_page = QWidget(self)
        page = QVBoxLayout(self._plots_page)
        page.setContentsMargins(0, 0, 0, 0)
        page.setSpacing(2)
        self.views: dict[str, pg.PlotWidget] = {}
        self.plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[str, _Curves] = {}
        self._vlines: dict[str, pg.InfiniteLine] = {}
        self._hlines: dict[str, pg.InfiniteLine] = {}
        for name, _, _ in PLOTS:
            view = pg.PlotWidget(self._plots_page, axisItems={"left": LogAxis("left")})
            view.setMinimumHeight(110)
            plot = view.getPlotItem()
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.setLabel("left", name)
            plot.getAxis("left").setWidth(AXIS_WIDTH)
            if name == "loss":
                plot.addLegend(offset=(-8, 8), labelTextSize="8pt", verSpacing=-4)
            self.views[name], self.plots[name] = view, plot
            self.curves[name] = _Curves(plot, "train" if name == "loss" else None, dashed=False)
            for lines, angle in ((self._vlines, 90), (self._hlines, 0)):
                line = pg.InfiniteLine(angle=angle, movable=False)
                line.hide()
                plot.addItem(line, ignoreBounds=True)
                lines[name] = line
            view.scene().sigMouseMoved.connect(lambda pos, n=name: self.hover(n, pos))
            page.addWidget(view, 1)
        self.plots["accuracy"].setXLink(self.plots["loss"])
        self.plots["accuracy"].setLabel("bottom", "step")
        legend = self.plots["loss"].legend
        legend.addItem(self.curves["loss"].val, "validation")
        self._overlay_curves: list[tuple[str, MetricSeries, dict[str, _Curves]]] = []
        self._stack.addWidget(self.message)
        self._stack.addWidget(self._plots_page)

    # -- public API --------------------------------------------------------------------
    def set_series(self, series: MetricSeries | None) -> None:
        """The run to draw (None: nothing); drawn at once and then as it grows."""
        self.series = series
        self._smoothers.clear()
        self._drawn = None
        self.refresh()

    def set_overlays(self, runs: list[tuple[str, MetricSeries]]) -> None:
        """Other runs drawn dashed, each in its own colour and named in the legend."""
        legend = self.plots["loss"].legend
        for _, _, curves in self._overlay_curves:
            for plot_name, c in curves.items():
                for item in c.items():
                    self.plots[plot_name].removeItem(item)
            legend.removeItem(curves["loss"].train)
        self._overlay_curves = []
        self.overlays = list(runs)
        for name, series in self.overlays:
            curves = {plot_name: _Curves(self.plots[plot_name], name if plot_name == "loss" else None, dashed=True)
                      for plot_name, _, _ in PLOTS}
            self._overlay_curves.append((name, series, curves))
        self._colour_curves()
        self._smoothers.clear()
        self._drawn = None
        self.refresh()

    @property
    def smoothing(self) -> float:
        return self.smoothing_slider.value() / 100

    @property
    def refresh_hz(self) -> float:
        """Redraw checks per second; 0 stops the timer (call refresh() yourself)."""
        return self._timer.hz

    @refresh_hz.setter
    def refresh_hz(self, hz: float) -> None:
        self._timer.hz = hz

    def refresh(self) -> bool:
        """Redraw if the run or an overlay has new points (or a setting changed); True if
        it redrew."""
        state = (self.series.version if self.series is not None else None,
                 tuple(s.version for _, s in self.overlays))
        if state == self._drawn:
            return False
        self._drawn = state
        self._redraw()
        return True

    def set_theme(self, theme: str) -> None:
        """Curve colours for a light or dark theme; background and text follow the
        application palette."""
        if theme not in THEMES:
            raise ValueError(f"theme must be one of {THEMES}, got {theme!r}")
        self.theme = theme
        self._apply_palette()

    def auto_range(self) -> None:
        for plot in self.plots.values():
            plot.enableAutoRange()

    def hover(self, plot_name: str, scene_pos: QPointF) -> None:
        """Crosshair and read-out for the mouse at a point of a plot's scene: the step
        nearest to it and the value of each metric there."""
        plot = self.plots[plot_name]
        if self.series is None or not plot.vb.sceneBoundingRect().contains(scene_pos):
            self._hide_crosshair()
            return
        at = plot.vb.mapSceneToView(scene_pos)
        text, step = self._readout_at(at.x())
        if step is None:
            self._hide_crosshair()
            return
        self.readout.setText(text)
        self.readout.setToolTip(text)
        for name, line in self._vlines.items():
            line.setPos(step)
            line.setVisible(self.views[name].isVisible())
        for name, line in self._hlines.items():
            line.setPos(at.y())
            line.setVisible(name == plot_name)

    # -- drawing -----------------------------------------------------------------------
    def _redraw(self) -> None:
        if self.series is None:
            self._show_message(NO_RUN)
            return
        if len(self.series) == 0 and not any(len(s) for _, s in self.overlays):
            self._show_message(NO_STEP)
            return
        self._stack.setCurrentWidget(self._plots_page)
        if not self.readout.text():
            self.readout.setText(HOVER_HINT)
        for plot_name, train, val in PLOTS:
            self._draw(self.series, self.curves[plot_name], train, val, raw_behind=True)
            for _, series, curves in self._overlay_curves:
                self._draw(series, curves[plot_name], train, val, raw_behind=False)
        runs = [self.series] + [s for _, s in self.overlays]
        self.views["accuracy"].setVisible(any(s.count("accuracy") or s.count("val_accuracy") for s in runs))

    def _draw(self, series: MetricSeries, curves: _Curves, train: str, val: str, raw_behind: bool) -> None:
        steps, values = self._arrays(series, train)
        weight = self.smoothing
        if weight > 0 and values.size:
            key = (id(series), train)
            smoother = self._smoothers.get(key)
            if smoother is None or smoother.weight != weight:
                smoother = self._smoothers[key] = RunningEma(weight)
            smoothed = smoother.update(values)
        else:
            smoothed = values
        curves.train.setData(steps, smoothed)
        if raw_behind and weight > 0:
            curves.raw.setData(steps, values)
            curves.raw.show()
        else:
            curves.raw.hide()
            curves.raw.clear()
        curves.val.setData(*self._arrays(series, val))

    @staticmethod
    def _arrays(series: MetricSeries, name: str) -> tuple[np.ndarray, np.ndarray]:
        if name in series:
            return series.arrays(name)
        return np.empty(0), np.empty(0)

    def _readout_at(self, x: float) -> tuple[str, float | None]:
        """Text for the step nearest to x: the training metrics at that step, validation
        metrics at their nearest step."""
        anchor = next((n for n in ("loss", "accuracy", "val_loss", "val_accuracy") if n in self.series), None)
        if anchor is None:
            return "", None
        steps, _ = self.series.arrays(anchor)
        i = nearest(steps, x)
        step = float(steps[i])
        parts = [f"step {int(step):,}"]
        for name, short in READOUT_NAMES:
            if name not in self.series:
                continue
            s, v = self.series.arrays(name)
            j = nearest(s, step)
            part = f"{short} {fmt_value(v[j])}"
            if s[j] != step:
                part += f" @{int(s[j]):,}"
            parts.append(part)
        return "  ·  ".join(parts), step

    def _hide_crosshair(self) -> None:
        for line in (*self._vlines.values(), *self._hlines.values()):
            line.hide()

    def _show_message(self, text: str) -> None:
        self.message.setText(text)
        self._stack.setCurrentWidget(self.message)
        self.readout.setText("")

    # -- settings ----------------------------------------------------------------------
    def _on_smoothing(self, value: int) -> None:
        self.smoothing_label.setText(f"{value / 100:.2f}")
        self._smoothers.clear()
        self._drawn = None
        if hasattr(self, "_timer"):
            self.refresh()

    def _on_log(self, on: bool) -> None:
        self.plots["loss"].setLogMode(y=on)
        self.plots["loss"].enableAutoRange(axis="y")
        self._hide_crosshair()  # its height was in the other scale

    # -- theme -------------------------------------------------------------------------
    def _apply_palette(self) -> None:
        palette = self.palette()
        for view in self.views.values():
            style_plot(view, palette)
        mid = QColor(palette.color(QPalette.ColorRole.Text))
        mid.setAlpha(110)
        for line in (*self._vlines.values(), *self._hlines.values()):
            line.setPen(pg.mkPen(mid, width=1, style=Qt.PenStyle.DashLine))
        dim = dim_colour(palette).name()
        self.message.setStyleSheet(f"color: {dim}; font-size: 13pt; background: "
                                   f"{palette.color(QPalette.ColorRole.Base).name()}")
        self.readout.setStyleSheet(f"color: {dim}")
        self._colour_curves()

    def _colour_curves(self) -> None:
        dark = self.theme == "dark"
        train, val = MAIN_COLOURS[self.theme]
        for curves in self.curves.values():
            curves.colour(train, val, dark)
        colours = OVERLAY_COLOURS[self.theme]
        for k, (_, _, curves) in enumerate(self._overlay_curves):
            colour = colours[k % len(colours)]
            for c in curves.values():
                c.colour(colour, colour, dark)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "_timer"):
            self.theme = "dark" if is_dark(self.palette()) else "light"
            self._apply_palette()
