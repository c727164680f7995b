"""The walkthrough's own model, batches and SGD, made from what the Training form prepares.

The model is a deep copy, so stepping through the loop never moves the weights the
Training view will train. Batches of 8 come from a DataLoader shuffled with the form's
seed and are kept in a list, so "Back to start" replays exactly the same batches.
"""

from __future__ import annotations

import copy

import torch
from torch.utils.data import DataLoader

from gradstudio.core.walkthrough import TrainingWalkthrough

BATCH_SIZE = 8
BATCHES_KEPT = 16  # iterations before the batches come round again


def sample_batches(dataset, seed: int, batch_size: int = BATCH_SIZE, count: int = BATCHES_KEPT) -> list:
    """The first `count` shuffled batches of `dataset`; a clear error for data a loader cannot batch."""
    try:
        size = len(dataset)
    except TypeError:
        raise ValueError(f"dataset: a {type(dataset).__name__} has no length; expected a map-style Dataset") from None
    if size == 0:
        raise ValueError("dataset: empty; need at least one (input, label) pair")
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(int(seed)))
    batches = []
    try:
        for batch in loader:
            batches.append(batch)
            if len(batches) == count:
                break
    except Exception as exc:  # the user's Dataset or an odd sample: say where it broke
        raise ValueError(f"dataset: could not make batch {len(batches) + 1} of {batch_size} samples: {exc}") from exc
    return batches


def make_walkthrough(prepared, lr: float, *, skip_zero_grad: bool = False, retain_graph: bool = False,
                     repeat_batch: bool = False) -> TrainingWalkthrough:
    """A walkthrough over a copy of the prepared model with plain SGD at `lr`."""
    model = copy.deepcopy(prepared.model)
    train = prepared.settings.train
    batches = sample_batches(prepared.dataset, train.seed)
    return TrainingWalkthrough(model, batches, train.loss, "SGD", lr=lr, skip_zero_grad=skip_zero_grad,
                               retain_graph=retain_graph, repeat_batch=repeat_batch)


def set_lr(walk: TrainingWalkthrough, lr: float) -> None:
    """A new learning rate for the next step (between iterations): the optimizer's own
    param groups, and the rule the step is checked against."""
    if not walk.between_iterations:
        raise ValueError(f"lr: can change only between iterations; iteration {walk.position.iteration} "
                         "is under way")
    walk.lr = float(lr)
    for group in walk.optimizer.param_groups:
        group["lr"] = float(lr)
