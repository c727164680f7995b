"""Placing boxes in a row as close as possible to where they want to be, never overlapping.

Minimises sum (x_i - want_i)^2 subject to x_{i+1} - x_i >= gap_i, keeping the order. With
y_i = x_i - (gap_0 + ... + gap_{i-1}) the constraints become y non-decreasing, which is
isotonic regression, solved exactly in linear time by pool-adjacent-violators.
"""

from __future__ import annotations


def spread(want: list[float], gaps: list[float]) -> list[float]:
    """`gaps[i]` is the least distance between centres i and i+1 (len(want) - 1 of them)."""
    offsets = [0.0]
    for g in gaps:
        offsets.append(offsets[-1] + g)
    blocks: list[list[float]] = []  # [sum, count]
    for w, c in zip(want, offsets):
        blocks.append([w - c, 1])
        while len(blocks) > 1 and blocks[-2][0] * blocks[-1][1] > blocks[-1][0] * blocks[-2][1]:
            s, k = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += k
    out: list[float] = []
    for s, k in blocks:
        out.extend([s / k] * k)
    return [y + c for y, c in zip(out, offsets)]
