"""Recording whole scripts as the app does: names, set-up calls, optimizer updates."""

import torch

from gradstudio.assets.lessons import lesson
from gradstudio.core.capture import BackwardNodeEvent, CallEvent, LeafGradEvent
from gradstudio.core.runner import run_script


def test_parameters_are_named_by_module_variable_and_setup_is_not_recorded():
    result = run_script(lesson("06_training_loop").source, "<lesson>")
    tape = result.tape
    names = {leaf.name for leaf in tape.leaves.values() if leaf.kind == "parameter"}
    assert names == {"net.0.weight", "net.0.bias", "net.2.weight", "net.2.bias"}
    # nn.Linear(...) filling its weights is PyTorch's set-up, not the user's work
    ops = [e.op for e in tape.events if isinstance(e, CallEvent)]
    assert "kaiming_uniform_" not in ops and "uniform_" not in ops


def test_leaf_appears_at_the_line_that_created_it():
    result = run_script(lesson("02_power").source, "<lesson>")
    tape = result.tape
    (inp,) = [leaf for leaf in tape.leaves.values() if leaf.name == "inp"]
    created = tape.events[inp.step]
    assert created.op == "randn"
    assert "inp = torch.randn(100, requires_grad=True)" in created.source.text
    node = tape.graph().nodes[inp.id]
    assert node.step == inp.step and node.source.lineno == created.source.lineno


def test_optimizer_step_updates_parameter_values_over_time():
    result = run_script(lesson("06_training_loop").source, "<lesson>")
    tape = result.tape
    ns = result.namespace
    (w,) = [leaf for leaf in tape.leaves.values() if leaf.name == "net.0.weight"]
    assert len(w.updates) == 2  # one optimizer.step() per iteration
    first_update = w.updates[0][0]
    before = tape.graph(step=first_update - 1).nodes[w.id].value.values
    after = tape.graph(step=first_update).nodes[w.id].value.values
    first_grad = [e.grad.values for e in tape.events if isinstance(e, LeafGradEvent) and e.leaf == w.id][0]
    torch.testing.assert_close(after, before - 0.1 * first_grad)  # SGD: w <- w - lr * grad
    torch.testing.assert_close(tape.graph().nodes[w.id].value.values, ns["net"][0].weight.detach())


def test_accumulate_nodes_are_not_freed_and_come_before_their_leaf_grad():
    result = run_script(lesson("06_training_loop").source, "<lesson>")
    tape = result.tape
    g = tape.graph()
    assert not any(n.freed for n in g.by_kind("accumulate"))
    assert all(n.freed for n in g.by_kind("op") if n.executed)
    for i, ev in enumerate(tape.events):
        if isinstance(ev, LeafGradEvent):
            prev = tape.events[i - 1]
            assert isinstance(prev, BackwardNodeEvent) and prev.node == ev.node
