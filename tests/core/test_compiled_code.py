"""`torch.compile`d models and functions record as the ops they are written with."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gradstudio.core import record
from gradstudio.core.capture import CallEvent

dynamo = pytest.importorskip("torch._dynamo")
pytestmark = [
    pytest.mark.skipif(not hasattr(dynamo, "set_stance"), reason="compiler stances need PyTorch 2.6"),
    pytest.mark.filterwarnings("ignore::UserWarning"),  # PyTorch's note on global module hooks
]


def _ops(tape) -> list[str]:
    return [e.op for e in tape.events if isinstance(e, CallEvent)]


def _stance() -> str:
    return dynamo.eval_frame._stance.stance


def test_a_compiled_model_records_its_own_ops_and_names():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    compiled = torch.compile(net, backend="eager")
    x = torch.randn(3, 4)
    compiled(x)  # compiled before the recording, as in a training script
    with record(compiled) as tape:
        compiled(x).sum().backward()
    assert _ops(tape) == ["linear", "relu", "linear", "sum"]  # not CompiledFunction.apply
    g = tape.graph()
    assert {n.label for n in g.by_kind("parameter")} == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert {n.module for n in g.by_label("AddmmBackward0")} == {"0", "2"}
    assert not any("_orig_mod" in path for path in g.clusters)
    grads = {n.label: n.grad.values for n in g.by_kind("parameter")}
    assert torch.equal(grads["0.weight"], net[0].weight.grad)  # what the real backward wrote
    assert _stance() == "default"  # the compiler is as it was


def test_a_compiled_function_and_a_compiled_submodule_record_op_by_op():
    @torch.compile(backend="eager")
    def act(a):
        return (a * 2).sin()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = torch.compile(nn.Linear(3, 3), backend="eager")

        def forward(self, x):
            return act(self.body(x))

    net, x = Net(), torch.randn(2, 3)
    with record(net) as tape:
        net(x).sum().backward()
    assert _ops(tape) == ["linear", "mul", "sin", "sum"]
    assert {n.label for n in tape.graph().by_kind("parameter")} == {"body.weight", "body.bias"}
    assert [c.path for c in tape.module_calls] == ["", "body"]  # the wrapper's call is not one


def test_a_compiled_module_outside_the_model_is_named_by_its_variable():
    body = torch.compile(nn.Linear(3, 3), backend="eager")
    x = torch.randn(2, 3)
    with record() as tape:
        body(x).sum().backward()
    assert [c.path for c in tape.module_calls] == ["body"]
    assert sorted(leaf.name for leaf in tape.leaves.values()) == ["body.bias", "body.weight"]


def test_the_compiler_stance_comes_back_when_the_recorded_code_fails():
    @torch.compile(backend="eager")
    def boom(a):
        raise ValueError("in compiled code")

    with pytest.raises(ValueError, match="in compiled code"):
        with record():
            boom(torch.randn(2, requires_grad=True) * 3)
    assert _stance() == "default"
