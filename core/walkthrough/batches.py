"""Where each iteration's `(images, labels)` comes from: a list, a DataLoader, any iterable.

A list goes round and round; a DataLoader starts a new epoch when it runs out. A one-shot
iterator that runs out is said so in words rather than stopping the lecture with a
bare StopIteration.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


def _check_pair(item, number: int) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(item, (tuple, list)) or len(item) != 2:
        raise ValueError(f"batches: batch {number} is a {type(item).__name__}, expected an (images, labels) pair")
    images, labels = item
    for field, value in (("images", images), ("labels", labels)):
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"batches: batch {number} has {field} of type {type(value).__name__}, expected a tensor")
    if len(images) != len(labels):
        raise ValueError(f"batches: batch {number} has {len(images)} images but {len(labels)} labels")
    return images, labels


class BatchSource:
    """Hands out one checked `(images, labels)` pair per call to `next()`."""

    def __init__(self, batches: Iterable):
        if isinstance(batches, (list, tuple)):
            if not batches:
                raise ValueError("batches: empty; need at least one (images, labels) pair")
            self._items: list | None = list(batches)
        else:
            try:
                iter(batches)
            except TypeError:
                raise ValueError(
                    f"batches: a {type(batches).__name__} is not iterable; pass a list of (images, labels) "
                    "pairs or a DataLoader"
                ) from None
            self._items = None
        self._source = batches
        self.restart()

    def restart(self) -> None:
        """Back to the first batch (a DataLoader starts a new epoch)."""
        self._index = 0
        self._iter = None if self._items is not None else iter(self._source)
        self._handed = 0

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        self._handed += 1
        if self._items is not None:
            item = self._items[self._index % len(self._items)]
            self._index += 1
            return _check_pair(item, self._handed)
        try:
            item = next(self._iter)
        except StopIteration:
            self._iter = iter(self._source)
            if self._iter is self._source:
                raise ValueError("batches: ran out of (images, labels) pairs (a one-shot iterator)") from None
            try:
                item = next(self._iter)
            except StopIteration:
                raise ValueError("batches: empty; need at least one (images, labels) pair") from None
        return _check_pair(item, self._handed)
