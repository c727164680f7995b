"""Snapshots that show the same memory share one copy, and each still shows its own values."""

import pytest
import torch
from torch import nn

from gradstudio.core import record
from gradstudio.core.capture import BackwardEndEvent, BackwardNodeEvent, CallEvent, LeafGradEvent


def outputs_of(tape, op):
    return [e.outputs[0] for e in tape.events if isinstance(e, CallEvent) and e.op == op]


def leaf_grad_events(tape, name):
    return [e for e in tape.events if isinstance(e, LeafGradEvent) and tape.leaves[e.leaf].name == name]


def node_event(tape, node_id, pass_index=0):
    (ev,) = [
        e for e in tape.events if isinstance(e, BackwardNodeEvent) and e.node == node_id and e.pass_index == pass_index
    ]
    return ev


def test_grad_zeroed_after_recording_keeps_leaf_grad_and_what_accumulate_received():
    torch.manual_seed(0)
    lin = nn.Linear(3, 2)
    with record(lin) as tape:
        lin(torch.randn(4, 3)).sum().backward()
    expected = lin.weight.grad.clone()
    with torch.no_grad():
        lin.weight.grad.zero_()  # zero_grad(set_to_none=False), after the recording
    (leaf_ev,) = leaf_grad_events(tape, "weight")
    torch.testing.assert_close(leaf_ev.grad.values, expected)
    received = node_event(tape, leaf_ev.node).grads_received[0]
    torch.testing.assert_close(received.values, expected)
    # linear's weight enters as w.t(): TBackward0 received the transpose of the same memory
    (t_node,) = [n for n in tape.nodes.values() if n.name == "TBackward0"]
    torch.testing.assert_close(node_event(tape, t_node.id).grads_received[0].values, expected.t())


def test_accumulating_into_an_existing_grad_keeps_both_what_arrived_and_the_sum():
    torch.manual_seed(0)
    lin = nn.Linear(3, 1)
    x = torch.randn(2, 3)
    with record(lin) as tape:
        lin(x).sum().backward()
        lin(x).sum().backward()  # no zero_grad: .grad becomes twice the batch gradient
    once, twice = leaf_grad_events(tape, "weight")
    torch.testing.assert_close(twice.grad.values, 2 * once.grad.values)
    received = node_event(tape, twice.node, pass_index=1).grads_received[0]
    torch.testing.assert_close(received.values, once.grad.values)
    torch.testing.assert_close(twice.grad.values, lin.weight.grad)


def test_views_of_one_buffer_with_other_dtypes_keep_their_own_values():
    x = torch.arange(4.0)
    with record() as tape:
        y = x * 1
        bits = y.view(torch.int32)
        y.add_(1)  # in place: both snapshots of y's memory are copied first
    torch.testing.assert_close(outputs_of(tape, "mul")[0].values, torch.arange(4.0))
    torch.testing.assert_close(outputs_of(tape, "view")[0].values, torch.arange(4.0).view(torch.int32))
    assert bits.dtype == torch.int32


def test_a_leaf_and_its_transpose_changed_after_recording_keep_their_values():
    w = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
    before = w.detach().clone()
    with record() as tape:
        wt = w.t()
        (wt * 1).sum()
    with torch.no_grad():
        w.mul_(0)  # e.g. an optimizer step after the recording
    (leaf,) = tape.leaves.values()
    torch.testing.assert_close(leaf.value.values, before)
    torch.testing.assert_close(outputs_of(tape, "t")[0].values, before.t())
    assert wt.shape == (2, 3)


def test_a_slice_and_its_whole_keep_their_values_after_a_later_change():
    base = torch.arange(6.0)
    with record() as tape:
        y = base * 2
        head = y[:2]
        y.mul_(10)
    torch.testing.assert_close(outputs_of(tape, "mul")[0].values, torch.arange(6.0) * 2)
    torch.testing.assert_close(outputs_of(tape, "__getitem__")[0].values, torch.tensor([0.0, 2.0]))
    torch.testing.assert_close(head, torch.tensor([0.0, 20.0]))


class Boom(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 1

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("boom in backward")


def test_backward_failing_midway_leaves_leaf_grads_that_match_the_leaves():
    a = torch.ones(3, requires_grad=True)
    b = torch.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="boom in backward"):
        with record() as tape:
            loss = Boom.apply(b).sum() + (a * 2).sum()
            loss.backward()
    (end,) = [e for e in tape.events if isinstance(e, BackwardEndEvent)]
    assert not end.ok and "boom in backward" in end.error
    leaf_events = [e for e in tape.events if isinstance(e, LeafGradEvent)]
    assert leaf_events  # `a`'s branch ran before Boom's backward raised
    for ev in leaf_events:
        leaf = a if tape.leaves[ev.leaf].name == "a" else b
        torch.testing.assert_close(ev.grad.values, leaf.grad)
    assert b.grad is None


def test_a_gradient_the_caller_also_holds_keeps_its_values_apart_from_grad():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    held = []
    w.register_hook(lambda g: held.append(g))  # the caller keeps what arrives at w
    with record() as tape:
        (w * 3).sum().backward()
    with torch.no_grad():
        held[0].mul_(0)
        w.grad.mul_(0)
    (leaf_ev,) = [e for e in tape.events if isinstance(e, LeafGradEvent)]
    torch.testing.assert_close(leaf_ev.grad.values, torch.full((2,), 3.0))
    received = node_event(tape, leaf_ev.node).grads_received[0]
    torch.testing.assert_close(received.values, torch.full((2,), 3.0))
