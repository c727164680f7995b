"""Ready demonstrations of dynamic versus static graphs, for a lesson to show.

Each function records the dynamic runs, captures the static graph once, and returns plain
fields (numbers, strings, tapes, captures) a view can display without touching torch.
Call them outside any `record()` block: a capture run inside a recording would be recorded.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import torch

from ..capture import Tape, record
from ..examples import RandomDepthNet, VariableLengthRNN
from .branch_model import SignBranch
from .match import OpMatch, match_ops, model_events
from .static_capture import StaticCapture, capture_export, capture_trace
from .torch_messages import clean_error


def _record(model, *inputs) -> tuple[Tape, torch.Tensor]:
    with record(model) as tape:
        out = model(*inputs)
    return tape, out


def _model_ops(tape: Tape) -> list[str]:
    return [e.op for e in model_events(tape)[0]]


def _inputs(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# -- (a) random depth --------------------------------------------------------------------
@dataclass
class FrozenDepth:
    """Two dynamic runs of RandomDepthNet with different depths, and one export."""

    seed_a: int
    seed_b: int
    depth_a: int  # shared-layer applications recorded in run A (the export's example run)
    depth_b: int
    exported_depth: int  # linear ops in the exported graph
    tape_a: Tape
    tape_b: Tape
    export: StaticCapture
    match_a: OpMatch
    match_b: OpMatch
    exported_runs_fixed_depth: bool  # the exported program's output is the shared layer applied k times
    summary: str


def frozen_depth(seed_a: int = 0, seed_b: int = 1, features: int = 8) -> FrozenDepth:
    """Record RandomDepthNet with the depth drawn from `random.Random(seed_a)`, then from
    `seed_b`, then export it with `seed_a` again, so the export's one run is run A's twin.
    The default seeds draw depths 4 and 2."""
    net = RandomDepthNet(features, rng=random.Random(seed_a))
    x = _inputs(2, features)
    tape_a, _ = _record(net, x)
    net.rng = random.Random(seed_b)
    tape_b, _ = _record(net, x)
    net.rng = random.Random(seed_a)
    export = capture_export(net, (x,))
    depth_a, depth_b = _model_ops(tape_a).count("linear"), _model_ops(tape_b).count("linear")
    k = export.count("linear")
    fixed = False
    if export.ok:
        with torch.no_grad():
            expected = x
            for _ in range(k):
                expected = torch.relu(net.shared(expected))
            fixed = bool(torch.allclose(export.run(x), expected))
    summary = (
        f"The exported program is frozen at depth {k}: random.randint ran once, while exporting, "
        f"and every call of the exported program applies the shared layer {k} times. "
        f"The dynamic runs drew depths {depth_a} and {depth_b}."
        if export.ok
        else f"Export failed: {export.error}"
    )
    return FrozenDepth(
        seed_a, seed_b, depth_a, depth_b, k, tape_a, tape_b, export,
        match_ops(tape_a, export), match_ops(tape_b, export), fixed, summary,
    )


# -- (b) a data-dependent branch ---------------------------------------------------------
@dataclass
class DataDependentBranch:
    """`if x.sum() > 0:` run on a positive and a negative input, exported and traced."""

    positive: list[float]  # the two inputs
    negative: list[float]
    tape_positive: Tape
    tape_negative: Tape
    ops_positive: list[str]  # the model's operations in each dynamic run
    ops_negative: list[str]
    nodes_positive: int  # graph nodes of each dynamic run
    nodes_negative: int
    export: StaticCapture  # fails: the branch depends on data
    trace: StaticCapture  # succeeds, warns, keeps the positive branch
    trace_warning: str | None  # the TracerWarning about a tensor turned into a Python bool
    eager_negative: list[float]  # the model on the negative input
    traced_negative: list[float]  # the traced graph on the negative input
    max_difference: float
    traced_agrees_on_positive: bool
    match_trace_negative: OpMatch  # the negative run against the traced graph
    summary: str


def data_dependent_branch() -> DataDependentBranch:
    model = SignBranch()
    positive, negative = torch.ones(1, 3), -torch.ones(1, 3)
    tape_pos, out_pos = _record(model, positive)
    tape_neg, out_neg = _record(model, negative)
    export = capture_export(model, (positive,))
    trace = capture_trace(model, (positive,))
    warning = next((w for w in trace.warnings if w.startswith("TracerWarning") and "boolean" in w), None)
    eager_neg, traced_neg, agrees_pos = out_neg.detach(), torch.full_like(out_neg, float("nan")), False
    if trace.ok:
        with torch.no_grad():
            traced_neg = trace.run(negative)
            agrees_pos = bool(torch.allclose(trace.run(positive), out_pos))
    diff = float((traced_neg - eager_neg).abs().max())
    failed = f"{export.error_type} (line {export.error_line.lineno})" if export.error_line else export.error_type
    summary = (
        f"Eager PyTorch builds a different graph for each input ({', '.join(_model_ops(tape_pos))} versus "
        f"{', '.join(_model_ops(tape_neg))}). torch.export refuses the data-dependent `if`: {failed}. "
        f"torch.jit.trace warns, keeps the branch the example took, and on the negative input "
        f"answers {_fmt(traced_neg)} where the model answers {_fmt(eager_neg)}."
    )
    return DataDependentBranch(
        positive.flatten().tolist(), negative.flatten().tolist(), tape_pos, tape_neg,
        _model_ops(tape_pos), _model_ops(tape_neg), len(tape_pos.graph().nodes), len(tape_neg.graph().nodes),
        export, trace, warning, eager_neg.flatten().tolist(), traced_neg.flatten().tolist(), diff, agrees_pos,
        match_ops(tape_neg, trace), summary,
    )


def _gist(message: str | None) -> str:
    """The first line of a message, and the first sentence of the next when the first ends
    early (`Constraints violated (length)!` says less than what follows it)."""
    lines = [ln.strip().lstrip("- ").strip() for ln in (message or "").splitlines() if ln.strip()]
    if not lines:
        return ""
    if len(lines) == 1 or len(lines[0]) > 60:
        return lines[0]
    follow = lines[1].split(". ")[0].rstrip(".")
    return f"{lines[0]} {follow}."


def _fmt(t: torch.Tensor) -> str:
    return "[" + ", ".join(f"{v:.2f}" for v in t.flatten().tolist()) + "]"


# -- (c) variable-length RNN -------------------------------------------------------------
@dataclass
class RnnLengths:
    """VariableLengthRNN recorded on several lengths, exported on the first."""

    lengths: tuple[int, ...]
    tapes: list[Tape]
    node_counts: list[int]  # graph nodes of each dynamic run
    export: StaticCapture  # exported on lengths[0]
    exported_steps: int  # RNN steps in the exported graph
    other_lengths: dict[int, str] = field(default_factory=dict)  # length -> what the exported program said
    dynamic_export: StaticCapture | None = None  # export asked to keep the length symbolic
    summary: str = ""


def rnn_lengths(lengths: tuple[int, ...] = (2, 5, 9)) -> RnnLengths:
    if not lengths:
        raise ValueError("rnn_lengths needs at least one sequence length")
    rnn = VariableLengthRNN(input_size=4, hidden_size=8)
    sequences = {n: _inputs(n, 1, 4, seed=n) for n in lengths}
    tapes = [_record(rnn, sequences[n])[0] for n in lengths]
    counts = [len(t.graph().nodes) for t in tapes]
    first = lengths[0]
    export = capture_export(rnn, (sequences[first],))
    steps = export.count("rnn_tanh_cell")
    other: dict[int, str] = {}
    if export.ok:
        for n in lengths[1:]:
            try:
                with torch.no_grad():
                    out = export.run(sequences[n])
                other[n] = f"ran, output shape {tuple(out.shape)}"
            except Exception as exc:  # the guard on the input's shape
                other[n] = clean_error(exc)
    dynamic = capture_export(rnn, (sequences[first],), dynamic_shapes=({0: torch.export.Dim("length")},))
    refused = "; ".join(f"length {n}: {_gist(msg)}" for n, msg in other.items())
    summary = (
        f"Each length records a bigger graph: {', '.join(f'{c} nodes' for c in counts)} for lengths "
        f"{', '.join(map(str, lengths))}. torch.export unrolled the Python loop for the example's length "
        f"{first}: {steps} RNN steps, with the input's shape fixed."
        + (f" Other lengths are refused ({refused})." if refused else "")
        + (f" Asked for a symbolic length, export fails: {_gist(dynamic.error)}" if not dynamic.ok else "")
    )
    return RnnLengths(tuple(lengths), tapes, counts, export, steps, other, dynamic, summary)
