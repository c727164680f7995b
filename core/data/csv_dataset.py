"""A user's CSV file as a training dataset: chosen feature columns and one target column.

Read with the csv module (no pandas). Every problem is a `DataError` that names the file,
the column and the row as a spreadsheet numbers it (the header is row 1), so a user can
open the file and fix that cell.
"""

from __future__ import annotations

import csv
import gzip
import math
from pathlib import Path

import torch

from .synthetic import Regression, TensorPairs

TASKS = ("auto", "classification", "regression")
MAX_AUTO_CLASSES = 20  # "auto": integer targets with at most this many distinct values are classes
_DELIMITERS = (",", ";", "\t")


class DataError(ValueError):
    """Bad training data or a bad dataset description; `path` is the field it concerns
    ("training.dataset.options.noise") when it comes from a config, else None."""

    def __init__(self, message: str, path: str | None = None):
        super().__init__(message)
        self.path = path


def read_csv_columns(path: str | Path) -> list[str]:
    """The header's column names, for a column picker."""
    header, _, _ = _open_table(Path(path))
    return header


def csv_dataset(path: str | Path, features: list[str], target: str, task: str = "auto") -> TensorPairs | Regression:
    """Features as float32 [N, F]; targets as class indices (long [N], names in `.classes`,
    sorted) for classification, float32 [N, 1] for regression."""
    path = Path(path)
    name = path.name
    if task not in TASKS:
        raise DataError(f"task: expected one of {', '.join(TASKS)}, got {task!r}")
    features = list(features)
    if not features:
        raise DataError(f"{name}: choose at least one feature column")
    duplicates = sorted({f for f in features if features.count(f) > 1})
    if duplicates:
        raise DataError(f"{name}: feature column {duplicates[0]!r} is chosen twice")
    if target in features:
        raise DataError(f"{name}: column {target!r} is both the target and a feature; a model must not see its answer")
    header, rows, delimiter = _open_table(path)
    known = ", ".join(repr(h) for h in header)
    for column in [*features, target]:
        if column not in header:
            raise DataError(f"{name}: no column {column!r}; the columns are {known}")
    f_index = [header.index(f) for f in features]
    t_index = header.index(target)

    x_rows: list[list[float]] = []
    targets: list[tuple[int, str]] = []
    for row_number, row in rows:
        if len(row) != len(header):
            raise DataError(f"{name}, row {row_number}: {len(row)} values but the header has {len(header)} columns"
                            + (f" (the values are separated by {delimiter!r})" if len(row) == 1 else ""))
        x_rows.append([_number(name, row_number, header[i], row[i]) for i in f_index])
        value = row[t_index].strip()
        if not value:
            raise DataError(f"{name}, row {row_number}, column {target!r}: the target is empty")
        targets.append((row_number, value))
    if not x_rows:
        raise DataError(f"{name}: the header has no data rows under it")

    numeric = {value: _maybe_number(value) for _, value in targets}
    if task == "auto":
        task = "classification" if _looks_like_classes(numeric) else "regression"
    x = torch.tensor(x_rows, dtype=torch.float32)
    stem = path.name.removesuffix(".gz").removesuffix(".csv")
    if task == "regression":
        for row_number, value in targets:
            if numeric[value] is None:
                raise DataError(f"{name}, row {row_number}, column {target!r}: {value!r} is not a number "
                                "(a regression target must be numeric; choose task 'classification' for labels)")
        y = torch.tensor([[numeric[v]] for _, v in targets], dtype=torch.float32)
        dataset: TensorPairs = Regression(x, y, stem)
    else:
        label = _class_labels(numeric)
        all_numbers = all(v is not None for v in numeric.values())
        classes = sorted(set(label.values()), key=(lambda c: float(c)) if all_numbers else None)
        if len(classes) < 2:
            raise DataError(f"{name}, column {target!r}: every row has the same target {classes[0]!r}; "
                            "a classifier needs at least two classes")
        index = {c: i for i, c in enumerate(classes)}
        y = torch.tensor([index[label[v]] for _, v in targets], dtype=torch.long)
        dataset = TensorPairs(x, y, stem)
        dataset.classes = classes
    dataset.features, dataset.target = features, target
    return dataset


def _open_table(path: Path) -> tuple[list[str], list[tuple[int, list[str]]], str]:
    """(header, [(row number, cells)] without blank rows, delimiter)."""
    name = path.name
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a CSV file")
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
        text = raw.decode("utf-8-sig")
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"{name}: not UTF-8 text (byte {exc.start}); save it as CSV UTF-8") from exc
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), None)
    if first is None:
        raise DataError(f"{name}: the file is empty")
    delimiter = max(_DELIMITERS, key=first.count) if any(d in first for d in _DELIMITERS) else ","
    reader = csv.reader(lines, delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise DataError(f"{name}, row {reader.line_num}: {exc}") from exc
    if not rows:
        raise DataError(f"{name}: the file is empty")
    header_row, header = rows[0][0], [cell.strip() for cell in rows[0][1]]
    if all(_maybe_number(cell) is not None for cell in header):
        raise DataError(f"{name}: row {header_row} holds numbers, not column names; "
                        "the first row must be a header naming the columns")
    for i, column in enumerate(header):
        if not column:
            raise DataError(f"{name}: column {i + 1} of the header has no name")
        if header.index(column) != i:
            raise DataError(f"{name}: two columns are named {column!r}")
    return header, rows[1:], delimiter


def _number(name: str, row_number: int, column: str, cell: str) -> float:
    value = _maybe_number(cell)
    if value is None:
        shown = cell.strip()
        problem = "is empty (missing values are not supported: fill or drop the row)" if not shown else \
            f"{shown!r} is not a number"
        raise DataError(f"{name}, row {row_number}, column {column!r}: {problem}")
    return value


def _maybe_number(cell: str) -> float | None:
    """A finite float, or None for text, empty cells, NaN and infinities."""
    try:
        value = float(cell.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _looks_like_classes(numeric: dict[str, float | None]) -> bool:
    """String labels, or few distinct integer values."""
    values = list(numeric.values())
    if any(v is None for v in values):
        return True
    return all(v.is_integer() for v in values) and len({v for v in values}) <= MAX_AUTO_CLASSES


def _class_labels(numeric: dict[str, float | None]) -> dict[str, str]:
    """Each target text's class name: "1", "1.0" and " 1" are one class when all labels are
    numbers; otherwise the text itself."""
    if any(v is None for v in numeric.values()):
        return {text: text for text in numeric}
    canonical: dict[float, str] = {}
    for text, value in numeric.items():
        canonical.setdefault(value, str(int(value)) if value.is_integer() else text)
    return {text: canonical[value] for text, value in numeric.items()}
