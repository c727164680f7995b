"""A run described as data: model, dataset, loader and training settings, where to store it.

The app builds one on the GUI thread (so a bad setting is reported at once) and hands it
either to a TrainingJob on a thread of its own process or, pickled, to a separate training
process. The separate process is the default: Qt keeps Python's interpreter lock while it
paints, so live plots in the same process would slow training down (see
`benchmarks/README.md`). Something that cannot be pickled (a class typed into the editor,
which lives in the script's namespace and not in an importable module) keeps the run in the
app's process, and `separate_process_problem` says why.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from torch import nn
from torch.utils.data import Dataset

from ..data import LoaderSettings, make_loaders
from .config import TrainConfig

PARTS = {"model": "model", "dataset": "dataset", "probe": "prediction plot", "run_config": "run description"}


@dataclass
class TrainingRecipe:
    model: nn.Module
    dataset: Dataset
    loader: LoaderSettings
    train: TrainConfig
    store_path: str | None = None  # None: the run is not stored
    run_name: str = ""
    run_config: dict = field(default_factory=dict)
    probe: Callable[[nn.Module], Any] | None = None  # what the model predicts, for the live plot
    resume_from: str | None = None  # a checkpoint file
    start_paused: bool = False

    def loaders(self):
        return make_loaders(self.dataset, self.loader)

    def job(self, *, store=None, series=None, on_state=None, loaders=None):
        """The TrainingJob this recipe describes (its loaders made here unless given)."""
        from .job import TrainingJob

        train_loader, val_loader = loaders or self.loaders()
        return TrainingJob(self.model, train_loader, val_loader, self.train, store=store, run_name=self.run_name,
                           run_config=self.run_config, series=series, probe=self.probe,
                           resume_from=self.resume_from, on_state=on_state, start_paused=self.start_paused)


def pickle_recipe(recipe: TrainingRecipe) -> bytes:
    """The recipe as bytes for the training process; raises ValueError naming the part that
    cannot travel (and why) when it cannot."""
    try:
        return pickle.dumps(recipe, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as whole:
        for f in fields(recipe):
            try:
                pickle.dumps(getattr(recipe, f.name), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as exc:
                raise ValueError(_explain(f.name, getattr(recipe, f.name), exc)) from exc
        raise ValueError(f"the run cannot be sent to a training process: {whole}") from whole


def separate_process_problem(recipe: TrainingRecipe) -> str | None:
    """None when the recipe can go to a training process, else why not, in words."""
    try:
        pickle_recipe(recipe)
    except ValueError as exc:
        return str(exc)
    return None


def _explain(name: str, value: object, exc: Exception) -> str:
    part = PARTS.get(name, name)
    cls = type(value)
    if cls.__module__ == "__main__" or "__main__" in str(exc):
        return f"the {part} ({cls.__name__}, or a class it uses) is defined in the script, not in an importable module"
    return f"the {part} cannot be pickled: {exc}"
