"""Snapshot statistics against float64 arithmetic, in the regimes where the fast sums could
go wrong: a mean that dwarfs the spread, constants, huge values, NaN and Inf, low precision."""

from __future__ import annotations

import math

import pytest
import torch

from gradstudio.core.capture import TensorStats


def _reference(t: torch.Tensor) -> dict:
    flat = t.detach().reshape(-1).double()
    finite = flat[torch.isfinite(flat)]
    n = finite.numel()
    return {
        "min": float(finite.min()),
        "max": float(finite.max()),
        "mean": float(finite.mean()),
        "std": float(finite.std()) if n > 1 else 0.0,
        "norm": float(finite.norm()),
        "nan_count": int(torch.isnan(flat).sum()),
        "inf_count": int(torch.isinf(flat).sum()),
    }


def _check(t: torch.Tensor, rel: float = 1e-4) -> TensorStats:
    got, want = TensorStats.of(t), _reference(t)
    for field in ("min", "max", "mean", "std", "norm"):
        scale = max(abs(want["mean"]), want["std"], 1e-30)
        tolerance = rel * (scale if field == "mean" else max(abs(want[field]), 1e-30))
        assert getattr(got, field) == pytest.approx(want[field], abs=tolerance), field
    assert (got.nan_count, got.inf_count, got.numel) == (want["nan_count"], want["inf_count"], t.numel())
    return got


@pytest.mark.parametrize("shape", [(7,), (64, 300), (8, 64, 512)])
def test_activations_and_gradients(shape):
    torch.manual_seed(0)
    _check(torch.randn(shape) * 0.02 + 0.01)
    _check(torch.relu(torch.randn(shape)))


@pytest.mark.parametrize("mean", [10.0, 1e3, 1e5])
def test_a_mean_far_above_the_spread_keeps_the_spread_exact(mean):
    """The raw sum of squares would cancel here: std must still be the spread's."""
    torch.manual_seed(1)
    t = torch.randn(100_000) * 0.5 + mean
    got = _check(t, rel=1e-3)
    assert got.std == pytest.approx(float(t.double().std()), rel=1e-3)


def test_constants_have_no_spread():
    s = _check(torch.ones(4096))
    assert s.std == 0.0 and s.norm == pytest.approx(64.0)
    assert TensorStats.of(torch.full((10,), -3.5)).std == 0.0


def test_one_value_and_empty_tensors():
    s = TensorStats.of(torch.tensor([2.5]))
    assert (s.min, s.max, s.mean, s.std, s.norm) == (2.5, 2.5, 2.5, 0.0, 2.5)
    empty = TensorStats.of(torch.empty(0, 3))
    assert empty.numel == 0 and empty.norm == 0.0 and math.isnan(empty.mean)


def test_values_whose_squares_overflow_float32():
    t = torch.tensor([3e38, -3e38, 1e38, 2e38])
    _check(t)


def test_nan_and_inf_are_counted_and_left_out():
    t = torch.tensor([1.0, float("nan"), 2.0, float("inf"), -float("inf"), 3.0, float("nan")])
    s = _check(t)
    assert (s.nan_count, s.inf_count) == (2, 2)
    only_nan = TensorStats.of(torch.full((3,), float("nan")))
    assert only_nan.nan_count == 3 and math.isnan(only_nan.mean)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64, torch.int64, torch.bool])
def test_other_dtypes(dtype):
    torch.manual_seed(2)
    t = (torch.randn(1000) * 4).to(dtype)
    _check(t, rel=1e-3)


def test_non_contiguous_and_complex_tensors():
    torch.manual_seed(3)
    _check(torch.randn(64, 32).t()[::2])
    z = torch.randn(100, dtype=torch.complex64)
    s = TensorStats.of(z)
    assert s.mean == pytest.approx(float(z.abs().double().mean()), rel=1e-5)
