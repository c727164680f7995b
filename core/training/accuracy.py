"""Training accuracy, worked out for many steps at once.

Accuracy per step costs four small tensor ops and a wait for the device, which on a small
model is ~5% of the step. Nobody reads it the moment the step ends (the live curves redraw a
few times a second), so a step keeps its outputs and targets and the accuracy of all waiting
steps is computed together, with one wait, when the first of them is read.
"""

from __future__ import annotations

import torch

CLASSES, BINARY = "classes", "binary"


def accuracy_kind(outputs: torch.Tensor, targets: torch.Tensor) -> str | None:
    """What accuracy means for these shapes: class scores against class indices, binary logits
    against 0/1 targets (checked when computed), or nothing (regression)."""
    if outputs.dim() == 2 and targets.dim() == 1 and not targets.is_floating_point():
        return CLASSES
    if outputs.shape == targets.shape and 1 <= outputs.dim() <= 2 and targets.is_floating_point():
        return BINARY
    return None


def accuracies(pairs: list[tuple[torch.Tensor, torch.Tensor]]) -> list[float | None]:
    """The accuracy of each (outputs, targets) pair, computed per group of alike pairs with one
    concatenation and one transfer to the CPU per group."""
    result: list[float | None] = [None] * len(pairs)
    groups: dict[tuple, list[int]] = {}
    for i, (out, tgt) in enumerate(pairs):
        kind = accuracy_kind(out, tgt)
        if kind is not None and tgt.numel():
            key = (kind, out.device, tuple(out.shape[1:]), tgt.dtype, tgt.device)
            groups.setdefault(key, []).append(i)
    for (kind, *_), indices in groups.items():
        outs = torch.cat([pairs[i][0].detach() for i in indices])
        tgts = torch.cat([pairs[i][1] for i in indices])
        sizes = [pairs[i][1].numel() for i in indices]
        if kind == CLASSES:
            hits = outs.argmax(1) == tgts
            counts = _segment_sums(hits.reshape(1, -1), sizes)[0]
            valid = [True] * len(indices)
        else:
            hits = (outs > 0).to(tgts.dtype) == tgts
            not_binary = ~((tgts == 0) | (tgts == 1))
            both = _segment_sums(torch.stack([hits.reshape(-1), not_binary.reshape(-1)]), sizes)
            counts, valid = both[0], [bad == 0 for bad in both[1]]
        for i, size, count, ok in zip(indices, sizes, counts, valid):
            result[i] = count / size if ok else None
    return result


def batch_accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> float | None:
    """The accuracy of one batch (None when the task has none)."""
    return accuracies([(outputs, targets)])[0]


def _segment_sums(rows: torch.Tensor, sizes: list[int]) -> list[list[int]]:
    """For each row of `rows` (R × sum(sizes) flags), its sums over consecutive segments of the
    given sizes, as Python numbers (the one transfer to the CPU)."""
    rows = rows.to(torch.int64)
    if len(set(sizes)) == 1:
        sums = rows.view(rows.shape[0], len(sizes), sizes[0]).sum(2)
    else:
        ids = torch.repeat_interleave(torch.arange(len(sizes), device=rows.device),
                                      torch.tensor(sizes, device=rows.device))
        sums = torch.zeros(rows.shape[0], len(sizes), dtype=torch.int64, device=rows.device).index_add_(1, ids, rows)
    return sums.tolist()


class PendingAccuracy:
    """Steps whose accuracy is still a pair of tensors. Reading any of them resolves them all;
    past `limit` waiting steps they are resolved anyway, so memory stays bounded."""

    def __init__(self, limit: int = 64):
        self.limit = limit
        self._waiting: list[tuple[object, torch.Tensor, torch.Tensor]] = []

    def add(self, metrics, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        if accuracy_kind(outputs, targets) is None:
            metrics._accuracy = None
            return
        metrics._pending = self
        self._waiting.append((metrics, outputs.detach(), targets))
        if len(self._waiting) >= self.limit:
            self.resolve()

    def resolve(self) -> None:
        waiting, self._waiting = self._waiting, []
        if not waiting:
            return
        values = accuracies([(out, tgt) for _, out, tgt in waiting])
        for (metrics, _, _), value in zip(waiting, values):
            metrics._accuracy, metrics._pending = value, None
