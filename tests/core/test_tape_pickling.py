"""A finished tape crosses a process boundary (training in a separate process sends the tape
of a recorded step): after pickling, the graph and every recorded value are the same."""

import pickle

import pytest
import torch
from torch import nn

from gradstudio.core import record
from gradstudio.core.capture import LeafGradEvent


def _training_step_tape():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = torch.randn(4, 3), torch.tensor([0, 1, 1, 0])
    with record(model) as tape:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
    return tape


def test_a_pickled_tape_has_the_same_graph_events_and_values():
    tape = _training_step_tape()
    copy = pickle.loads(pickle.dumps(tape))
    original, received = tape.graph(), copy.graph()
    assert sorted(original.nodes) == sorted(received.nodes)
    assert [(e.src, e.dst, e.shape) for e in original.edges] == [(e.src, e.dst, e.shape) for e in received.edges]
    assert [type(e).__name__ for e in tape.events] == [type(e).__name__ for e in copy.events]
    grads = [(e, f) for e, f in zip(tape.events, copy.events) if isinstance(e, LeafGradEvent)]
    assert grads
    for sent, got in grads:
        assert torch.equal(sent.grad.values, got.grad.values)
    for leaf_id, leaf in tape.leaves.items():
        assert torch.equal(leaf.value.values, copy.leaves[leaf_id].value.values)
        assert [k for k, _ in leaf.updates] == [k for k, _ in copy.leaves[leaf_id].updates]
    assert copy.graph(step=3).nodes.keys() == tape.graph(step=3).nodes.keys()


def test_a_tape_whose_code_raised_an_unpicklable_error_keeps_its_message():
    class Odd(Exception):
        def __init__(self, a, b):
            super().__init__(f"{a} and {b}")

    with pytest.raises(Odd), record() as tape:
        torch.ones(2, requires_grad=True).sum()
        raise Odd(1, 2)
    copy = pickle.loads(pickle.dumps(tape))
    assert copy.failed and "Odd: 1 and 2" in str(copy.error)
