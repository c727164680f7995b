"""Pausing Python's cyclic garbage collector while building many small objects at once.

Building a graph or a scene allocates tens of thousands of objects that all stay alive;
each allocation burst triggers full collections that scan everything the tape holds, which
made the same build take 10 ms or 90 ms depending on luck. Collection resumes afterwards.
"""

from __future__ import annotations

import gc
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
