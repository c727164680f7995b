"""Dynamic versus static: the tape beside torch.export and torch.jit.trace of the same model."""

from __future__ import annotations

import inspect

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gradstudio.core.capture import record
from gradstudio.core.compare import (
    SignBranch,
    capture_export,
    capture_trace,
    data_dependent_branch,
    frozen_depth,
    match_ops,
    op_key,
    rnn_lengths,
)
from gradstudio.core.compare.op_names import export_op_name, trace_op_name
from gradstudio.core.examples import Power, RandomDepthNet, ResidualBlock, VariableLengthRNN


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.fc2 = nn.Linear(8, 2)

    def forward(self, x):
        h = F.relu(self.fc1(x))
        h = h**2 + torch.pow(h, 3) - 1
        return self.fc2(h[0:2] / 3).sum()


def recorded(model, *inputs, model_path: str = ""):
    with record(model, model_path=model_path) as tape:
        model(*inputs)
    return tape


def line_of(obj, fragment: str) -> int:
    lines, first = inspect.getsourcelines(obj)
    return first + next(i for i, text in enumerate(lines) if fragment in text)


# -- scenarios, each computed once (an export costs a second the first time) -------------
@pytest.fixture(scope="module")
def branch():
    return data_dependent_branch()


@pytest.fixture(scope="module")
def depth():
    return frozen_depth(seed_a=0, seed_b=1)


@pytest.fixture(scope="module")
def rnn():
    return rnn_lengths((2, 5, 9))


# -- op names ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "spellings",
    [
        ("mul", "__mul__", "__rmul__", "__imul__", "mul_"),
        ("add", "__add__", "__radd__", "add_", "__iadd__"),
        ("index", "__getitem__", "select", "slice"),
        ("conv", "conv2d", "conv1d", "_convolution", "convolution"),
        ("relu", "relu_"),
        ("rsub", "__rsub__"),
        ("div", "__truediv__"),
        ("T", "numpy_T"),
    ],
)
def test_op_key_folds_every_spelling_of_one_operation(spellings):
    assert {op_key(s) for s in spellings} == {spellings[0]}


def test_static_names_read_like_the_tapes():
    assert export_op_name(torch.ops.aten.linear.default) == "linear"
    assert export_op_name(torch.ops.aten.pow.Tensor_Scalar) == "pow"
    assert trace_op_name("aten::linear") == "linear"
    assert op_key(trace_op_name("aten::_convolution")) == op_key("conv2d")


def test_a_transpose_property_pairs_with_the_static_graphs():
    class Tied(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.randn(3, 4))

        def forward(self, x):
            return x @ self.w.T

    model, x = Tied(), torch.randn(2, 4)
    tape = recorded(model, x)
    assert [e.op for e in tape.forward_events] == ["T", "matmul"]
    for static in (capture_export(model, (x,)), capture_trace(model, (x,))):
        assert static.ok, static.error
        result = match_ops(tape, static)
        assert result.complete and result.lost == []


# -- matching ----------------------------------------------------------------------------
def test_mlp_every_operation_pairs_and_nothing_is_lost():
    torch.manual_seed(0)
    model, x = MLP(), torch.randn(3, 4)
    tape = recorded(model, x)
    ops = [e.op for e in tape.forward_events]
    assert ops == ["linear", "relu", "pow", "pow", "add", "sub", "__getitem__", "div", "linear", "sum"]
    for static in (capture_export(model, (x,)), capture_trace(model, (x,))):
        assert static.ok, static.error
        result = match_ops(tape, static)
        assert result.complete and result.lost == []
        assert [(tape.events[i].op, static.ops[j].op) for i, j in result.pairs][:3] == [
            ("linear", "linear"),
            ("relu", "relu"),
            ("pow", "pow"),
        ]
        assert static.ops[0].module == "fc1" and static.ops[-2].module == "fc2"
        assert static.ops[0].shapes == [(3, 8)]


def test_export_knows_the_users_line_and_the_inputs_fixed_shape():
    model, x = MLP(), torch.randn(3, 4)
    static = capture_export(model, (x,))
    relu = next(op for op in static.ops if op.op == "relu")
    assert relu.source.lineno == line_of(MLP.forward, "F.relu(")
    assert static.guards == ["x: shape (3, 4), fixed to the example's shape"]


def test_power_pairs_its_pow():
    cube, x = Power(3), torch.randn(5)
    tape = recorded(cube, x)
    static = capture_export(cube, (x,))
    assert [(op.op, op.target) for op in static.ops] == [("pow", "aten.pow.Tensor_Scalar")]
    result = match_ops(tape, static)
    (event,) = tape.forward_events
    assert result.pairs == [(event.index, 0)] and result.complete
    assert torch.allclose(static.run(x), x**3)
    assert [op.op for op in capture_export(cube, x).ops] == ["pow"]  # a lone tensor is the one argument


def test_residual_block_pairs_the_skip_connection_add():
    block, x = ResidualBlock(2), torch.randn(1, 2, 4, 4)
    tape = recorded(block, x)
    for static in (capture_export(block, (x,)), capture_trace(block, (x,))):
        result = match_ops(tape, static)
        assert result.complete, static.method
        add = next(e for e in tape.forward_events if e.op == "add")  # `out + x`, in the block itself
        partners = [static.ops[j] for i, j in result.pairs if i == add.index]
        assert [(op.op, op.module) for op in partners] == [("add", "")]


def test_a_tape_recorded_under_a_name_matches_once_told_the_name():
    model, x = MLP(), torch.randn(3, 4)
    tape = recorded(model, x, model_path="net")
    assert tape.forward_events[0].module == "net.fc1"
    result = match_ops(tape, capture_export(model, (x,)), model_path="net")
    assert result.complete


# -- a data-dependent branch -------------------------------------------------------------
def test_dynamic_runs_record_the_branch_each_input_took(branch):
    assert branch.ops_positive == ["linear", "sum", "gt", "relu"]
    assert branch.ops_negative == ["linear", "sum", "gt", "neg"]
    controls = [e.op for e in branch.tape_negative.forward_events if e.control_flow]
    assert controls == ["__bool__"]


def test_export_refuses_the_data_dependent_if_with_its_real_error(branch):
    export = branch.export
    assert not export.ok and export.ops == []
    assert export.error_type == "GuardOnDataDependentSymNode"
    assert export.error.startswith("GuardOnDataDependentSymNode: Could not guard on data-dependent expression")
    assert "TORCH_LOGS" not in export.error and "https://" not in export.error
    assert export.error_line.lineno == line_of(SignBranch.forward, "if x.sum() > 0")
    assert export.error_line.filename == inspect.getsourcefile(SignBranch)


def test_failed_export_prints_nothing_and_keeps_what_torch_said(capfd):
    static = capture_export(SignBranch(), (torch.ones(1, 3),))
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert "aten.sum.default" in static.partial_graph
    assert any("Unable to find user code" in w for w in static.warnings)


def test_trace_warns_bakes_in_one_branch_and_answers_wrong_on_the_other(branch):
    assert branch.trace.ok
    assert "Converting a tensor to a Python boolean might cause the trace to be incorrect" in branch.trace_warning
    assert [op.op for op in branch.trace.ops] == ["linear", "relu"]  # the `if` and its sum are gone
    model, negative = SignBranch(), torch.tensor(branch.negative).reshape(1, 3)
    with torch.no_grad():
        h = model.fc(negative)
    assert branch.eager_negative == pytest.approx((-h).flatten().tolist())
    assert branch.traced_negative == pytest.approx(torch.relu(h).flatten().tolist())
    assert branch.max_difference > 0.5
    assert branch.traced_agrees_on_positive


def test_match_says_which_branch_the_static_graph_lost(branch):
    result = branch.match_trace_negative
    if_line = line_of(SignBranch.forward, "if x.sum() > 0")
    assert result.lost[0] == (
        f"the `if` on line {if_line} (x.sum() > 0) was evaluated once at trace time; "
        "the static graph keeps only the branch that ran"
    )
    lost_ops = [branch.tape_negative.events[i].op for i in result.dynamic_only]
    assert lost_ops == ["sum", "gt", "__bool__", "neg"]
    assert [branch.trace.ops[j].op for j in result.static_only] == ["relu"]


def test_match_against_a_failed_export_names_the_refused_line(branch):
    result = match_ops(branch.tape_positive, branch.export)
    if_line = line_of(SignBranch.forward, "if x.sum() > 0")
    assert result.pairs == []
    assert result.lost == [
        f"torch.export captured no graph: GuardOnDataDependentSymNode at line {if_line} (`if x.sum() > 0:`)",
        f"the `if` on line {if_line} (x.sum() > 0) depends on the tensor's values: "
        "torch.export refused to capture it (GuardOnDataDependentSymNode)",
    ]


# -- frozen depth ------------------------------------------------------------------------
def test_export_freezes_the_depth_of_its_example_run(depth):
    assert depth.export.ok
    assert (depth.depth_a, depth.depth_b) == (4, 2)
    assert depth.exported_depth == depth.depth_a
    assert depth.exported_runs_fixed_depth
    assert depth.match_a.complete
    assert len(depth.match_b.static_only) == 2 * (depth.depth_a - depth.depth_b)  # linear + relu per layer
    assert "frozen at depth 4" in depth.summary
    loop, body = line_of(RandomDepthNet.forward, "for _ in"), line_of(RandomDepthNet.forward, "torch.relu(")
    assert depth.match_b.lost == [
        f"the loop on line {loop} (`for _ in range(self.last_depth):`) ran twice in this run but 4 times at "
        f"export time; the static graph is unrolled: it always runs line {body} 4 times"
    ]


def test_trace_with_its_check_catches_a_graph_that_changes_between_calls():
    net = RandomDepthNet(features=4)
    net.rng.seed(1)  # draws 2, then 1: the check's second trace differs
    static = capture_trace(net, (torch.randn(2, 4),), check_trace=True)
    assert not static.ok and static.error_type == "TracingCheckError"
    assert "Graphs differed across invocations!" in static.error


# -- variable-length RNN -----------------------------------------------------------------
def test_rnn_graphs_grow_with_the_input_and_export_specialises_the_length(rnn):
    assert rnn.node_counts[0] < rnn.node_counts[1] < rnn.node_counts[2]
    assert rnn.export.ok and rnn.exported_steps == 2
    assert rnn.export.guards == ["sequence: shape (2, 1, 4), fixed to the example's shape"]
    assert rnn.other_lengths[5] == "AssertionError: Guard failed: sequence.size()[0] == 2"
    assert not rnn.dynamic_export.ok and rnn.dynamic_export.error_type == "UserError"
    assert "specialized it to be a constant (2)" in rnn.dynamic_export.error
    loop, body = line_of(VariableLengthRNN.forward, "for x_t in"), line_of(VariableLengthRNN.forward, "self.cell(")
    assert match_ops(rnn.tapes[2], rnn.export).lost == [
        f"the loop on line {loop} (`for x_t in sequence:`) ran 9 times in this run but twice at export time; "
        f"the static graph is unrolled: it always runs line {body} twice"
    ]


# -- torch.jit.trace's availability ------------------------------------------------------
def test_trace_records_its_deprecation_where_it_exists():
    static = capture_trace(Power(2), (torch.randn(3),))
    if hasattr(torch.jit, "trace"):
        assert static.ok and [op.op for op in static.ops] == ["pow"]
        assert any(w.startswith("DeprecationWarning: `torch.jit.trace` is deprecated") for w in static.warnings)
    else:
        assert not static.ok and "does not exist" in static.error


def test_trace_without_torch_jit_trace_says_so(monkeypatch):
    monkeypatch.delattr(torch.jit, "trace")
    static = capture_trace(Power(2), (torch.randn(3),))
    assert not static.ok
    assert static.error == f"torch.jit.trace does not exist in torch {torch.__version__}"
