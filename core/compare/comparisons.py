"""What the "Dynamic vs static" view shows for each scenario, computed off the GUI thread.

Plain Python and torch, no Qt: each function records the dynamic run(s), takes the static
capture (torch.export or torch.jit.trace), matches them and returns a `Comparison`: tapes,
the static graph ready to draw, and the sentences and numbers to read. The ready-made
scenarios of `gradstudio.core.compare` provide the export side; torch.jit.trace of the same
model class on the same example shape provides the trace side where a scenario has none.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import torch

from ..capture import Tape, record
from ..examples import RandomDepthNet, VariableLengthRNN
from . import (
    EXPORT,
    TRACE,
    DataDependentBranch,
    OpMatch,
    RnnLengths,
    StaticCapture,
    capture_export,
    capture_trace,
    data_dependent_branch,
    frozen_depth,
    match_ops,
    rnn_lengths,
)
from .static_graph import StaticGraph, relative_classes, static_graph
from .torch_messages import clean_error

CURRENT, DEPTH, BRANCH, RNN = "current", "depth", "branch", "rnn"
SCENARIOS = {
    CURRENT: "Current model",
    DEPTH: "Random depth (shared weights)",
    BRANCH: "Data-dependent if",
    RNN: "RNN over lengths 2, 5, 9",
}
METHODS = (EXPORT, TRACE)
NO_MODEL_HINT = "Run a script that calls a model, or open a model"
DEPTH_FEATURES = 8
RNN_LENGTHS = (2, 5, 9)


@dataclass
class DynamicRun:
    """One recorded run and how it matches the static graph."""

    title: str
    tape: Tape
    match: OpMatch
    detail: str = ""


@dataclass
class Comparison:
    """Everything the view draws and says for one scenario and one capture method.

    `primary` is the run the static side's marks and the `lost` sentences refer to.
    `state` is what the next "Run again" reuses (a scenario's result, a seed, a capture).
    """

    scenario: str
    method: str
    runs: list[DynamicRun]
    static: StaticCapture
    static_graph: StaticGraph | None
    headline: str
    lost: list[str]
    facts: list[str] = field(default_factory=list)
    primary: int = -1
    state: object = None
    primary_name: str = "this run"  # how the static side's captions name the primary run

    @property
    def primary_run(self) -> DynamicRun:
        return self.runs[self.primary]

    @property
    def static_title(self) -> str:
        if not self.static.ok:
            return f"{self.method}: no graph (it refused)"
        return f"{self.method} · {len(self.static.ops)} ops, fixed once captured"

    @property
    def refusal(self) -> StaticCapture | None:
        """The failed capture whose error the view shows: this one, or for the
        data-dependent if, export's refusal beside trace's graph."""
        if not self.static.ok:
            return self.static
        export = getattr(self.state, "export", None)
        return export if self.scenario == BRANCH and export is not None and not export.ok else None


def user_line(static: StaticCapture) -> str | None:
    """`file, line N, in f:   code`: the user's line a capture error points at."""
    loc = static.error_line
    if loc is None:
        return None
    name = loc.filename.replace("\\", "/").rsplit("/", 1)[-1]
    return f"{name}, line {loc.lineno}, in {loc.function}:   {loc.text.strip()}"


def _capture(method: str, model, inputs: tuple) -> StaticCapture:
    return capture_export(model, inputs) if method == EXPORT else capture_trace(model, inputs)


def _short(method: str) -> str:
    return "export" if method == EXPORT else "trace"


def _graph(static: StaticCapture, tape: Tape, model_path: str = "") -> StaticGraph | None:
    return static_graph(static, relative_classes(tape.module_classes, model_path))


def _values(values: list[float], spec: str = ".2f") -> str:
    return "[" + ", ".join(format(v, spec) for v in values) + "]"


def _gist(message: str | None) -> str:
    """The first line of a message and the first sentence of the next: the whole message
    is long, with suggestions meant for a terminal."""
    lines = [ln.strip().lstrip("- ").strip() for ln in (message or "").splitlines() if ln.strip()]
    if len(lines) < 2:
        return lines[0] if lines else ""
    return f"{lines[0]} {lines[1].split('. ')[0].rstrip('.')}."


def _torch_said(static: StaticCapture) -> list[str]:
    """Warnings worth reading: torch's deprecation notices of its own API left out."""
    return [w for w in static.warnings if not w.startswith("DeprecationWarning")]


# -- the window's model ------------------------------------------------------------------
def compare_live_model(live, method: str, cached: StaticCapture | None = None) -> Comparison:
    """Record the live model's forward on its example input and capture it (or reuse `cached`)."""
    inputs = live.example_input if isinstance(live.example_input, tuple) else (live.example_input,)
    with record(live.model, model_path=live.name) as tape:
        live.model(*inputs)
    static = cached if cached is not None and cached.method == method else _capture(method, live.model, inputs)
    match = match_ops(tape, static, model_path=live.name)
    name = type(live.model).__name__
    run = DynamicRun(f"{name}: this run", tape, match, "the tape")
    if not static.ok:
        headline = f"{method} could not capture {name}: {static.error_type}"
    elif match.complete and not match.lost:
        done = "exported" if method == EXPORT else "traced"
        headline = f"Every operation of this run is in the {done} graph: nothing was lost"
    else:
        paired = len({i for i, _ in match.pairs})
        headline = (
            f"{paired} operations matched; {len(match.dynamic_only)} only in this run, "
            f"{len(match.static_only)} only in the static graph"
        )
    lost = match.lost or ["Nothing was lost: the static graph holds every operation of this run."]
    facts = [f"Guard: {g}" for g in static.guards] + _torch_said(static)
    return Comparison(CURRENT, method, [run], static, _graph(static, tape, live.name), headline, lost, facts,
                      state=static)


# -- random depth ------------------------------------------------------------------------
def compare_depth(method: str, seed: int = 1, avoid_depth: int | None = None) -> Comparison:
    """RandomDepthNet: the static graph from the example run (seed 0), this run from `seed`,
    moving on to the next seeds until this run's depth differs from `avoid_depth`."""
    for _ in range(32):
        fd = frozen_depth(seed_a=0, seed_b=seed, features=DEPTH_FEATURES)
        if avoid_depth is None or fd.depth_b != avoid_depth:
            break
        seed += 1
    if method == EXPORT:
        static, match = fd.export, fd.match_b
        saw = fd.exported_depth
        facts = [fd.summary]
        if fd.exported_runs_fixed_depth:
            facts.append(f"Checked: calling the exported program applies the shared layer {saw} times, every time.")
    else:
        twin = RandomDepthNet(DEPTH_FEATURES, rng=random.Random(0))  # draws the example run's depth
        static = capture_trace(twin, (torch.zeros(2, DEPTH_FEATURES),))
        match = match_ops(fd.tape_b, static)
        saw = static.count("linear")
        facts = [
            f"The traced graph is frozen at depth {saw}: random.randint ran once, while tracing.",
            "torch.jit.trace gave no warning: random.randint is plain Python, invisible to a tracer.",
        ]
    facts += [f"Guard: {g}" for g in static.guards] + _torch_said(static)
    headline = f"{_short(method)} saw depth {saw}; this run used depth {fd.depth_b}"
    run = DynamicRun(f"this run: depth {fd.depth_b}", fd.tape_b, match, f"{len(fd.tape_b.forward_events)} calls")
    return Comparison(DEPTH, method, [run], static, _graph(static, fd.tape_b), headline, match.lost, facts,
                      state=(seed, fd.depth_b))


# -- a data-dependent if -----------------------------------------------------------------
def compare_branch(method: str, cached: DataDependentBranch | None = None) -> Comparison:
    """SignBranch on a positive and a negative input; export refuses, trace keeps one branch."""
    b = cached or data_dependent_branch()
    static = b.export if method == EXPORT else b.trace
    match_pos = match_ops(b.tape_positive, static)
    match_neg = b.match_trace_negative if method == TRACE else match_ops(b.tape_negative, static)
    runs = [
        DynamicRun(f"positive input {_values(b.positive, 'g')}", b.tape_positive, match_pos, ", ".join(b.ops_positive)),
        DynamicRun(f"negative input {_values(b.negative, 'g')}", b.tape_negative, match_neg, ", ".join(b.ops_negative)),
    ]
    headline = (
        f"The traced graph answers {_values(b.traced_negative)} on the negative input; "
        f"the model answers {_values(b.eager_negative)}"
    )
    facts = [
        f"torch.jit.trace warned: {b.trace_warning}" if b.trace_warning else "torch.jit.trace gave no warning.",
        f"Traced graph on the negative input: {_values(b.traced_negative)}; eager model: "
        f"{_values(b.eager_negative)} (largest difference {b.max_difference:.2f}).",
        "On the positive input (the example) the traced graph agrees with the model."
        if b.traced_agrees_on_positive else "Even on the positive input the traced graph disagrees.",
    ]
    if method == TRACE and not b.export.ok:  # its error is shown below the graphs
        facts.insert(0, f"torch.export refused: {b.export.error_type} (the error is below).")
    return Comparison(BRANCH, method, runs, static, _graph(static, b.tape_positive), headline,
                      match_neg.lost, facts, primary=1, state=b, primary_name="the negative run")


# -- variable-length RNN -----------------------------------------------------------------
def compare_rnn(method: str, cached: RnnLengths | None = None) -> Comparison:
    """VariableLengthRNN on lengths 2, 5 and 9; the static graph captured on length 2."""
    r = cached or rnn_lengths(RNN_LENGTHS)
    first = r.lengths[0]
    if method == EXPORT:
        static, others = r.export, dict(r.other_lengths)
        facts = [f"Guard: {g}" for g in static.guards]
        if r.dynamic_export is not None and not r.dynamic_export.ok:
            facts.append(f"Asked to keep the length symbolic, export refused: {_gist(r.dynamic_export.error)}")
    else:
        twin = VariableLengthRNN(input_size=4, hidden_size=8)
        static = capture_trace(twin, (torch.zeros(first, 1, 4),))
        others = {}
        for n in r.lengths[1:]:
            try:
                with torch.no_grad():
                    out = static.run(torch.zeros(n, 1, 4))
                others[n] = f"ran, output shape {tuple(out.shape)}"
            except Exception as exc:
                others[n] = clean_error(exc)
        facts = []
    facts = [f"Length {n} on the static graph: {msg}" for n, msg in others.items()] + facts + _torch_said(static)
    runs = [
        DynamicRun(f"length {n}", tape, match_ops(tape, static)) for n, tape in zip(r.lengths, r.tapes)
    ]
    headline = (
        f"Each length records its own graph ({', '.join(map(str, r.node_counts))} nodes); "
        f"{_short(method)} specialised the loop to length {first}"
    )
    return Comparison(RNN, method, runs, static, _graph(static, r.tapes[0]), headline,
                      runs[-1].match.lost, facts, primary=0, state=r, primary_name=f"the length-{first} run")
