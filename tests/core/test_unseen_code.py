"""Autograd nodes made where no torch call shows (TorchScript, torch-function handling
switched off, private ops) are not credited to the next call the recorder sees."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gradstudio.core import record
from gradstudio.core.capture import CallEvent
from gradstudio.core.capture.recorder import UNSEEN_OP


def _calls(tape) -> list[CallEvent]:
    return [e for e in tape.events if isinstance(e, CallEvent)]


def _labels(tape, ev: CallEvent) -> list[str]:
    return sorted(tape.nodes[i].name for i in ev.nodes)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
def test_a_torchscript_module_is_one_unseen_step_of_its_own():
    torch.manual_seed(0)
    scripted = torch.jit.script(nn.Sequential(nn.Linear(3, 4), nn.ReLU()))
    x = torch.randn(2, 3)
    with record(scripted) as tape:
        scripted(x).sum().backward()
    ops = [e.op for e in _calls(tape)]
    assert ops == [UNSEEN_OP, "sum"]
    unseen, total = _calls(tape)
    assert "AddmmBackward0" in _labels(tape, unseen) and "ReluBackward0" in _labels(tape, unseen)
    assert _labels(tape, total) == ["SumBackward0"]  # sum made only its own node
    assert unseen.source is not None and "scripted(x)" in unseen.source.text
    for node_id in unseen.nodes:
        assert tape.nodes[node_id].step == unseen.index
    g = tape.graph()
    assert {n.op for n in g.by_label("AddmmBackward0")} == {UNSEEN_OP}
    assert g.by_label("AddmmBackward0")[0].grad is not None  # backward still reaches it


def test_nodes_made_with_torch_function_handling_off_are_not_the_next_calls():
    x = torch.randn(4, requires_grad=True)
    with record() as tape:
        with torch._C.DisableTorchFunction():
            y = x * 2
        z = y + 1
        z.sum().backward()
    assert [e.op for e in _calls(tape)] == [UNSEEN_OP, "add", "sum"]
    unseen, add, _ = _calls(tape)
    assert _labels(tape, unseen) == ["AccumulateGrad", "MulBackward0"]
    assert _labels(tape, add) == ["AddBackward0"]


def test_a_private_op_that_makes_nodes_is_a_call():
    """Weight normalisation computes its weight with `torch._weight_norm`: private, but an
    op of the user's graph, not plumbing like `_set_grad_enabled`."""
    net = nn.utils.parametrizations.weight_norm(nn.Linear(3, 3))
    with record(net) as tape:
        with torch.no_grad():
            pass
        net(torch.randn(2, 3)).sum().backward()
    ops = [e.op for e in _calls(tape)]
    assert "_weight_norm" in ops and UNSEEN_OP not in ops
    assert "_set_grad_enabled" not in ops
    norm = next(e for e in _calls(tape) if e.op == "_weight_norm")
    assert any("WeightNorm" in label for label in _labels(tape, norm))
    linear = next(e for e in _calls(tape) if e.op == "linear")
    assert not any("WeightNorm" in label for label in _labels(tape, linear))


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_code_the_recorder_sees_has_no_unseen_steps():
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    with record(net) as tape:
        for _ in range(2):
            net(torch.randn(5, 3)).pow(2).mean().backward(create_graph=True)
    assert UNSEEN_OP not in [e.op for e in _calls(tape)]
