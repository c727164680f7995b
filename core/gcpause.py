"""Pausing or slowing Python's cyclic garbage collector while building many small objects
that all stay alive.

Building a graph or a scene allocates tens of thousands of objects that all stay alive;
each allocation burst triggers full collections that scan everything the tape holds, which
made the same build take 10 ms or 90 ms depending on luck. Collection resumes afterwards.
A recording runs the user's code, so it only slows collection (`gc_relaxed`): the youngest
generation is collected every 100,000 allocations instead of 700, which bounds what cyclic
garbage the user's code can pile up and saved ~3 ms of the transformer's ~25 ms recording
overhead (`benchmarks/capture.py`).
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager


@contextmanager
def gc_paused():
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_relaxed = 0  # recordings under way (several threads may record at once)
_saved: tuple[int, int, int] | None = None
_lock = threading.Lock()


def relax_gc(gen0: int = 100_000) -> None:
    """Collect the youngest generation every `gen0` allocations until `restore_gc()`."""
    global _relaxed, _saved
    with _lock:
        if _relaxed == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(max(gen0, _saved[0]), *_saved[1:])
        _relaxed += 1


def restore_gc() -> None:
    """Undo one `relax_gc()`; the thresholds come back when the last one is undone."""
    global _relaxed
    with _lock:
        _relaxed -= 1
        if _relaxed == 0 and _saved is not None:
            gc.set_threshold(*_saved)


@contextmanager
def gc_relaxed(gen0: int = 100_000):
    relax_gc(gen0)
    try:
        yield
    finally:
        restore_gc()
