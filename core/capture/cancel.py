"""Stopping a recording from another thread.

The recorder checks the flag at every torch call, a safe point between two calls; a
pure-Python loop that makes no torch call is stopped by an exception raised asynchronously
in its thread (see `gradstudio.core.runner.CancelToken`).

User code may catch the exception (`try: ... except BaseException: pass` around a torch
call). So when the recorder raises it, it also arms a trap: the next line of user code that
runs raises it again. That line is the handler's own (`pass`), and an exception raised in
a handler leaves its `try`. Python removes a trace function that raises, so the trap fires
once per arming; the recorder re-arms it at every torch call until the run has stopped.
"""

from __future__ import annotations

import sys

from .source import is_user_file


class RunCancelled(KeyboardInterrupt):
    """Raised inside the user's code when the run is cancelled."""


def _is_user(frame) -> bool:
    return is_user_file(frame.f_code.co_filename)


def _trap(frame, event, arg):
    if not _is_user(frame):
        return None  # no line events for this frame
    if event == "line":
        raise RunCancelled("run cancelled")
    return _trap


class CancelTrap:
    """Arms and disarms the trap on the recording thread."""

    def __init__(self):
        self._armed_frames: list = []
        self._previous = None
        self._armed = False

    def arm(self, frame) -> None:
        """Trap the user's frames from `frame` outwards, and the ones they call."""
        if not self._armed:
            self._previous = sys.gettrace()
            self._armed = True
        while frame is not None:
            if _is_user(frame):
                frame.f_trace = _trap
                frame.f_trace_lines = True
                self._armed_frames.append(frame)
            frame = frame.f_back
        sys.settrace(_trap)

    def disarm(self) -> None:
        """The recording stopped: the thread's code runs on untouched."""
        if not self._armed:
            return
        for frame in self._armed_frames:
            frame.f_trace = None
        self._armed_frames.clear()
        sys.settrace(self._previous)
        self._previous = None
        self._armed = False
