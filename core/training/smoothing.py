"""Smoothing of noisy training curves: the debiased exponential moving average that
TensorBoard's smoothing slider applies, vectorised so a million points take milliseconds.

The recurrence  s_n = w s_(n-1) + (1 - w) z_n  (s_0 = 0), divided by (1 - w^n) so the first
points are not pulled towards zero, has the closed form

    s_j = w^j s_0 + (1 - w) w^j * sum_(i<=j) w^-i z_i

which is a cumulative sum. w^-i overflows for long inputs, so the input is cut into chunks
short enough that w^-C stays below 1e100; each chunk is computed from its own start and the
state at the end of the previous chunk is carried over. At that chunk length w^C is under
1e-100, so the carry from two chunks back is below float64 precision and one carry suffices.
Non-finite values (NaN, Inf) are passed through and do not change the state, as in
TensorBoard.
"""

from __future__ import annotations

import math

import numpy as np

_LOG_LIMIT = math.log(1e100)


def ema(values: np.ndarray, weight: float) -> np.ndarray:
    """Debiased exponential moving average; weight 0 gives the values back, 0.99 is very
    smooth. Returns a new float64 array of the same length."""
    if not 0 <= weight < 1:
        raise ValueError(f"weight: expected a number from 0 up to (not including) 1, got {weight}")
    values = np.asarray(values, np.float64)
    if values.ndim != 1:
        raise ValueError(f"values: expected a 1-D array, got shape {values.shape}")
    out = values.copy()
    if weight == 0 or values.size == 0:
        return out
    finite = np.isfinite(values)
    z = values[finite]
    if z.size:
        out[finite] = _debiased(z, weight)[0]
    return out


class RunningEma:
    """ema() of an array that only grows (a live training curve): each update smooths only
    the values added since the last one, carrying the state over."""

    def __init__(self, weight: float):
        if not 0 <= weight < 1:
            raise ValueError(f"weight: expected a number from 0 up to (not including) 1, got {weight}")
        self.weight = weight
        self.reset()

    def reset(self) -> None:
        self._out = np.empty(0)
        self._done = 0
        self._state = 0.0  # the moving average before debiasing
        self._count = 0  # finite values seen

    def update(self, values: np.ndarray) -> np.ndarray:
        """The smoothed values of the whole array: a read-only view, valid until the next
        update. An array shorter than the last one starts over."""
        values = np.asarray(values, np.float64)
        if values.size < self._done:
            self.reset()
        n = values.size
        if n > self._out.size:
            grown = np.empty(max(n + n // 4, 2 * self._out.size, 256))
            grown[: self._done] = self._out[: self._done]
            self._out = grown
        tail = values[self._done:]
        smoothed = tail.copy()
        finite = np.isfinite(tail)
        z = tail[finite]
        if z.size and self.weight > 0:
            smoothed[finite], self._state = _debiased(z, self.weight, self._state, self._count)
        self._count += int(z.size)
        self._out[self._done: n] = smoothed
        self._done = n
        view = self._out[:n]
        view.flags.writeable = False
        return view


def _debiased(z: np.ndarray, w: float, state: float = 0.0, count: int = 0) -> tuple[np.ndarray, float]:
    """The debiased average of finite values z after `count` earlier values left the
    average at `state`; also the new state."""
    n = z.size
    chunk = max(1, min(n, int(_LOG_LIMIT / -math.log(w))))
    chunks = -(-n // chunk)
    padded = np.zeros(chunks * chunk)
    padded[:n] = z
    grid = padded.reshape(chunks, chunk)
    j = np.arange(1, chunk + 1, dtype=np.float64)
    grow, shrink = w ** -j, w ** j
    # Each chunk on its own, as if the state before it were 0.
    local = np.cumsum(grid * grow, axis=1) * ((1 - w) * shrink)
    # State at the end of each chunk; w^chunk is negligible unless there is a single chunk.
    ends = local[:, -1].copy()
    ends[0] += (w ** chunk) * state
    if chunks > 1:
        ends[1:] += (w ** chunk) * ends[:-1]
    carried = np.empty(chunks)
    carried[0] = state
    carried[1:] = ends[:-1]
    smoothed = (local + carried[:, None] * shrink).reshape(-1)[:n]
    counts = np.arange(count + 1, count + n + 1, dtype=np.float64)
    return smoothed / -np.expm1(counts * math.log(w)), float(smoothed[-1])
