"""Everything a training run is set up from — dataset, loader, optimizer and loop — as one
checked object that a project file's `training` section stores and a run record repeats.

    "training": {
      "dataset": {"kind": "spirals", "options": {"size": 600, "noise": 0.1}},
      "loader":  {"batch_size": 32, "shuffle": true, "validation_fraction": 0.2, "num_workers": 0, "seed": 0},
      "train":   {"optimizer": "Adam", "lr": 0.01, "epochs": 10, "loss": "cross_entropy", "device": "auto", ...}
    }

Every field is checked on load and a bad one is named by its path (`training.train.lr: ...`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..data.loaders import LoaderSettings
from ..data.spec import DataError, DatasetSpec
from .config import TrainConfig


class SettingsError(ValueError):
    """A training setting is wrong; `path` names it."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path, self.message = path, message


def _fill(cls, data: Any, path: str):
    """A dataclass from a dict: unknown keys refused, types checked against the defaults."""
    if not isinstance(data, dict):
        raise SettingsError(path, "expected a table of settings")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise SettingsError(f"{path}.{unknown[0]}", f"unknown setting (known: {', '.join(known)})")
    default = cls()
    values = {}
    for name, value in data.items():
        expected = getattr(default, name)
        where = f"{path}.{name}"
        if isinstance(expected, bool):
            if not isinstance(value, bool):
                raise SettingsError(where, "expected true or false")
        elif isinstance(expected, int):
            if isinstance(value, bool) or not isinstance(value, int):
                raise SettingsError(where, "expected a whole number")
        elif isinstance(expected, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise SettingsError(where, "expected a number")
            value = float(value)
        elif isinstance(expected, str):
            if not isinstance(value, str):
                raise SettingsError(where, "expected text")
        elif isinstance(expected, dict) and not isinstance(value, dict):
            raise SettingsError(where, "expected a table")
        values[name] = value
    obj = cls(**values)
    try:
        obj.check()
    except ValueError as exc:  # the class's own check names the field first: "lr: expected ..."
        name, _, message = str(exc).partition(": ")
        raise SettingsError(f"{path}.{name}", message or str(exc)) from exc
    return obj


@dataclass
class TrainingSettings:
    dataset: DatasetSpec = field(default_factory=lambda: DatasetSpec("spirals").checked())
    loader: LoaderSettings = field(default_factory=LoaderSettings)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return {"dataset": self.dataset.to_dict(), "loader": asdict(self.loader), "train": self.train.to_dict()}

    @classmethod
    def from_dict(cls, data: Any, path: str = "training") -> TrainingSettings:
        if data is None or data == {}:
            return cls()
        if not isinstance(data, dict):
            raise SettingsError(path, "expected a table with dataset, loader and train")
        unknown = sorted(set(data) - {"dataset", "loader", "train"})
        if unknown:
            raise SettingsError(f"{path}.{unknown[0]}", "unknown section (known: dataset, loader, train)")
        try:
            dataset = DatasetSpec.from_dict(data["dataset"], f"{path}.dataset") if "dataset" in data else cls().dataset
        except DataError as exc:
            raise SettingsError(getattr(exc, "path", f"{path}.dataset"), str(exc).split(": ", 1)[-1]) from exc
        loader = _fill(LoaderSettings, data.get("loader", {}), f"{path}.loader")
        train = _fill(TrainConfig, data.get("train", {}), f"{path}.train")
        return cls(dataset, loader, train)
