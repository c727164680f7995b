"""The live training widgets: loss/accuracy curves, predictions over the data, gradient
norms per layer; each fed from plain core objects, as the training job will feed them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPointF, Qt
from torch import nn

from gradstudio.core.data import sine, spirals
from gradstudio.core.training.probe import data_bounds, decision_grid, fitted_curve
from gradstudio.core.training.series import MetricSeries
from gradstudio.core.training.smoothing import ema
from gradstudio.gui.training import CurvesWidget, GradNormsPlot, PredictionView
from gradstudio.gui.training.curves import NO_RUN, NO_STEP, LogAxis


def run_series(steps: int = 300, epoch: int = 50) -> MetricSeries:
    rng = np.random.default_rng(0)
    s = MetricSeries()
    for i in range(steps):
        val = {"val_loss": 1 / (i + 2), "val_accuracy": 0.5 + i / (3 * steps)} if i % epoch == epoch - 1 else {}
        s.append(i, loss=1 / (i + 1) + 0.05 * rng.random(), accuracy=0.5 + i / (2 * steps), **val)
    return s


@pytest.fixture()
def curves(qtbot):
    w = CurvesWidget(refresh_hz=0)
    qtbot.addWidget(w)
    w.resize(800, 500)
    w.show()
    return w


def test_curves_show_an_empty_state_until_there_are_steps(curves):
    assert curves.message.isVisible() and curves.message.text() == NO_RUN
    s = MetricSeries()
    curves.set_series(s)
    assert curves.message.text() == NO_STEP
    s.append(0, loss=1.0)
    assert curves.refresh()
    assert not curves.message.isVisible() and curves.views["loss"].isVisible()


def test_curves_draw_the_series_and_redraw_only_when_it_grew(curves):
    s = run_series()
    curves.smoothing_slider.setValue(0)
    curves.set_series(s)
    loss = curves.curves["loss"]
    assert np.array_equal(loss.train.xData, s.arrays("loss")[0])
    assert np.array_equal(loss.train.yData, s.arrays("loss")[1])
    assert np.array_equal(loss.val.yData, s.arrays("val_loss")[1]) and len(loss.val.yData) == 6
    assert np.array_equal(curves.curves["accuracy"].val.xData, s.arrays("val_accuracy")[0])
    assert not curves.refresh()  # nothing new
    s.append(300, loss=0.01)
    assert curves.refresh()
    assert loss.train.yData[-1] == 0.01 and len(loss.train.yData) == 301


def test_accuracy_plot_is_hidden_for_a_run_without_accuracy(curves):
    s = MetricSeries()
    s.append(0, loss=1.0)
    curves.set_series(s)
    assert curves.views["loss"].isVisible() and not curves.views["accuracy"].isVisible()


def test_smoothing_changes_the_drawn_curve_and_keeps_the_raw_one_faint(curves):
    s = run_series()
    _, raw = s.arrays("loss")
    curves.set_series(s)
    curves.smoothing_slider.setValue(0)
    loss = curves.curves["loss"]
    assert np.array_equal(loss.train.yData, raw) and not loss.raw.isVisible()
    curves.smoothing_slider.setValue(80)
    assert curves.smoothing_label.text() == "0.80"
    assert loss.train.yData == pytest.approx(ema(raw, 0.8))
    assert np.array_equal(loss.raw.yData, raw) and loss.raw.isVisible()
    assert loss.raw.opts["pen"].color().alpha() < loss.train.opts["pen"].color().alpha()


def test_log_toggle_sets_the_loss_axis_to_log(curves):
    curves.set_series(run_series())
    curves.log_check.setChecked(True)
    assert curves.plots["loss"].getAxis("left").logMode
    assert not curves.plots["accuracy"].getAxis("left").logMode
    curves.log_check.setChecked(False)
    assert not curves.plots["loss"].getAxis("left").logMode


def test_hover_reads_the_values_at_the_nearest_step(curves, qtbot):
    s = run_series()
    curves.set_series(s)
    plot = curves.plots["loss"]
    plot.setXRange(0, 300, padding=0)
    plot.setYRange(0, 1, padding=0)
    scene_pos = plot.vb.mapViewToScene(QPointF(120.3, 0.5))
    curves.hover("loss", scene_pos)
    text = curves.readout.text()
    _, loss = s.arrays("loss")
    _, val = s.arrays("val_loss")
    assert text.startswith("step 120")
    assert f"loss {loss[120]:.4g}" in text
    assert f"val loss {val[1]:.4g} @99" in text  # the nearest epoch end (99, not 149), with its step
    assert curves._vlines["loss"].isVisible() and curves._vlines["loss"].value() == 120
    curves.hover("loss", QPointF(-50, -50))  # outside the plot: crosshair gone
    assert not curves._vlines["loss"].isVisible()


def test_overlays_are_dashed_and_named_in_the_legend(curves):
    curves.set_series(run_series())
    legend = curves.plots["loss"].legend
    names = lambda: [label.text for _, label in legend.items]  # noqa: E731
    assert names() == ["train", "validation"]
    other = run_series(200)
    curves.set_overlays([("lr 0.1", other), ("adam", run_series(100))])
    assert names() == ["train", "validation", "lr 0.1", "adam"]
    first = curves._overlay_curves[0][2]["loss"]
    assert first.train.opts["pen"].style() == Qt.PenStyle.DashLine
    assert len(first.train.xData) == 200
    colours = {c[2]["loss"].train.opts["pen"].color().name() for c in curves._overlay_curves}
    assert len(colours) == 2
    curves.set_overlays([])
    assert names() == ["train", "validation"]


def test_timer_redraws_a_growing_run_by_itself(qtbot):
    w = CurvesWidget(refresh_hz=50)
    qtbot.addWidget(w)
    s = run_series(10, epoch=5)
    w.set_series(s)
    w.show()
    s.append(10, loss=0.123)
    qtbot.waitUntil(lambda: len(w.curves["loss"].train.yData) == 11)
    assert w.curves["loss"].raw.yData[-1] == 0.123
    with pytest.raises(ValueError, match="refresh_hz"):
        w.refresh_hz = -1


def test_log_axis_labels_only_1_2_5_per_decade(qapp):
    axis = LogAxis("left")
    values = np.log10([0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 20.0])
    assert axis.logTickStrings(list(values), 1.0, 1.0) == ["0.1", "0.2", "", "0.5", "", "1", "2·10¹"]


def test_theme_is_validated_and_follows_the_palette(curves):
    with pytest.raises(ValueError, match="theme"):
        curves.set_theme("blue")
    curves.set_theme("dark")
    assert curves.curves["loss"].train.opts["pen"].color().name() == "#56b4e9"


# -- predictions -------------------------------------------------------------------------


def test_prediction_view_draws_the_grid_under_the_points(qtbot):
    view = PredictionView()
    qtbot.addWidget(view)
    data = spirals(90, classes=3)
    view.set_dataset(data.x, data.y, "classification")
    assert len(view.scatter.data) == 90 and view.num_classes == 3
    grid = decision_grid(nn.Linear(2, 3), data_bounds(data.x), resolution=40)
    view.set_grid(grid)
    assert view.image.image.shape == (40, 40, 4)
    assert view.image.zValue() < view.scatter.zValue()
    rect = view.image.mapRectToParent(view.image.boundingRect())
    assert rect.left() == pytest.approx(grid.xmin) and rect.bottom() == pytest.approx(grid.ymax)
    colours = {b.color().name() for b in view.scatter.data["brush"]}
    assert colours == {"#0072b2", "#e69f00", "#009e73"}
    with pytest.raises(ValueError, match="regression"):
        view.set_curve(np.zeros(3), np.zeros(3))
    view.clear()
    assert len(view.scatter.data) == 0 and view.message.text()


def test_prediction_view_draws_a_regression_curve(qtbot):
    view = PredictionView()
    qtbot.addWidget(view)
    data = sine(50)
    view.set_dataset(data.x, data.y, "regression")
    xs = np.linspace(-3, 3, 25)
    view.set_curve(xs, fitted_curve(nn.Linear(1, 1), xs))
    assert len(view.scatter.data) == 50 and len(view.curve.xData) == 25
    with pytest.raises(ValueError, match=r"x: a classification view needs inputs of shape \[samples, 2\]"):
        view.set_dataset(data.x, data.y, "classification")


# -- gradient norms ----------------------------------------------------------------------


def test_grad_norms_plot_draws_one_line_per_layer(qtbot):
    plot = GradNormsPlot(refresh_hz=0)
    qtbot.addWidget(plot)
    s = MetricSeries()
    plot.set_series(s)
    assert plot.message.text() and not plot.lines
    for step in range(20):
        s.append(step, loss=1.0, **{"grad_norm/layers.0": 1.0 + step, "grad_norm/head": 0.01})
    assert plot.refresh()
    assert sorted(plot.lines) == ["grad_norm/head", "grad_norm/layers.0"]
    assert plot.lines["grad_norm/layers.0"].yData.tolist() == [1.0 + i for i in range(20)]
    assert plot.plot.getAxis("left").logMode
    assert sorted(label.text for _, label in plot.legend.items) == ["head", "layers.0"]
    plot.set_series(None)
    assert not plot.lines and not plot.legend.items


def test_grad_norms_plot_follows_a_training_model(qtbot):
    from gradstudio.core.training.grad_norms import layer_grad_norms

    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    s = MetricSeries()
    for step in range(3):
        model.zero_grad()
        model(torch.randn(4, 2)).sum().backward()
        s.append(step, **{f"grad_norm/{k}": v for k, v in layer_grad_norms(model).items()})
    plot = GradNormsPlot(refresh_hz=0)
    qtbot.addWidget(plot)
    plot.set_series(s)
    assert sorted(plot.lines) == ["grad_norm/0", "grad_norm/2"]
