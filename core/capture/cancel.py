"""Stopping a recording from another thread.

The recorder checks the flag at every torch call, a safe point between two calls; a
pure-Python loop that makes no torch call is stopped by an exception raised asynchronously
in its thread (see `gradstudio.core.runner.CancelToken`).
"""

from __future__ import annotations


class RunCancelled(KeyboardInterrupt):
    """Raised inside the user's code when the run is cancelled."""
