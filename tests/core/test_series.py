"""Live training data without Qt: the metric series the training thread fills, smoothing,
what a model predicts over its inputs, and gradient norms per layer."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
import torch
from torch import nn

from gradstudio.core.runs.store import RunStore
from gradstudio.core.training.grad_norms import layer_grad_norms
from gradstudio.core.training.probe import data_bounds, decision_grid, fitted_curve
from gradstudio.core.training.series import MetricSeries
from gradstudio.core.training.smoothing import RunningEma, ema

# -- MetricSeries ----------------------------------------------------------------------


def test_append_keeps_only_steps_where_a_metric_has_a_value():
    s = MetricSeries()
    s.append(0, loss=1.0, val_loss=None)
    s.append(1, loss=0.5)
    s.append(2, loss=0.25, val_loss=0.75)
    assert s.names() == ["loss", "val_loss"]
    assert len(s) == 3
    steps, values = s.arrays("val_loss")
    assert steps.tolist() == [2.0] and values.tolist() == [0.75]
    steps, values = s.arrays("loss")
    assert steps.dtype == values.dtype == np.float64
    assert steps.tolist() == [0, 1, 2] and values.tolist() == [1.0, 0.5, 0.25]


def test_extend_and_growth_past_the_first_capacity():
    s = MetricSeries()
    s.extend([(i, {"loss": float(i), "accuracy": None if i % 2 else i / 1000}) for i in range(1000)])
    steps, values = s.arrays("loss")
    assert len(s) == 1000 and values.tolist() == [float(i) for i in range(1000)]
    assert s.arrays("accuracy")[0].tolist() == list(range(0, 1000, 2))
    assert s.count("accuracy") == 500 and s.count("val_loss") == 0


def test_version_grows_with_every_append_and_extend():
    s = MetricSeries()
    v0 = s.version
    s.append(0, loss=1.0)
    v1 = s.version
    s.extend([(1, {"loss": 0.5}), (2, {"loss": 0.4})])
    assert v0 < v1 < s.version


def test_arrays_are_read_only_and_unchanged_by_later_appends():
    s = MetricSeries()
    s.append(0, loss=1.0)
    steps, values = s.arrays("loss")
    for i in range(1, 600):  # several reallocations
        s.append(i, loss=float(i))
    assert values.tolist() == [1.0] and steps.tolist() == [0.0]
    with pytest.raises(ValueError):
        values[0] = 5.0


def test_bad_input_is_refused_with_the_metric_named():
    s = MetricSeries()
    s.append(5, loss=1.0)
    with pytest.raises(ValueError, match=r"'loss': step 3 comes before step 5"):
        s.append(3, loss=0.5)
    with pytest.raises(TypeError, match=r"'accuracy' at step 6"):
        s.append(6, loss=0.5, accuracy="high")
    assert s.arrays("loss")[1].tolist() == [1.0]  # the bad row added nothing
    with pytest.raises(KeyError, match="no metric 'val_loss'.*loss"):
        s.arrays("val_loss")


def test_two_writers_and_a_reader_at_once():
    s = MetricSeries()
    errors: list[BaseException] = []
    done = threading.Event()

    def write(name: str) -> None:
        try:
            for i in range(3000):
                s.append(i, **{name: float(i)})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def read() -> None:
        try:
            while not done.is_set():
                for name in s.names():
                    steps, values = s.arrays(name)
                    assert len(steps) == len(values)
                    assert np.array_equal(steps, values)  # each written as step == value
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write, args=(n,)) for n in ("a", "b")]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    reader.join()
    assert errors == []
    assert len(s) == 6000 and s.arrays("a")[1].tolist() == s.arrays("b")[1].tolist() == list(map(float, range(3000)))


def test_from_store_reads_a_stored_run(tmp_path):
    with RunStore(tmp_path / "runs.db") as store:
        run = store.start_run("mlp", {"lr": 0.1}, {})
        for step in range(10):
            store.log(run, step, epoch=step // 5, loss=1 / (step + 1), accuracy=None,
                      val_loss=0.5 if step % 5 == 4 else None, **{"grad_norm/fc": 2.0})
        store.finish(run, "completed")
        s = MetricSeries.from_store(store, run)
        with pytest.raises(KeyError, match="no run 99"):
            MetricSeries.from_store(store, 99)
    assert s.names() == ["epoch", "loss", "val_loss", "grad_norm/fc"]
    assert len(s) == 10 and s.version > 0
    assert s.arrays("val_loss")[0].tolist() == [4.0, 9.0]
    assert s.arrays("loss")[1] == pytest.approx([1 / (i + 1) for i in range(10)])
    s.append(10, loss=0.05)  # a stored run can go on growing
    assert s.count("loss") == 11


# -- smoothing -------------------------------------------------------------------------


def reference_ema(values, weight):
    """TensorBoard's smoothing, one value at a time."""
    last, count, out = 0.0, 0, []
    for v in values:
        if not math.isfinite(v):
            out.append(v)
            continue
        last = last * weight + (1 - weight) * v
        count += 1
        out.append(last / (1 - weight ** count))
    return np.array(out)


@pytest.mark.parametrize("weight", [0.0, 0.01, 0.5, 0.6, 0.9, 0.99, 0.999])
def test_ema_matches_the_step_by_step_reference(weight):
    rng = np.random.default_rng(0)
    values = np.linspace(3, 0.1, 3000) + rng.normal(0, 0.2, 3000)  # long enough to be chunked
    values[[0, 7, 500, 2999]] = np.nan
    values[100] = np.inf
    got, want = ema(values, weight), reference_ema(values, weight)
    assert np.array_equal(np.isnan(got), np.isnan(want)) and got[100] == np.inf
    ok = np.isfinite(want)
    assert got[ok] == pytest.approx(want[ok], rel=1e-9, abs=1e-12)


def test_ema_of_short_and_odd_inputs():
    assert ema(np.array([]), 0.9).size == 0
    assert ema(np.array([2.0]), 0.9) == pytest.approx([2.0])  # debiased: not pulled towards 0
    assert ema(np.full(5, 4.0), 0.99) == pytest.approx(np.full(5, 4.0))
    assert np.isnan(ema(np.array([np.nan, np.nan]), 0.5)).all()
    with pytest.raises(ValueError, match="weight"):
        ema(np.ones(3), 1.0)


def test_running_ema_equals_ema_of_the_whole_array():
    rng = np.random.default_rng(1)
    values = rng.normal(size=5000)
    values[::13] = np.nan
    running = RunningEma(0.9)
    for n in (1, 2, 50, 51, 4000, 5000):
        smoothed = running.update(values[:n])
    assert smoothed == pytest.approx(ema(values, 0.9), nan_ok=True)
    assert running.update(values[:10]) == pytest.approx(ema(values[:10], 0.9), nan_ok=True)  # shorter: restart


# -- predictions over the input space --------------------------------------------------


def test_decision_grid_of_a_linear_model_splits_the_plane_in_halves():
    model = nn.Linear(2, 2)
    with torch.no_grad():  # class 1 where x > 0, class 0 where x < 0
        model.weight.copy_(torch.tensor([[-1.0, 0.0], [1.0, 0.0]]))
        model.bias.zero_()
    model.train()
    grid = decision_grid(model, (-1, 1, -2, 2), resolution=10)
    assert grid.classes.shape == grid.confidence.shape == (10, 10)
    assert (grid.classes[:, :5] == 0).all() and (grid.classes[:, 5:] == 1).all()
    assert (grid.confidence >= 0.5).all() and grid.confidence[0, 0] > grid.confidence[0, 4]
    assert model.training  # mode restored


def test_decision_grid_reads_one_output_as_a_binary_logit():
    model = nn.Linear(2, 1)
    with torch.no_grad():  # class 1 above y = 0
        model.weight.copy_(torch.tensor([[0.0, 3.0]]))
        model.bias.zero_()
    model.eval()
    grid = decision_grid(model, (0, 1, -1, 1), resolution=4)
    assert grid.classes.tolist() == [[0] * 4, [0] * 4, [1] * 4, [1] * 4]  # row 0 at ymin
    assert not model.training


def test_decision_grid_refuses_bad_bounds_and_outputs():
    with pytest.raises(ValueError, match="bounds"):
        decision_grid(nn.Linear(2, 2), (1, 0, 0, 1))
    with pytest.raises(ValueError, match=r"shape \[16, 2, 1\]"):
        decision_grid(nn.Sequential(nn.Linear(2, 2), nn.Unflatten(1, (2, 1))), (0, 1, 0, 1), resolution=4)


def test_fitted_curve_and_data_bounds():
    model = nn.Linear(1, 1)
    with torch.no_grad():
        model.weight.fill_(2.0)
        model.bias.fill_(1.0)
    xs = np.linspace(-1, 1, 7)
    ys = fitted_curve(model, xs)
    assert ys.shape == (7,) and ys == pytest.approx(2 * xs + 1, rel=1e-6)
    assert data_bounds(torch.tensor([[0.0, -1.0], [2.0, 1.0]]), margin=0.5) == (-1.0, 3.0, -2.0, 2.0)
    assert data_bounds(torch.tensor([[1.0], [3.0]]), margin=0.0) == (1.0, 3.0, 1.0, 3.0)


# -- gradient norms --------------------------------------------------------------------


def test_layer_grad_norms_per_module_owning_parameters():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2, bias=False), nn.Linear(2, 2))
    model[3].bias.requires_grad_(False)  # a parameter without .grad is skipped
    model(torch.randn(5, 3)).pow(2).sum().backward()
    norms = layer_grad_norms(model)
    assert set(norms) == {"0", "2", "3"}
    for name in norms:
        grads = [p.grad.reshape(-1) for p in model.get_submodule(name).parameters(recurse=False) if p.grad is not None]
        assert norms[name] == pytest.approx(float(torch.linalg.vector_norm(torch.cat(grads))), rel=1e-5)


def test_layer_grad_norms_before_backward_and_for_a_bare_layer():
    layer = nn.Linear(2, 1)
    assert layer_grad_norms(layer) == {}
    layer(torch.ones(1, 2)).sum().backward()
    assert layer_grad_norms(layer) == {"model": pytest.approx(math.sqrt(3))}  # grads 1, 1 and 1
