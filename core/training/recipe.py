"""A run described as data: model, dataset, loader and training settings, where to store it.

The app builds one on the GUI thread (so a bad setting is reported at once) and hands it,
pickled, to a separate training process, or to a TrainingJob on a thread of its own
process when it cannot be pickled. The separate process is the default: Qt keeps Python's
interpreter lock while it paints, so live plots in the same process would slow training
down (see `benchmarks/README.md`). Classes typed into the editor live in the script's
namespace, not in an importable module, so plain pickle cannot name them; cloudpickle sends
them by value (their code, and the globals they use). What even that cannot pickle (a
model holding a lock or an open file) keeps the run in the app's process, and
`pickle_recipe` says why.
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
    """The recipe as bytes for the training process (plain pickle, or cloudpickle for what the
    script defined); raises ValueError naming the part that cannot travel, and why."""
    try:
        return pickle.dumps(recipe, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - pickle raises many kinds; cloudpickle is the second try
        pass
    import cloudpickle

    try:
        return cloudpickle.dumps(recipe, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as whole:  # noqa: BLE001 - find the part to name
        for f in fields(recipe):
            try:
                cloudpickle.dumps(getattr(recipe, f.name), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # noqa: BLE001
                part = PARTS.get(f.name, f.name)
                raise ValueError(f"the {part} ({type(getattr(recipe, f.name)).__name__}) cannot be pickled: "
                                 f"{exc}") from exc
        raise ValueError(f"the run cannot be sent to a training process: {whole}") from whole
