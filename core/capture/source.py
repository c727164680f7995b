"""Where in the user's code a torch call came from.

Walks `sys._getframe()` outwards to the first frame that is neither PyTorch's nor the
recorder's own. A frame walk costs a few microseconds; `traceback.extract_stack` costs ten
times more, so it is avoided. Whether a file is internal is cached per file name.
"""

from __future__ import annotations

import contextlib
import linecache
import os
import sys
from dataclasses import dataclass, field
from types import FrameType

import torch

# PyTorch itself, the recorder, and contextlib (whose frames sit between `with` and us).
_INTERNAL_DIRS = (
    os.path.dirname(torch.__file__) + os.sep,
    os.path.dirname(os.path.abspath(__file__)) + os.sep,
)
_INTERNAL_FILES = {contextlib.__file__}
_internal_cache: dict[str, bool] = {}


def _is_internal(filename: str) -> bool:
    hit = _internal_cache.get(filename)
    if hit is None:
        hit = filename.startswith(_INTERNAL_DIRS) or filename in _INTERNAL_FILES
        _internal_cache[filename] = hit
    return hit


# Library code, for naming the user's line of an error and stopping the user's code: PyTorch,
# gradstudio's core, the standard library. (Wider than `_is_internal`, which must still
# show a lesson's module from gradstudio.core.examples as the line an op ran on.)
_LIBRARY_DIRS = (
    os.path.dirname(torch.__file__) + os.sep,
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep,
    os.path.dirname(os.__file__) + os.sep,
)
_user_file_cache: dict[str, bool] = {}


def is_user_file(filename: str) -> bool:
    """The file is the user's code (a script, the editor's `<editor>`, their own modules)."""
    hit = _user_file_cache.get(filename)
    if hit is None:
        hit = _user_file_cache[filename] = not filename.startswith(_LIBRARY_DIRS)
    return hit


@dataclass(frozen=True)
class SourceLocation:
    """A line of user code: file, line number and the function it is in."""

    filename: str
    lineno: int
    function: str
    # the line as it read when recorded: the file may be edited (or the tape pickled) later
    line: str | None = field(default=None, compare=False)

    @property
    def text(self) -> str:
        if self.line is not None:
            return self.line
        return linecache.getline(self.filename, self.lineno).rstrip("\n")

    def context(self, before: int = 2, after: int = 2) -> list[tuple[int, str]]:
        """The lines around this one, as (line number, text) pairs."""
        first = max(1, self.lineno - before)
        lines = []
        for n in range(first, self.lineno + after + 1):
            text = linecache.getline(self.filename, n)
            if not text and n > self.lineno:
                break
            lines.append((n, text.rstrip("\n")))
        return lines

    def __str__(self) -> str:
        return f"{os.path.basename(self.filename)}:{self.lineno}"


def user_frame(skip: int = 1) -> FrameType | None:
    """The innermost frame outside torch and the recorder."""
    f = sys._getframe(skip)
    while f is not None and _is_internal(f.f_code.co_filename):
        f = f.f_back
    return f


# PyTorch's own set-up of a module (`nn.Linear(...)` filling its weights): not the user's work.
# Only torch.nn's: other constructors compute (`distributions.Normal` broadcasts its
# arguments, and those nodes are part of the user's graph).
# Lazy modules (`nn.LazyLinear`) make their parameters on the first forward: set-up too.
_SETUP_FUNCTIONS = frozenset(
    {"__init__", "reset_parameters", "_reset_parameters", "_init_weights", "materialize", "initialize_parameters"}
)
_NN_DIR = os.path.join(os.path.dirname(torch.__file__), "nn") + os.sep
_setup_code_cache: dict = {}


def _is_setup(code) -> bool:
    hit = _setup_code_cache.get(code)
    if hit is None:
        name = code.co_filename
        hit = name.startswith(_NN_DIR) and (code.co_name in _SETUP_FUNCTIONS or name.endswith(os.sep + "init.py"))
        _setup_code_cache[code] = hit
    return hit


_location_cache: dict[tuple, SourceLocation] = {}

SETUP = object()  # returned by user_location for calls made by PyTorch's module set-up


def user_location(skip: int = 2):
    """The user's line that led to this call; `SETUP` when PyTorch's module construction
    made it; None when no user frame exists."""
    f = sys._getframe(skip)
    while f is not None and _is_internal(f.f_code.co_filename):
        if _is_setup(f.f_code):
            return SETUP
        f = f.f_back
    if f is None:
        return None
    code = f.f_code
    key = (code, f.f_lineno)
    loc = _location_cache.get(key)
    if loc is None:
        filename, lineno = code.co_filename, f.f_lineno
        loc = SourceLocation(filename, lineno, code.co_name, linecache.getline(filename, lineno).rstrip("\n"))
        if len(_location_cache) < 100_000:
            _location_cache[key] = loc
    return loc


def register_source(filename: str, source: str) -> None:
    """Make code run from a string (the editor, a lesson) visible to `linecache`."""
    lines = source.splitlines(keepends=True)
    linecache.cache[filename] = (len(source), None, lines, filename)
