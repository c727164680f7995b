"""Valid but awkward PyTorch code records like plain code runs (found in review)."""

import json
import math
import sys
import threading
import time

import pytest
import torch
from torch import nn

from gradstudio.core import record
from gradstudio.core.capture import CallEvent, TensorStats
from gradstudio.core.export import tape_to_dict
from gradstudio.core.runner import CancelToken, run_script


def test_in_place_change_of_a_no_grad_view_does_not_break_recording():
    emb = nn.Embedding(10, 4)
    with record(emb) as tape:
        with torch.no_grad():
            emb.weight[0].zero_()  # reading .grad_fn of this view would raise
        emb(torch.tensor([0, 1])).sum().backward()
    assert not tape.failed
    assert float(emb.weight.detach()[0].abs().sum()) == 0.0


def test_inference_mode_tensors_are_snapshotted_by_copy():
    lin = nn.Linear(3, 2)
    with record(lin) as tape:
        with torch.inference_mode():
            out = lin(torch.randn(2, 3))
    ev = [e for e in tape.events if isinstance(e, CallEvent) and e.op == "linear"][0]
    torch.testing.assert_close(ev.outputs[0].values, out.clone())


def test_sparse_gradients_have_statistics():
    emb = nn.Embedding(10, 4, sparse=True)
    with record(emb, memory_budget=1) as tape:  # over budget: statistics at once, in the hook
        emb(torch.tensor([1, 2, 2])).sum().backward()
    g = tape.graph()
    (w,) = g.by_kind("parameter")
    assert w.grad.stats.norm > 0


def test_statistics_never_raise_and_do_not_overflow():
    s = TensorStats.of(torch.tensor([3e38, 3e38]))
    assert math.isclose(s.mean, 3e38, rel_tol=1e-6) and s.std == 0.0 and math.isfinite(s.norm)
    assert math.isnan(TensorStats.of(torch.empty(3, device="meta")).mean)
    assert TensorStats.of(torch.ones(4, dtype=torch.float16)).mean == 1.0


def test_small_view_of_a_big_buffer_is_copied_not_kept():
    big = torch.randn(1_000_000)
    with record() as tape:
        big[:10].sum()
    (view,) = [e.outputs[0] for e in tape.events if isinstance(e, CallEvent) and e.op == "__getitem__"]
    assert not view.pending  # a copy of 10 numbers, not a reference holding 4 MB alive
    torch.testing.assert_close(view.values, big[:10])


def test_several_roots_edge_shows_the_gradient_sent_along_it():
    x = torch.ones(2, requires_grad=True)
    with record() as tape:
        y = x * 2
        z = y * 3
        torch.autograd.backward([z, y], [torch.ones(2), torch.ones(2)])
    g = tape.graph()
    (edge,) = [e for e in g.edges if g.nodes[e.src].label == g.nodes[e.dst].label == "MulBackward0"]
    torch.testing.assert_close(edge.grad.values, torch.full((2,), 3.0))  # not 3 + 1


def test_tape_json_with_values_includes_intermediates():
    x = torch.ones(3, requires_grad=True)
    with record() as tape:
        (x * 2).exp().sum()
    data = json.loads(json.dumps(tape_to_dict(tape, with_values=True)))
    calls = [e for e in data["events"] if e["kind"] == "call" and e["op"] == "mul"]
    assert calls[0]["outputs"][0]["values"] == [2.0, 2.0, 2.0]


def test_manual_sgd_through_data_updates_the_parameter_value():
    w = torch.ones(2, requires_grad=True)
    with record() as tape:
        (w * 3).sum().backward()
        w.data -= 0.1 * w.grad
    (leaf,) = tape.leaves.values()
    assert len(leaf.updates) == 1
    torch.testing.assert_close(tape.graph().nodes[leaf.id].value.values, torch.full((2,), 0.7))


def test_sys_exit_zero_is_a_normal_end():
    result = run_script("import sys, torch\nx = torch.ones(2, requires_grad=True)\n(x * 2).sum().backward()\nsys.exit(0)\n")
    assert result.ok and not result.tape.failed


def test_cancel_survives_user_code_that_swallows_it_once():
    src = "import torch\nx = torch.ones(1, requires_grad=True)\nwhile True:\n    try:\n        y = x * 2\n    except BaseException:\n        pass\n"
    token = CancelToken()
    out = {}
    thread = threading.Thread(target=lambda: out.setdefault("r", run_script(src, cancel=token)))
    thread.start()
    time.sleep(0.3)
    for _ in range(50):
        token.cancel(force=True)
        thread.join(0.1)
        if not thread.is_alive():
            break
    assert not thread.is_alive()
    assert out["r"].error.kind == "cancelled"
    assert not torch._C._is_torch_function_mode_enabled()


@pytest.mark.parametrize("handler", ["pass", "continue", "print('again')"])
def test_a_cancel_flag_alone_stops_code_that_catches_every_exception(handler):
    # no asynchronous exception here: the stop comes from the torch call, and the handler's
    # own line raises it again
    src = ("import torch\nx = torch.ones(1, requires_grad=True)\n"
           f"while True:\n    try:\n        y = x * 2\n    except BaseException:\n        {handler}\n")
    token = CancelToken()
    out = {}
    before = sys.gettrace()
    thread = threading.Thread(target=lambda: out.setdefault("r", run_script(src, cancel=token)))
    thread.start()
    time.sleep(0.2)
    token.cancel()
    thread.join(10)
    assert not thread.is_alive()
    assert out["r"].error.kind == "cancelled"
    assert sys.gettrace() is before and not torch._C._is_torch_function_mode_enabled()


def test_recording_keeps_no_graph_alive_that_the_program_dropped():
    """An evaluation loop without backward must not pile up graphs while recording."""
    import gc
    import weakref

    class Token:
        pass

    class KeepsToken(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, token):
            ctx.token = token  # lives exactly as long as this node
            return x * 1

        @staticmethod
        def backward(ctx, grad):
            return grad, None

    x = torch.ones(3, requires_grad=True)
    refs = []
    with record() as tape:
        # naming the leaf reads this frame's locals, and CPython < 3.13 keeps that snapshot
        # on the frame: name it before any token exists, so the snapshot holds none
        x * 1
        for _ in range(3):
            token = Token()
            refs.append(weakref.ref(token))
            y = KeepsToken.apply(x, token)
            del token
        gc.collect()
        alive_during = [r() is not None for r in refs]
    assert alive_during == [False, False, True]  # only the graph `y` still holds
    assert len([n for n in tape.nodes.values() if n.name == "KeepsTokenBackward"]) == 3
    del y


def test_a_sparse_matrix_product_records_what_its_node_keeps():
    """A saved sparse tensor has no `nbytes`: its indices and values are counted instead."""
    s = torch.sparse_coo_tensor(
        torch.tensor([[0, 1], [1, 0]]), torch.tensor([1.0, 2.0]), (2, 2), check_invariants=True
    ).requires_grad_()
    d = torch.randn(2, 3, requires_grad=True)
    with record() as tape:
        torch.sparse.mm(s, d).sum().backward()
    saved = {x.name: x for n in tape.nodes.values() for x in n.saved or ()}
    sparse = [x for x in saved.values() if x.shape == (2, 2)]
    assert sparse and sparse[0].nbytes == 2 * 2 * 8 + 2 * 4  # int64 indices, float32 values
    assert not tape.failed
    torch.testing.assert_close(d.grad, s.detach().to_dense().t() @ torch.ones(2, 3))


def test_checkpointed_code_runs_its_forward_as_often_as_without_a_recording():
    """Saved tensors packed by a saved-tensors hook are not unpacked to look at them: for
    `torch.utils.checkpoint` each unpack recomputes the forward, for others it runs the
    user's hook."""
    import torch.utils.checkpoint as checkpoint

    runs = []

    class Inner(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 8)

        def forward(self, x):
            runs.append(1)
            return self.lin(x).tanh()

    inner, x = Inner(), torch.randn(5, 4, requires_grad=True)
    checkpoint.checkpoint(inner, x, use_reentrant=False).sum().backward()
    plain_runs, plain_grad = len(runs), x.grad.clone()
    runs.clear()
    x.grad = None
    with record(inner) as tape:
        checkpoint.checkpoint(inner, x, use_reentrant=False).sum().backward()
    assert len(runs) == plain_runs == 2  # the forward, and its recomputation in backward
    torch.testing.assert_close(x.grad, plain_grad)
    (tanh,) = [n for n in tape.nodes.values() if n.name == "TanhBackward0"]
    assert [(s.name, s.packed, s.nbytes) for s in tanh.saved] == [("result", True, 0)]

    counts = {"pack": 0, "unpack": 0}

    def pack(t):
        counts["pack"] += 1
        return t

    def unpack(t):
        counts["unpack"] += 1
        return t

    w = torch.randn(3, requires_grad=True)
    with record() as tape, torch.autograd.graph.saved_tensors_hooks(pack, unpack):
        (w.exp() * w).sum().backward()
    assert counts["unpack"] == counts["pack"] == 3  # as many as without the recording
    torch.testing.assert_close(w.grad, w.detach().exp() * (w.detach() + 1))


def test_a_custom_function_marking_its_input_dirty_keeps_the_recorded_values():
    """`ctx.mark_dirty` moves the input's version on after the forward without writing:
    what the forward's own in-place op left is still what the tape shows."""

    class AddOneInPlace(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    w = torch.randn(3, requires_grad=True)
    with record() as tape:
        a = w * 1
        b = AddOneInPlace.apply(a)
        b.sum().backward()
    outputs = {e.op: e.outputs[0] for e in tape.events if isinstance(e, CallEvent)}
    torch.testing.assert_close(outputs["mul"].values, w.detach())
    assert not outputs["add_"].stale
    torch.testing.assert_close(outputs["add_"].values, w.detach() + 1)
    torch.testing.assert_close(w.grad, torch.ones(3))


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors is in prototype stage")
def test_nested_tensors_of_either_layout_record_with_their_ragged_dimension_unsized():
    from gradstudio.core.layout.model import shape_text

    parts = [torch.randn(2, 3), torch.randn(4, 3)]
    for layout in (torch.strided, torch.jagged):
        nt = torch.nested.nested_tensor(parts, layout=layout, requires_grad=True)
        with record() as tape:
            y = (nt * 2).sin()
            loss = torch.nested.to_padded_tensor(y, 0.0).sum()
            loss.backward()
        assert not tape.failed
        mul = next(e for e in tape.events if isinstance(e, CallEvent) and e.op == "mul")
        (out,) = mul.outputs
        assert out.shape[0] == 2 and out.shape[-1] == 3 and out.numel == 18
        flat = torch.cat([2 * p.reshape(-1) for p in parts])
        assert out.stats.max == pytest.approx(float(flat.max()))
        assert out.stats.mean == pytest.approx(float(flat.mean()), abs=1e-6)
        if layout is torch.strided:
            assert out.shape == (2, None, 3) and shape_text(out.shape) == "2×*×3"
        expected = [2 * torch.cos(2 * p) for p in parts]
        for got, want in zip(nt.grad.unbind(), expected):
            torch.testing.assert_close(got, want)
        tape.graph()


def test_batched_gradients_record_without_breaking_the_run():
    """`is_grads_batched=True` runs backward under vmap: the gradients a node sees are
    batched tensors no copy can read. The jacobian comes out right, the nodes' gradients
    say they could not be read, and what `grad` returned is recorded as usual."""
    from gradstudio.core.capture import BackwardEndEvent, BackwardNodeEvent

    x = torch.randn(3, requires_grad=True)
    with record() as tape:
        y = x * x
        (jac,) = torch.autograd.grad(y, x, torch.eye(3), is_grads_batched=True)
    torch.testing.assert_close(jac, torch.diag(2 * x.detach()))
    assert not tape.failed
    received = [s for e in tape.events if isinstance(e, BackwardNodeEvent) for s in e.grads_received if s is not None]
    assert received and all(s.unreadable and s.values is None for s in received)
    assert all(math.isnan(s.stats.mean) for s in received)
    assert received[0].to_dict()["unreadable"] is True
    (end,) = [e for e in tape.events if isinstance(e, BackwardEndEvent)]
    torch.testing.assert_close(end.returned[0].values, jac)
    tape.graph()
