"""Which dataset a run trains on, as plain data that a run config and a project file store:
a built-in generator with its options, a CSV file with chosen columns, or a Dataset class
from the user's script. `from_dict` checks every field and names it when it is wrong, and
`DATASET_KINDS` describes each built-in's options so a form can be drawn from it."""

from __future__ import annotations

import copy
import inspect
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch.utils.data import Dataset

from .csv_dataset import TASKS, DataError, csv_dataset
from .digits import digits
from .synthetic import DATASETS
from .user_datasets import find_datasets, instantiate_dataset


@dataclass(frozen=True)
class DatasetOption:
    """One setting of a built-in dataset, with what a form needs to offer it."""

    name: str
    type: type  # int, float or bool
    default: Any
    label: str
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class DatasetKind:
    """A built-in dataset: its maker, the task it poses, and its options."""

    name: str
    label: str
    task: str  # "classification" or "regression"
    make: Callable[..., Dataset]
    options: tuple[DatasetOption, ...]
    description: str = ""

    def defaults(self) -> dict:
        return {o.name: o.default for o in self.options}


_OPTIONS = {  # (type, label, minimum, maximum); defaults come from the makers' signatures
    "size": (int, "Samples", 2, 100_000),
    "noise": (float, "Noise", 0.0, None),
    "classes": (int, "Classes", 2, 10),
    "factor": (float, "Inner radius", 0.0, 1.0),
    "seed": (int, "Data seed", 0, 2**32 - 1),
    "flatten": (bool, "Flatten to 64 features (off: 1×8×8 images)", None, None),
}
_LABELS = {"spirals": "Spirals", "moons": "Two moons", "circles": "Circles", "xor": "XOR", "blobs": "Blobs",
           "sine": "Sine wave", "polynomial": "Polynomial", "step": "Step", "digits": "Handwritten digits (8×8)"}
_DESCRIPTIONS = {"sine": "y = sin(x) plus noise.", "polynomial": "y = x³ − 0.5·x plus noise.",
                 "step": "y jumps from 0 to 1 at x = 0, plus noise.",
                 "digits": "1797 handwritten digits 0-9 as 8×8 images (UCI, the copy shipped with scikit-learn)."}


def _kind(name: str, make: Callable[..., Dataset], task: str) -> DatasetKind:
    options = []
    for p in inspect.signature(make).parameters.values():
        kind, label, low, high = _OPTIONS[p.name]
        options.append(DatasetOption(p.name, kind, p.default, label, low, high))
    doc = _DESCRIPTIONS.get(name) or (inspect.getdoc(make) or "").split("\n\n")[0].replace("\n", " ")
    return DatasetKind(name, _LABELS[name], task, make, tuple(options), doc)


DATASET_KINDS: dict[str, DatasetKind] = {
    **{name: _kind(name, make, "regression" if name in ("sine", "polynomial", "step") else "classification")
       for name, make in DATASETS.items()},
    "digits": _kind("digits", digits, "classification"),
}
KINDS: tuple[str, ...] = (*DATASET_KINDS, "csv", "user")
_CSV_OPTIONS = ("path", "features", "target", "task")
_USER_OPTIONS = ("class_name", "kwargs")


@dataclass
class DatasetSpec:
    """kind: a DATASET_KINDS name, "csv" (options: path, features, target, task) or "user"
    (options: class_name, kwargs)."""

    kind: str
    options: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "options": copy.deepcopy(self.options)}

    @classmethod
    def from_dict(cls, d: Any, path: str = "training.dataset") -> DatasetSpec:
        """A checked spec with every option filled in; a DataError names the bad field."""
        if not isinstance(d, dict):
            raise DataError(f"{path}: expected a table with 'kind' and 'options', got {type(d).__name__}", path)
        unknown = sorted(set(d) - {"kind", "options"})
        if unknown:
            raise DataError(f"{path}.{unknown[0]}: unknown field (expected 'kind' and 'options')", f"{path}.{unknown[0]}")
        return cls(d.get("kind"), d.get("options", {})).checked(path)

    def checked(self, path: str = "training.dataset") -> DatasetSpec:
        """This spec validated, options completed with defaults (a new spec)."""
        if self.kind not in KINDS:
            raise DataError(f"{path}.kind: expected one of {', '.join(KINDS)}, got {self.kind!r}", f"{path}.kind")
        where = f"{path}.options"
        if not isinstance(self.options, dict):
            raise DataError(f"{where}: expected a table of options, got {type(self.options).__name__}", where)
        if self.kind == "csv":
            return DatasetSpec("csv", _check_csv(self.options, where))
        if self.kind == "user":
            return DatasetSpec("user", _check_user(self.options, where))
        return DatasetSpec(self.kind, _check_builtin(DATASET_KINDS[self.kind], self.options, where))

    def build(self, namespace: dict | None = None, base_dir: str | Path | None = None,
              path: str = "training.dataset") -> Dataset:
        """The dataset itself. A "user" kind needs the namespace of the script that defines
        the class; a relative CSV path is taken from `base_dir` (a project's folder)."""
        spec = self.checked(path)
        options = spec.options
        if spec.kind == "csv":
            file = Path(options["path"]).expanduser()
            if base_dir is not None and not file.is_absolute():
                file = Path(base_dir) / file
            return csv_dataset(file, options["features"], options["target"], options["task"])
        if spec.kind == "user":
            name = options["class_name"]
            if namespace is None:
                raise DataError(f"{path}: the dataset class {name} comes from your script; run the script first "
                                "so its classes are known", path)
            found = find_datasets(namespace)
            if name not in found:
                known = ", ".join(found) or "none"
                raise DataError(f"{path}.options.class_name: the script defines no Dataset class {name!r} "
                                f"(it defines: {known})", f"{path}.options.class_name")
            return instantiate_dataset(found[name], **options["kwargs"])
        try:
            return DATASET_KINDS[spec.kind].make(**options)
        except ValueError as exc:  # a maker's own check, e.g. "size: expected at least 2 samples"
            where = f"{path}.options.{str(exc).split(':')[0]}"
            raise DataError(f"{path}.options.{exc}", where) from exc


def _check_builtin(kind: DatasetKind, options: dict, where: str) -> dict:
    known = {o.name: o for o in kind.options}
    for key in options:
        if key not in known:
            raise DataError(f"{where}.{key}: unknown option for {kind.name} (its options: {', '.join(known)})",
                            f"{where}.{key}")
    out = {}
    for name, option in known.items():
        out[name] = _check_value(option, options.get(name, option.default), f"{where}.{name}")
    if "classes" in out and "size" in out and out["size"] < 2 * out["classes"]:
        raise DataError(f"{where}.size: expected at least 2 samples per class ({2 * out['classes']} for "
                        f"{out['classes']} classes), got {out['size']}", f"{where}.size")
    return out


def _check_value(option: DatasetOption, value: Any, where: str) -> Any:
    if option.type is bool:
        if not isinstance(value, bool):
            raise DataError(f"{where}: expected true or false, got {value!r}", where)
        return value
    integer = option.type is int
    what = "an integer" if integer else "a number"
    low, high = option.minimum, option.maximum
    bounds = (f" from {_show(low)} to {_show(high)}" if low is not None and high is not None
              else f" >= {_show(low)}" if low is not None else f" <= {_show(high)}" if high is not None else "")
    number_like = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number_like or not math.isfinite(value) or (integer and not float(value).is_integer()):
        raise DataError(f"{where}: expected {what}{bounds}, got {value!r}", where)
    if (low is not None and value < low) or (high is not None and value > high):
        raise DataError(f"{where}: expected {what}{bounds}, got {value!r}", where)
    return int(value) if integer else float(value)


def _show(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


def _check_csv(options: dict, where: str) -> dict:
    _no_unknown(options, _CSV_OPTIONS, where, "csv")
    file = options.get("path")
    if not isinstance(file, str) or not file.strip():
        raise DataError(f"{where}.path: expected the CSV file's path, got {file!r}", f"{where}.path")
    features = options.get("features")
    if not isinstance(features, list) or not features:
        raise DataError(f"{where}.features: expected a list of one or more column names, got {features!r}",
                        f"{where}.features")
    for i, column in enumerate(features):
        if not isinstance(column, str) or not column:
            raise DataError(f"{where}.features[{i}]: expected a column name, got {column!r}", f"{where}.features[{i}]")
        if features.index(column) != i:
            raise DataError(f"{where}.features[{i}]: {column!r} is listed twice", f"{where}.features[{i}]")
    target = options.get("target")
    if not isinstance(target, str) or not target:
        raise DataError(f"{where}.target: expected a column name, got {target!r}", f"{where}.target")
    if target in features:
        raise DataError(f"{where}.target: {target!r} is also among the features; a model must not see its answer",
                        f"{where}.target")
    task = options.get("task", "auto")
    if task not in TASKS:
        raise DataError(f"{where}.task: expected one of {', '.join(TASKS)}, got {task!r}", f"{where}.task")
    return {"path": file, "features": list(features), "target": target, "task": task}


def _check_user(options: dict, where: str) -> dict:
    _no_unknown(options, _USER_OPTIONS, where, "user")
    name = options.get("class_name")
    if not isinstance(name, str) or not name.isidentifier():
        raise DataError(f"{where}.class_name: expected the name of a Dataset class, got {name!r}",
                        f"{where}.class_name")
    kwargs = options.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise DataError(f"{where}.kwargs: expected a table of keyword arguments, got {type(kwargs).__name__}",
                        f"{where}.kwargs")
    for key, value in kwargs.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise DataError(f"{where}.kwargs: {key!r} is not a valid argument name", f"{where}.kwargs")
        _check_plain(value, f"{where}.kwargs.{key}")
    return {"class_name": name, "kwargs": copy.deepcopy(kwargs)}


def _check_plain(value: Any, where: str) -> None:
    """Only what a project file can store: numbers, text, true/false, null, lists, tables."""
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise DataError(f"{where}: expected a finite number, got {value!r}", where)
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
        return
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        for k, item in value.items():
            _check_plain(item, f"{where}.{k}")
        return
    raise DataError(f"{where}: a {type(value).__name__} cannot be stored in a project file; use numbers, text, "
                    "lists or tables", where)


def _no_unknown(options: dict, known: tuple[str, ...], where: str, kind: str) -> None:
    for key in options:
        if key not in known:
            raise DataError(f"{where}.{key}: unknown option for {kind} (its options: {', '.join(known)})",
                            f"{where}.{key}")


def suggest_loss(dataset: Dataset) -> str:
    """A LOSSES key that fits the targets: cross_entropy for classes, mse for numbers."""
    task = getattr(dataset, "task", None) or _guess_task(dataset)
    return "mse" if task == "regression" else "cross_entropy"


def _guess_task(dataset: Dataset) -> str:
    target = dataset[0][1]
    if isinstance(target, torch.Tensor):
        return "regression" if target.is_floating_point() else "classification"
    return "regression" if isinstance(target, float) else "classification"


def describe(dataset: Dataset) -> str:
    """One line for a status bar: "spirals: 600 samples, 2 features, 2 classes"."""
    name = getattr(dataset, "name", None) or type(dataset).__name__
    parts = [_count(len(dataset), "sample")]
    x = dataset.x[0] if isinstance(getattr(dataset, "x", None), torch.Tensor) else dataset[0][0]
    shape = tuple(getattr(x, "shape", ()))
    if len(shape) <= 1:
        parts.append(_count(shape[0] if shape else 1, "feature"))
    else:
        parts.append("×".join(map(str, shape)) + " inputs")
    task = getattr(dataset, "task", None) or _guess_task(dataset)
    classes = getattr(dataset, "num_classes", None)
    if task == "classification" and classes:
        parts.append(_count(classes, "class", "classes"))
    else:
        parts.append(task)
    return f"{name}: {', '.join(parts)}"


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"
