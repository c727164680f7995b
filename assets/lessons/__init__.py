"""Lesson scripts for the seed lecture's slides, in the lecture's order.

Each lesson is a script the app records, a short explanation in the lecturer's words for
the Lesson panel, the view it is best seen in, and the dataset it is about (if any). Keys
are file stems and never change once published (`--lesson 02_power`, saved settings);
the order of the lecture is the order of `LESSONS`, not of the keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

VIEWS = ("graph", "walkthrough", "compare", "training", "runs")


@dataclass(frozen=True)
class Lesson:
    key: str  # file stem, e.g. "02_power"
    title: str
    summary: str
    explanation: str = ""  # rich text for the Lesson panel, 3-6 sentences
    view: str = "graph"  # one of VIEWS: where the lesson is best seen
    dataset: str | None = None  # a dataset kind name (gradstudio.core.data.DATASET_KINDS)
    section: str = ""  # the slide section it belongs to

    def __post_init__(self) -> None:
        if self.view not in VIEWS:
            raise ValueError(f"lesson {self.key}: view {self.view!r} is not one of {', '.join(VIEWS)}")

    @property
    def source(self) -> str:
        return resources.files(__name__).joinpath(f"{self.key}.py").read_text(encoding="utf-8")

    @property
    def filename(self) -> str:
        return f"<lesson {self.key}>"


LESSONS = [
    Lesson(
        "01_basics", "Basics: tensors and backward", "Tensors like numpy arrays; backward() fills .grad.",
        "A tensor behaves like a numpy array: index it, multiply it, sum it, and the numbers are there at once. "
        "Mark a leaf with <code>requires_grad=True</code> and every operation on it leaves a node in a graph "
        "&mdash; the graph you see growing here. "
        "<code>loss.backward()</code> walks that graph in reverse and fills <code>x.grad</code> and "
        "<code>w.grad</code>. "
        "Nothing is declared in advance: each line runs when you call it.",
        section="Basics",
    ),
    Lesson(
        "02_power", "Modules: the Power module", "Subclass nn.Module, define forward, call it.",
        "The unit of every network is a module. Subclass <code>nn.Module</code>, call the superclass's "
        "<code>__init__</code>, keep what you need as attributes, and write <code>forward</code>; autograd "
        "works out the backward for you. "
        "Make an instance once, then call it on a tensor like a function: no sessions, placeholders or feed dicts. "
        "Calling it builds the graph, so you can backpropagate through the <code>Power</code> module like "
        "through anything else.",
        section="Modules",
    ),
    Lesson(
        "03_submodules", "Sub-modules: blocks inside blocks", "Residual blocks, stages, a cascade of stages.",
        "A module assigned inside another module is registered automatically, and the parent's parameters "
        "include all of its children's. "
        "That makes a network a hierarchy: a residual block of two convolutions, a stage of equal blocks, "
        "a net cascading stages of different widths. "
        "Each box drawn around nodes is one module call, labelled with its path. "
        "Double-click a box to fold it into a single node.",
        section="Sub-modules",
    ),
    Lesson(
        "07_data", "Data: Dataset and DataLoader", "A Dataset with __getitem__, batches from a DataLoader.",
        "Data comes through <code>torch.utils.data</code>. "
        "A <code>Dataset</code> only needs <code>__len__</code> and <code>__getitem__</code>; this one serves "
        "points of two interleaved spirals. "
        "A <code>DataLoader</code> turns it into shuffled batches, with worker processes if you ask for them "
        "&mdash; watch it call <code>__getitem__</code> once per sample. "
        "One batch then goes through a small model and backward, exactly one step of training. "
        "For several GPUs, <code>nn.DataParallel(model)</code> is the one line to add.",
        dataset="spirals", section="Data",
    ),
    Lesson(
        "06_training_loop", "Training: the loop, twice", "zero_grad, forward, loss, backward, step.",
        "Training is a plain Python loop over a <code>DataLoader</code>. "
        "The optimizer is made from the net's parameters; the forward pass to the loss builds the graph. "
        "<code>zero_grad()</code> comes first because <code>backward()</code> adds into <code>.grad</code> "
        "instead of overwriting it. "
        "<code>backward()</code> fills the gradient of every leaf and frees the graph it walked; "
        "<code>step()</code> then moves the weights along those gradients.",
        view="walkthrough", section="Training",
    ),
    Lesson(
        "04_rnn", "Dynamic graphs: a variable-length RNN", "A Python loop: the graph is as long as the input.",
        "In PyTorch the computation <em>is</em> the run: the graph is built anew every time the model is called, "
        "and gradients are computed on it as it stands. "
        "An RNN fed a longer sequence simply builds a longer graph, one cell per element, from an ordinary "
        "<code>for</code> loop. "
        "Run the lesson again (Ctrl+Shift+R): the length changes, and the graph with it. "
        "The program reads top to bottom, so you debug it like any Python program.",
        section="Dynamic graphs",
    ),
    Lesson(
        "05_random_depth", "Dynamic graphs: random depth, shared weights", "1 to 4 layers per pass, one weight.",
        "Dynamic graphs allow models a static graph cannot express. "
        "This one applies between one and four linear layers, drawn at random on every pass, and all of them "
        "share one weight. "
        "Run it again and the depth changes; new nodes are marked. "
        "The shared weight's gradient collects a contribution from every use.",
        section="Dynamic graphs",
    ),
    Lesson(
        "08_static_graphs", "Some problems: static graphs", "A branch on the data: two inputs, two paths.",
        "The price of dynamic graphs: a framework cannot optimise or compile ahead a graph whose operations "
        "are only known as the program runs. "
        "Here <code>forward</code> branches on <code>x.sum()&nbsp;&gt;&nbsp;0</code>: the positive input takes one path, "
        "the negative input the other, and the tape shows both. "
        "A tracer that records one run would keep a single branch and silently apply it to every input. "
        "The JIT (today <code>torch.compile</code> and <code>torch.export</code>) recovers static graphs "
        "where the code allows it.",
        view="compare", section="Some problems",
    ),
    Lesson(
        "09_tracking_runs", "Tracking runs: config, machine, metrics", "Every run stored, to compare later.",
        "Keep everything about every run: the configuration, the machine it ran on, the metrics it produced. "
        "This script trains on the spirals for a few steps and stores the run &mdash; config, machine and the loss "
        "of each step &mdash; in the run database. "
        "The Runs view lists such runs side by side: run the lesson again for another learning rate, and compare "
        "the two without writing any plotting code. "
        "None of this depends on the model: it is about the workflow.",
        view="runs", dataset="spirals", section="Tracking runs",
    ),
]

DEFAULT_LESSON = LESSONS[1]


def lesson(key: str) -> Lesson:
    for item in LESSONS:
        if item.key == key:
            return item
    raise KeyError(f"no lesson {key!r}; lessons: {', '.join(i.key for i in LESSONS)}")


def lesson_for_filename(filename: str) -> Lesson | None:
    """The lesson whose script the session shows (`<lesson 02_power>`), if any."""
    return next((item for item in LESSONS if item.filename == filename), None)
