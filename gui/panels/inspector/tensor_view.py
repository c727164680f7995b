"""One tensor snapshot on screen: statistics, a plot that suits its rank, and a histogram."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .._shared import read_only_table
from .describe import fmt_number, shape_text

# (label, TensorStats attribute), laid out two pairs per row.
STATS = [("min", "min"), ("max", "max"), ("mean", "mean"), ("std", "std"),
         ("norm", "norm"), ("numel", "numel"), ("NaN", "nan_count"), ("Inf", "inf_count")]
NOT_KEPT = "values not kept (memory budget)"
STALE = "values not kept (changed in place before they could be copied)"
UNREADABLE = "values not readable (a batched tensor inside vmap)"
LINE, IMAGE, SCALAR, MESSAGE = "line", "image", "scalar", "message"
_BAD = QColor("#d62728")


class TensorView(QWidget):
    """Shows a TensorSnapshot: 1-D as a line, 2-D as a heatmap, >2-D as a heatmap of a slice
    picked with spin boxes, 0-D as a number; a histogram under it. Without values (memory
    budget) it still shows the statistics, which are always kept."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.snapshot = None
        self._values: np.ndarray | None = None
        self._diverging = False
        self.caption = QLabel(self)
        self.caption.setWordWrap(True)
        self.stats = self._make_stats_table()
        self._slice_row = QWidget(self)
        self._slice_layout = QHBoxLayout(self._slice_row)
        self._slice_layout.setContentsMargins(0, 0, 0, 0)
        self._spins: list[QSpinBox] = []
        self._stack = QStackedWidget(self)
        self._line = self._plot_widget()
        self._image_widget, self._image_plot, self._image, self._colorbar = self._make_image()
        self._scalar = QLabel(self)
        self._scalar.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._scalar.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._message = QLabel(self)
        self._message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._message.setWordWrap(True)
        self._pages = {LINE: self._line, IMAGE: self._image_widget, SCALAR: self._scalar, MESSAGE: self._message}
        for page in self._pages.values():
            self._stack.addWidget(page)
        self._hist = self._plot_widget()
        self._hist.setMaximumHeight(130)
        self._hist.setMinimumHeight(80)
        self._hist.getPlotItem().setLabel("bottom", "value")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.caption)
        layout.addWidget(self.stats)
        layout.addWidget(self._slice_row)
        layout.addWidget(self._stack, 3)
        layout.addWidget(self._hist, 1)
        self._apply_palette()
        self.show_message("")

    # -- public ------------------------------------------------------------------------
    def show_snapshot(self, snap, caption: str = "", diverging: bool = False) -> None:
        """Show a snapshot; `diverging` colours around zero (for gradients)."""
        if snap is None:
            self.show_message(caption)
            return
        what = f"{shape_text(snap.shape)} {snap.dtype} · {snap.device}"
        self.caption.setText(f"{caption} — {what}" if caption else what)
        if snap is self.snapshot and diverging == self._diverging:
            return  # stepping with a node selected: nothing to redraw
        self.snapshot = snap
        self._diverging = diverging
        self._fill_stats(snap.stats)
        self.stats.show()
        values = snap.values
        if values is None:
            self._values = None
            self._set_page(MESSAGE, UNREADABLE if snap.unreadable else STALE if snap.stale else NOT_KEPT)
            self._hist.hide()
            self._set_slicer(())
            return
        self._values = _to_numpy(values)
        self._set_slicer(self._values.shape[:-2] if self._values.ndim > 2 else ())
        self._draw()

    def show_message(self, text: str) -> None:
        """No tensor to show: just say why."""
        self.snapshot, self._values = None, None
        self.caption.setText("")
        self.stats.hide()
        self._hist.hide()
        self._set_slicer(())
        self._set_page(MESSAGE, text)

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == event.Type.PaletteChange and hasattr(self, "_colorbar"):
            self._apply_palette()

    def mode(self) -> str:
        return next(name for name, page in self._pages.items() if page is self._stack.currentWidget())

    def message_text(self) -> str:
        return self._message.text() if self.mode() == MESSAGE else ""

    def stat_text(self, name: str) -> str:
        """The shown text of one statistic ("min", "mean", "NaN"...)."""
        for k, (label, _) in enumerate(STATS):
            if label == name:
                return self.stats.item(k // 2, 2 * (k % 2) + 1).text()
        raise KeyError(name)

    def slice_index(self) -> tuple[int, ...]:
        return tuple(s.value() for s in self._spins)

    def set_slice_index(self, index) -> None:
        for spin, i in zip(self._spins, index):
            spin.setValue(i)

    # -- building ----------------------------------------------------------------------
    def _make_stats_table(self) -> QTableWidget:
        rows = (len(STATS) + 1) // 2
        t = read_only_table(self, rows, 4)
        t.horizontalHeader().hide()
        t.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = t.horizontalHeader()
        for c in range(4):
            mode = QHeaderView.ResizeMode.ResizeToContents if c % 2 == 0 else QHeaderView.ResizeMode.Stretch
            header.setSectionResizeMode(c, mode)
        for k, (label, _) in enumerate(STATS):
            t.setItem(k // 2, 2 * (k % 2), QTableWidgetItem(label))
            value = QTableWidgetItem("")
            value.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            t.setItem(k // 2, 2 * (k % 2) + 1, value)
        t.resizeRowsToContents()
        t.setFixedHeight(sum(t.rowHeight(r) for r in range(rows)) + 2 * t.frameWidth())
        t.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        return t

    def _plot_widget(self) -> pg.PlotWidget:
        w = pg.PlotWidget(self)
        w.setMinimumHeight(120)
        return w

    def _apply_palette(self) -> None:
        """Plots, the colour bar and secondary text follow the palette (light or dark theme)."""
        pal = self.palette()
        base = pal.color(QPalette.ColorRole.Base)
        for w in (self._line, self._hist, self._image_widget):
            w.setBackground(base)
        for plot in (self._line.getPlotItem(), self._hist.getPlotItem(), self._image_plot):
            _style_axes(plot, pal)
        self._colorbar.axis.setTextPen(pal.color(QPalette.ColorRole.Text))
        dim = dim_color(pal)
        for k in range(len(STATS)):
            self.stats.item(k // 2, 2 * (k % 2)).setForeground(dim)
        self._message.setStyleSheet(f"color: {dim.name()}")
        if self.snapshot is not None:
            self._fill_stats(self.snapshot.stats)

    def _make_image(self):
        w = pg.GraphicsLayoutWidget(self)
        w.setMinimumHeight(120)
        plot = w.addPlot()
        plot.invertY(True)  # row 0 at the top, as the tensor prints
        plot.setAspectLocked(False)
        image = pg.ImageItem(axisOrder="row-major")
        plot.addItem(image)
        bar = pg.ColorBarItem(values=(0, 1), colorMap="viridis", width=14, interactive=False, colorMapMenu=False)
        bar.setImageItem(image, insert_in=plot)
        return w, plot, image, bar

    # -- drawing -----------------------------------------------------------------------
    def _fill_stats(self, stats) -> None:
        for k, (_, attr) in enumerate(STATS):
            v = getattr(stats, attr)
            item = self.stats.item(k // 2, 2 * (k % 2) + 1)
            item.setText(fmt_number(v))
            bad = attr in ("nan_count", "inf_count") and v > 0
            item.setForeground(_BAD if bad else self.palette().color(QPalette.ColorRole.Text))

    def _set_page(self, name: str, message: str = "") -> None:
        if name == MESSAGE:
            self._message.setText(message)
        self._stack.setCurrentWidget(self._pages[name])

    def _set_slicer(self, leading: tuple) -> None:
        """One spin box per leading dimension of a >2-D tensor."""
        if tuple(s.maximum() + 1 for s in self._spins) != tuple(leading):
            while self._slice_layout.count():
                item = self._slice_layout.takeAt(0)
                if item.widget():
                    item.widget().deleteLater()
            self._spins = []
            if leading:
                self._slice_layout.addWidget(QLabel("slice  [", self._slice_row))
                for d, size in enumerate(leading):
                    spin = QSpinBox(self._slice_row)
                    spin.setRange(0, size - 1)
                    spin.setToolTip(f"index along dimension {d} (size {size})")
                    spin.valueChanged.connect(self._draw)
                    self._spins.append(spin)
                    self._slice_layout.addWidget(spin)
                    self._slice_layout.addWidget(QLabel(",", self._slice_row))
                self._slice_layout.addWidget(QLabel(":, :]", self._slice_row))
                self._slice_layout.addStretch(1)
        self._slice_row.setVisible(bool(leading))

    def _draw(self, *_) -> None:
        v = self._values
        if v is None:
            return
        if v.ndim == 0:
            self._scalar.setText(f"<span style='font-size:20pt'>{fmt_number(float(v))}</span>")
            self._set_page(SCALAR)
            self._hist.hide()
            return
        if v.ndim == 1:
            self._draw_line(v)
        else:
            self._draw_image(v[self.slice_index()] if v.ndim > 2 else v)
        self._draw_histogram(v if v.ndim <= 2 else v[self.slice_index()])

    def _draw_line(self, v: np.ndarray) -> None:
        plot = self._line.getPlotItem()
        plot.clear()
        symbol = "o" if v.size <= 64 else None
        pen = pg.mkPen(QColor("#0072b2"), width=1.5)
        plot.plot(np.arange(v.size), v, pen=pen, symbol=symbol, symbolSize=5, symbolBrush="#0072b2",
                  symbolPen=None, connect="finite")
        plot.setLabel("bottom", "index")
        plot.setClipToView(True)
        plot.setDownsampling(auto=True, mode="peak")
        plot.enableAutoRange()
        self._set_page(LINE)

    def _draw_image(self, v: np.ndarray) -> None:
        finite = v[np.isfinite(v)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if self._diverging:
            m = max(abs(lo), abs(hi)) or 1.0
            lo, hi, cmap = -m, m, "CET-D1A"
        else:
            cmap = "viridis"
            if hi <= lo:
                lo, hi = lo - 0.5, hi + 0.5
        self._image.setImage(v, autoLevels=False)
        self._image.setRect(QRectF(-0.5, -0.5, v.shape[1], v.shape[0]))  # pixel (r, c) centred on (c, r)
        for name, size in (("bottom", v.shape[1]), ("left", v.shape[0])):
            axis = self._image_plot.getAxis(name)
            if size <= 64:  # whole indices only
                axis.setTickSpacing(levels=[(max(1, size // 6), 0.0)])
            else:
                axis.setTickSpacing()
        self._colorbar.setColorMap(pg.colormap.get(cmap))
        self._colorbar.setLevels((lo, hi))
        self._image_plot.setLabel("bottom", f"column (dim {v.ndim - 1 + len(self._spins)})")
        self._image_plot.setLabel("left", f"row (dim {len(self._spins)})")
        self._image_plot.autoRange(padding=0)
        self._set_page(IMAGE)

    def _draw_histogram(self, v: np.ndarray) -> None:
        finite = v[np.isfinite(v)].ravel()
        if finite.size < 2:
            self._hist.hide()
            return
        bins = int(min(50, max(5, np.sqrt(finite.size))))
        counts, edges = np.histogram(finite, bins=bins)
        plot = self._hist.getPlotItem()
        plot.clear()
        plot.plot(edges, counts, stepMode="center", fillLevel=0, pen=pg.mkPen("#56758f"),
                  brush=QColor(86, 117, 143, 110))
        plot.enableAutoRange()
        self._hist.show()


def dim_color(pal: QPalette) -> QColor:
    """Secondary text: between the text and background colours (PlaceholderText is plain
    black in some styles)."""
    a, b = pal.color(QPalette.ColorRole.Text), pal.color(QPalette.ColorRole.Base)
    return QColor.fromRgbF(*(x * 0.55 + y * 0.45 for x, y in zip(a.getRgbF()[:3], b.getRgbF()[:3])))


def _to_numpy(t: torch.Tensor) -> np.ndarray:
    t = t.detach()
    if t.is_nested:  # sequences of different lengths: padded, the padding shown as missing
        t = torch.nested.to_padded_tensor(t.to(torch.float64), float("nan"))
    if t.is_complex():
        t = t.abs()
    if t.dtype != torch.float64:
        t = t.to(torch.float64)
    return t.numpy()


def _style_axes(plot: pg.PlotItem, pal: QPalette) -> None:
    text = pal.color(QPalette.ColorRole.Text)
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setTextPen(text)
        axis.setPen(pal.color(QPalette.ColorRole.Mid))
    plot.showGrid(x=True, y=True, alpha=0.15)
    plot.setMenuEnabled(False)
    plot.hideButtons()
