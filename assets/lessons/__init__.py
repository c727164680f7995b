"""Lesson scripts for the seed lecture's slides, in order."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Lesson:
    key: str  # file stem, e.g. "02_power"
    title: str
    summary: str

    @property
    def source(self) -> str:
        return resources.files(__name__).joinpath(f"{self.key}.py").read_text(encoding="utf-8")

    @property
    def filename(self) -> str:
        return f"<lesson {self.key}>"


LESSONS = [
    Lesson("01_basics", "Basics: tensors and backward", "Tensors like numpy arrays; backward() fills .grad."),
    Lesson("02_power", "Modules: the Power module", "Subclass nn.Module, define forward, call it."),
    Lesson("03_submodules", "Sub-modules: blocks inside blocks", "Residual blocks, stages, a cascade of stages."),
    Lesson("04_rnn", "Dynamic graphs: a variable-length RNN", "A Python loop: the graph is as long as the input."),
    Lesson("05_random_depth", "Dynamic graphs: random depth, shared weights", "1 to 4 layers per pass, one weight."),
    Lesson("06_training_loop", "Training: the loop, twice", "zero_grad, forward, loss, backward, step."),
]

DEFAULT_LESSON = LESSONS[1]


def lesson(key: str) -> Lesson:
    for item in LESSONS:
        if item.key == key:
            return item
    raise KeyError(f"no lesson {key!r}; lessons: {', '.join(i.key for i in LESSONS)}")
