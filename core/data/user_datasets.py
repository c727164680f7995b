"""Dataset classes from a user's script: find the ones it defines, build one, and check it
yields (input, target) pairs before training starts, so a mistake is reported with the
class's name and the user's own line instead of a traceback deep inside the DataLoader."""

from __future__ import annotations

import linecache
import numbers
import traceback

import numpy as np
import torch
from torch.utils.data import Dataset, IterableDataset

from .csv_dataset import DataError


def find_datasets(namespace: dict) -> dict[str, type]:
    """The Dataset subclasses the script itself defined (not imported ones), by name, in
    definition order."""
    module = namespace.get("__name__")
    found: dict[str, type] = {}
    for name, obj in namespace.items():
        if (isinstance(obj, type) and issubclass(obj, Dataset) and obj.__module__ == module
                and not obj.__module__.startswith(("torch", "gradstudio")) and obj not in found.values()):
            found[name] = obj
    return found


def instantiate_dataset(cls: type, **kwargs) -> Dataset:
    """`cls(**kwargs)`, checked: a positive length and item 0 an (input, target) pair of
    tensors or numbers."""
    name = getattr(cls, "__name__", repr(cls))
    if not (isinstance(cls, type) and issubclass(cls, Dataset)):
        raise DataError(f"{name} is not a torch.utils.data.Dataset subclass")
    if issubclass(cls, IterableDataset):
        raise DataError(f"{name} is an IterableDataset; training needs a map-style Dataset with __len__ and "
                        "__getitem__ (the train/validation split picks items by index)")
    call = f"{name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"
    dataset = _user_call(cls, call, lambda: cls(**kwargs))
    if getattr(type(dataset), "__len__", None) is None:
        raise DataError(f"{name} has no __len__: define it to return the number of samples")
    size = _user_call(cls, f"len({call})", lambda: len(dataset))
    if size == 0:
        raise DataError(f"{call} is empty: __len__ returned 0")
    item = _user_call(cls, f"{name}[0]", lambda: dataset[0])
    if not isinstance(item, (tuple, list)) or len(item) != 2:
        got = f"a {type(item).__name__} of {len(item)}" if isinstance(item, (tuple, list)) else \
            f"a {type(item).__name__}"
        raise DataError(f"{name}[0] returned {got}; __getitem__ must return a pair (input, target)")
    for role, value in zip(("input", "target"), item):
        if not _is_sample_value(value):
            raise DataError(f"{name}[0]: the {role} is a {type(value).__name__}; expected a tensor or a number")
    return dataset


def _is_sample_value(value) -> bool:
    """What the default collate turns into a batch tensor."""
    return isinstance(value, (torch.Tensor, np.ndarray, np.number)) or (
        isinstance(value, numbers.Real) and not isinstance(value, bool))


def _user_call(cls: type, what: str, fn):
    """Run a call into the user's code; a failure says what was called, the exception, and
    the user's line that raised it."""
    try:
        return fn()
    except Exception as exc:
        where = _user_line(exc, _class_files(cls))
        raise DataError(f"{what} raised {type(exc).__name__}: {exc}{where}") from exc


def _class_files(cls: type) -> set[str]:
    """The files the class's methods were compiled from ("<editor>" for editor text)."""
    files = set()
    for klass in cls.__mro__:
        if klass.__module__.startswith(("torch", "gradstudio", "builtins")):
            continue
        for attr in vars(klass).values():
            code = getattr(getattr(attr, "__func__", attr), "__code__", None)
            if code is not None:
                files.add(code.co_filename)
    return files


def _user_line(exc: BaseException, files: set[str]) -> str:
    """' (at FILE, line N: TEXT)' for the innermost frame in the user's files, or ''."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in files]
    if not frames:
        return ""
    last = frames[-1]
    text = (last.line or linecache.getline(last.filename, last.lineno)).strip()
    return f" (at {last.filename}, line {last.lineno}" + (f": {text})" if text else ")")
