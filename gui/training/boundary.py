"""What the model predicts, drawn over the data: the decision regions of a 2-D classifier
(tinted by how sure it is) under the data points, or a regression's fitted curve through
them. Colours are colour-blind friendly (Okabe-Ito, then two of Paul Tol's) and the same
for a class's region and its points."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import QEvent, QRectF
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QWidget

from gradstudio.core.training.probe import Grid

from .curves import dim_colour, is_dark, message_or_plot, style_plot

TASKS = ("classification", "regression")
CLASS_COLOURS = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#7f7f7f",
                 "#882255", "#44aa99")
NO_DATA = "Choose a dataset to see the model's predictions"
# Alpha of a region where the model is unsure .. certain; the dark background needs less.
REGION_ALPHA = {"light": (0.06, 0.5), "dark": (0.06, 0.36)}


def class_colour(k: int) -> QColor:
    """Colour of class k (the palette repeats after 10 classes)."""
    return QColor(CLASS_COLOURS[k % len(CLASS_COLOURS)])


def grid_image(grid: Grid, classes: int, alpha: tuple[float, float] = REGION_ALPHA["light"]) -> np.ndarray:
    """RGBA image [rows, cols, 4] of a Grid: the class's colour, more opaque where the model
    is more confident (confidence 1/classes is a coin toss, 1 is certain)."""
    rgb = np.array([[class_colour(k).red(), class_colour(k).green(), class_colour(k).blue()]
                    for k in range(len(CLASS_COLOURS))], np.uint8)
    chance = 1.0 / max(classes, 2)
    sure = np.clip((grid.confidence - chance) / (1 - chance), 0, 1)
    lo, hi = alpha
    image = np.empty((*grid.classes.shape, 4), np.uint8)
    image[..., :3] = rgb[grid.classes % len(CLASS_COLOURS)]
    image[..., 3] = np.round(255 * (lo + (hi - lo) * sure)).astype(np.uint8)
    return image


class PredictionView(QWidget):
    """The dataset as points, with the model's predictions behind (classification) or
    through them (regression)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.task: str | None = None
        self.num_classes = 0
        self.grid: Grid | None = None
        self.view = pg.PlotWidget(self)
        self.plot = self.view.getPlotItem()
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-10)
        self.scatter = pg.ScatterPlotItem(size=7, pxMode=True)
        self.scatter.setZValue(10)
        self.curve = pg.PlotDataItem()
        self.curve.setZValue(20)
        for item in (self.image, self.scatter, self.curve):
            self.plot.addItem(item)
        self.message, self._stack = message_or_plot(self, self.view, NO_DATA)
        self._apply_palette()

    # -- public API --------------------------------------------------------------------
    def set_dataset(self, x: torch.Tensor, y: torch.Tensor, task: str) -> None:
        """The points: x [N, 2] with class indices y [N] (classification) or x [N, 1] with
        targets y [N] or [N, 1] (regression). Clears any predictions shown."""
        if task not in TASKS:
            raise ValueError(f"task: expected one of {', '.join(TASKS)}, got {task!r}")
        x = x.detach().to("cpu", torch.float64)
        y = y.detach().to("cpu")
        if len(x) != len(y):
            raise ValueError(f"dataset: {len(x)} inputs but {len(y)} targets")
        want = 2 if task == "classification" else 1
        if x.dim() != 2 or x.shape[1] != want:
            raise ValueError(f"x: a {task} view needs inputs of shape [samples, {want}], got {list(x.shape)}")
        self.task = task
        self.clear_predictions()
        if task == "classification":
            if y.is_floating_point() and not torch.equal(y, y.round()):
                raise ValueError("y: class indices expected for classification, got fractional values")
            labels = y.reshape(-1).long().numpy()
            if labels.size and labels.min() < 0:
                raise ValueError(f"y: class indices must be >= 0, got {int(labels.min())}")
            self.num_classes = int(labels.max()) + 1 if labels.size else 0
            brushes = [pg.mkBrush(class_colour(k)) for k in range(len(CLASS_COLOURS))]
            pens = [pg.mkPen(class_colour(k).darker(170), width=1) for k in range(len(CLASS_COLOURS))]
            index = labels % len(CLASS_COLOURS)
            self.scatter.setData(x[:, 0].numpy(), x[:, 1].numpy(), size=7, brush=[brushes[k] for k in index],
                                 pen=[pens[k] for k in index])
            self.plot.setAspectLocked(True)
        else:
            values = y.to(torch.float64).reshape(len(y), -1)
            if values.shape[1] != 1:
                raise ValueError(f"y: a regression view needs one target per sample, got {list(y.shape)}")
            self.num_classes = 0
            colour = class_colour(0)
            self.scatter.setData(x[:, 0].numpy(), values[:, 0].numpy(), brush=pg.mkBrush(colour.lighter(120)),
                                 pen=pg.mkPen(colour.darker(150), width=1), size=6)
            self.plot.setAspectLocked(False)
        self._stack.setCurrentWidget(self.view)
        self.plot.enableAutoRange()

    def set_grid(self, grid: Grid) -> None:
        """The decision regions of a classifier (see core.training.probe.decision_grid)."""
        if self.task != "classification":
            raise ValueError("set_grid: decision regions need a classification dataset (set_dataset first)")
        self.grid = grid
        classes = max(self.num_classes, int(grid.classes.max()) + 1 if grid.classes.size else 0)
        alpha = REGION_ALPHA["dark" if is_dark(self.palette()) else "light"]
        self.image.setImage(grid_image(grid, classes, alpha), autoLevels=False)
        self.image.setRect(QRectF(grid.xmin, grid.ymin, grid.xmax - grid.xmin, grid.ymax - grid.ymin))
        self.image.show()

    def set_curve(self, xs: np.ndarray, ys: np.ndarray) -> None:
        """The fitted curve of a regression (see core.training.probe.fitted_curve)."""
        if self.task != "regression":
            raise ValueError("set_curve: a fitted curve needs a regression dataset (set_dataset first)")
        xs, ys = np.asarray(xs, np.float64).reshape(-1), np.asarray(ys, np.float64).reshape(-1)
        if xs.shape != ys.shape:
            raise ValueError(f"set_curve: {xs.size} x values but {ys.size} y values")
        order = np.argsort(xs, kind="stable")
        self.curve.setData(xs[order], ys[order])

    def clear_predictions(self) -> None:
        self.grid = None
        self.image.clear()
        self.image.hide()
        self.curve.setData([], [])

    def clear(self) -> None:
        """Nothing shown: no data, no predictions."""
        self.clear_predictions()
        self.scatter.clear()
        self.task, self.num_classes = None, 0
        self._stack.setCurrentWidget(self.message)

    # -- theme -------------------------------------------------------------------------
    def _apply_palette(self) -> None:
        palette = self.palette()
        style_plot(self.view, palette)
        self.plot.showGrid(x=True, y=True, alpha=0.1)
        line = "#f0e442" if is_dark(palette) else "#d55e00"
        self.curve.setPen(pg.mkPen(line, width=2.5))
        self.message.setStyleSheet(f"color: {dim_colour(palette).name()}; font-size: 13pt; background: "
                                   f"{palette.color(QPalette.ColorRole.Base).name()}")
        if self.grid is not None:
            self.set_grid(self.grid)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "curve"):
            self._apply_palette()
