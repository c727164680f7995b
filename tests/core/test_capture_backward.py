"""Backward recording: node order, gradients against torch, retained and freed graphs."""

import numpy as np
import pytest
import torch
from torch import nn

from gradstudio.core import record
from gradstudio.core.capture import BackwardEndEvent, BackwardNodeEvent, BackwardStartEvent, LeafGradEvent
from gradstudio.core.examples import CascadeNet


def mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))


def of(tape, cls):
    return [e for e in tape.events if isinstance(e, cls)]


def assert_reverse_topological(tape):
    """Autograd may run a node only after every node that consumes its output has run."""
    order = {e.node: e.index for e in of(tape, BackwardNodeEvent)}
    g = tape.graph()
    for e in g.edges:
        if e.src in order and e.dst in order:
            assert order[e.dst] < order[e.src], f"{g.nodes[e.src].label} ran before its consumer {g.nodes[e.dst].label}"


@pytest.mark.parametrize("make", [mlp, lambda: CascadeNet(widths=(4, 8), depth=1)], ids=["mlp", "cascade"])
def test_backward_order_and_leaf_grads_match_torch(make):
    model = make()
    x = torch.randn(2, 4) if isinstance(model, nn.Sequential) else torch.randn(2, 3, 8, 8)
    with record(model) as tape:
        loss = model(x).pow(2).mean()
        loss.backward()
    assert_reverse_topological(tape)
    g = tape.graph()
    names = dict(model.named_parameters())
    params = g.by_kind("parameter")
    assert {p.label for p in params} == set(names)
    for p in params:
        torch.testing.assert_close(p.grad.values, names[p.label].grad)
    # every node reachable from the loss ran exactly once
    ran = [e.node for e in of(tape, BackwardNodeEvent)]
    assert len(ran) == len(set(ran))
    assert set(ran) == {n.id for n in g.nodes.values() if n.kind in ("op", "accumulate") and n.contributes}


def test_backward_events_carry_gradients_in_and_out():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with record() as tape:
        y = x**3
        loss = y.sum()
        loss.backward()
    g = tape.graph()
    (pow_ev,) = [e for e in of(tape, BackwardNodeEvent) if g.nodes[e.node].label == "PowBackward0"]
    torch.testing.assert_close(pow_ev.grads_received[0].values, torch.ones(3))
    # x feeds only pow: what pow sends is what x's AccumulateGrad receives, stored once
    assert pow_ev.sent_as_received == {0} and pow_ev.grads_sent == [None]
    # the edge x -> pow carries that gradient, and the output node shows the seed gradient
    (edge,) = [e for e in g.edges if e.dst == pow_ev.node]
    torch.testing.assert_close(edge.grad.values, 3 * x.detach() ** 2)
    (leaf_ev,) = of(tape, LeafGradEvent)
    torch.testing.assert_close(leaf_ev.grad.values, x.grad)
    start, end = of(tape, BackwardStartEvent)[0], of(tape, BackwardEndEvent)[0]
    assert start.api == "Tensor.backward" and "loss.backward()" in start.source.text
    assert end.ok and end.freed
    assert all(n.freed for n in g.nodes.values() if n.kind == "op")


def test_retain_graph_then_second_backward_accumulates():
    model = mlp()
    x = torch.randn(5, 4)
    with record(model) as tape:
        loss = model(x).sum()
        loss.backward(retain_graph=True)
        first = model[0].weight.grad.clone()
        loss.backward()
    starts = of(tape, BackwardStartEvent)
    ends = of(tape, BackwardEndEvent)
    assert [s.retain_graph for s in starts] == [True, False]
    assert [e.freed for e in ends] == [False, True]
    leaf = next(n for n in tape.graph().by_kind("parameter") if n.label == "0.weight")
    assert len(leaf.backward) == 2
    torch.testing.assert_close(leaf.backward[0][1].values, first)
    torch.testing.assert_close(leaf.backward[1][1].values, 2 * first)  # accumulated, not replaced
    # after the first pass nothing is freed yet; after the second, everything is
    g1 = tape.graph(step=ends[0].index)
    assert not any(n.freed for n in g1.nodes.values())
    assert g1.saved_bytes >= 5 * 8 * 4  # tanh's result, at least, is held
    assert all(n.freed for n in tape.graph().by_kind("op"))
    assert tape.graph().saved_bytes == 0  # freed: nothing held any more


def test_backward_through_freed_graph_reaches_caller_unchanged():
    x = torch.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError) as recorded:
        with record() as tape:
            loss = (x.exp() * 2).sum()
            loss.backward()
            loss.backward()
    x2 = torch.randn(3, requires_grad=True)
    loss2 = (x2.exp() * 2).sum()
    loss2.backward()
    with pytest.raises(RuntimeError) as plain:
        loss2.backward()
    assert str(recorded.value) == str(plain.value)  # the very message PyTorch gives
    ends = of(tape, BackwardEndEvent)
    assert [e.ok for e in ends] == [True, False]
    assert "backward through the graph a second time" in ends[1].error
    assert tape.failed
    assert tape.events[-1].kind == "error"
    _assert_nothing_left_behind()


def test_autograd_grad_is_recorded_and_leaves_grad_untouched():
    x = torch.randn(4, requires_grad=True)
    with record() as tape:
        y = (x.sin() * x).sum()
        (gx,) = torch.autograd.grad(y, x)
    assert x.grad is None
    start = of(tape, BackwardStartEvent)[0]
    end = of(tape, BackwardEndEvent)[0]
    assert start.api == "torch.autograd.grad"
    torch.testing.assert_close(end.returned[0].values, gx)
    torch.testing.assert_close(gx, x.detach().cos() * x.detach() + x.detach().sin())
    assert of(tape, LeafGradEvent) == []
    assert_reverse_topological(tape)


@pytest.mark.parametrize("api", ["grad", "backward"])
@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")  # PyTorch's advice, known
def test_nodes_a_create_graph_pass_builds_belong_to_that_pass(api):
    """Double backward: the graph of the gradient is made by the pass, not by the next call."""
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with record() as tape:
        y = (x**3).sum()
        if api == "grad":
            (gx,) = torch.autograd.grad(y, x, create_graph=True)
        else:
            y.backward(create_graph=True)
            gx = x.grad
        z = gx.sum()  # a later call: must not take the credit
    end = of(tape, BackwardEndEvent)[0]
    made = [n for n in tape.nodes.values() if n.step == end.index]
    assert made and gx.grad_fn.metadata  # the gradient's own node is among them
    assert {n.name for n in made} >= {type(gx.grad_fn).__name__}
    g = tape.graph()
    node = g.nodes[made[0].id]
    assert node.op == ("torch.autograd.grad" if api == "grad" else "Tensor.backward")
    assert "create_graph=True" in node.source.text
    later = [n for n in tape.nodes.values() if n.step == end.index + 1]
    assert [n.name for n in later] == ["SumBackward0"]
    (gz,) = torch.autograd.grad(z, x)
    torch.testing.assert_close(gz, 6 * x.detach())


def test_hooks_are_removed_after_backward():
    model = mlp()
    x = torch.randn(2, 4)
    with record(model) as tape:
        loss = model(x).sum()
        loss.backward(retain_graph=True)
    assert len(of(tape, BackwardNodeEvent)) > 0
    n = len(tape.events)
    # the same graph, backward again after the recording: its nodes carry no hook any more
    model.zero_grad()
    loss.backward()
    assert len(tape.events) == n
    plain = mlp()
    plain.load_state_dict(model.state_dict())
    plain(x).sum().backward()
    for (name, p), q in zip(model.named_parameters(), plain.parameters()):
        torch.testing.assert_close(p.grad, q.grad, msg=name)
    _assert_nothing_left_behind()


class _FailOnce(torch.autograd.Function):
    """Identity whose backward raises while `armed`."""

    armed = True

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        if _FailOnce.armed:
            raise ValueError("backward refused")
        return grad


def test_hooks_are_removed_when_backward_raises():
    x = torch.randn(3, requires_grad=True)
    _FailOnce.armed = True
    with pytest.raises(ValueError, match="backward refused"):
        with record() as tape:
            loss = (_FailOnce.apply(x * 2) ** 2).sum()
            loss.backward(retain_graph=True)
    end = of(tape, BackwardEndEvent)[0]
    assert not end.ok and "backward refused" in end.error
    n = len(tape.events)
    _FailOnce.armed = False
    loss.backward()  # the graph was retained: it runs now, unrecorded
    assert len(tape.events) == n
    torch.testing.assert_close(x.grad, 8 * x.detach())
    _assert_nothing_left_behind()


def _assert_nothing_left_behind():
    from torch.nn.modules import module as module_mod

    assert not torch._C._is_torch_function_mode_enabled()
    assert not module_mod._global_forward_hooks
    assert not module_mod._global_forward_pre_hooks
    assert torch.autograd.Function.apply.__func__.__name__ == "apply"


def test_failure_midway_leaves_partial_tape_and_no_mode_or_hook():
    model = mlp()
    with pytest.raises(RuntimeError, match="mat1 and mat2 shapes cannot be multiplied"):
        with record(model) as tape:
            h = model[0](torch.randn(2, 4))
            model[2](h)  # 8 features into Linear(8, 3): fine
            model[0](h)  # 8 features into Linear(4, 8): raises here
    assert tape.failed
    err = tape.events[-1]
    assert err.kind == "error" and "mat1 and mat2" in err.message
    assert "model[0](h)" in err.source.text  # the user's line, not torch's
    assert [e.op for e in tape.events[:-1]] == ["randn", "linear", "linear"]
    _assert_nothing_left_behind()
    # a later plain forward is unaffected
    out = model(torch.randn(1, 4))
    assert out.shape == (1, 3)


def test_zero_grad_skipped_shows_accumulation_across_two_batches():
    model = mlp()
    x = torch.randn(3, 4)
    with record(model) as tape:
        for _ in range(2):  # same batch twice, no zero_grad
            model(x).sum().backward()
    w = model[2].weight
    grads = [e.grad.values for e in of(tape, LeafGradEvent) if tape.leaves[e.leaf].name == "2.weight"]
    assert len(grads) == 2
    torch.testing.assert_close(grads[1], 2 * grads[0])
    torch.testing.assert_close(grads[1], w.grad)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_tensors_record_like_cpu():
    model = mlp().cuda()
    with record(model) as tape:
        model(torch.randn(2, 4, device="cuda")).sum().backward()
    g = tape.graph()
    for p in g.by_kind("parameter"):
        assert p.grad.values.device.type == "cpu"
        torch.testing.assert_close(p.grad.values, dict(model.named_parameters())[p.label].grad.cpu())
    assert_reverse_topological(tape)


def test_gradients_sent_to_a_shared_producer_are_kept_per_edge():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with record() as tape:
        h = x * 1
        y = (h * 3 + h.exp()).sum()  # h has two consumers: each edge carries its own gradient
        y.backward()
    g = tape.graph()
    (h_node,) = [n for n in g.by_label("MulBackward0") if n.step == 0]
    into_h_consumers = {g.nodes[e.dst].label: e.grad.values for e in g.edges if e.src == h_node.id}
    torch.testing.assert_close(into_h_consumers["MulBackward0"], torch.full((2,), 3.0))
    torch.testing.assert_close(into_h_consumers["ExpBackward0"], torch.tensor([1.0, 2.0]).exp())
    torch.testing.assert_close(h_node.grad.values, 3 + torch.tensor([1.0, 2.0]).exp())


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"model": "net"}, TypeError, "torch.nn.Module or None, not str"),
        ({"memory_budget": "256M"}, TypeError, "number of bytes"),
        ({"memory_budget": -1}, ValueError, "0 or more bytes, not -1"),
        ({"names": 5}, TypeError, "namespace"),
        ({"cancel": True}, TypeError, "threading.Event"),
        ({"model_path": 3}, TypeError, "model_path"),
    ],
)
def test_misused_arguments_fail_in_words_before_anything_is_installed(kwargs, error, words):
    with pytest.raises(error, match=words):
        record(**kwargs)
    _assert_nothing_left_behind()
    with record(memory_budget=np.int64(1024)) as tape:  # numpy's integers are integers too
        (torch.ones(2, requires_grad=True) * 2).sum().backward()
    assert not tape.failed


def _edge_grads(tape) -> dict:
    g = tape.graph()
    return {(g.nodes[e.src].label, g.nodes[e.dst].label): e.grad.values for e in g.edges if e.grad is not None}


def test_a_tensor_hook_that_changes_a_gradient_shows_it_sent_and_received_apart():
    """Between the node that sends a gradient and the node that receives it, a hook may
    change it: the edge shows what was sent, the receiving node what it got."""
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with record() as tape:
        h = x * 1
        h.register_hook(lambda g: g * 10)
        h.exp().sum().backward()
    sent = x.detach().exp()
    edges = _edge_grads(tape)
    torch.testing.assert_close(edges[("MulBackward0", "ExpBackward0")], sent)
    mul = next(e for e in of(tape, BackwardNodeEvent) if tape.nodes[e.node].name == "MulBackward0")
    torch.testing.assert_close(mul.grads_received[0].values, 10 * sent)
    torch.testing.assert_close(x.grad, 10 * sent)


def test_hooks_on_a_leaf_and_on_a_module_keep_what_was_sent():
    lin = nn.Linear(3, 2)
    lin.weight.register_hook(lambda g: g * 0)  # registered before the recording
    lin.register_full_backward_hook(lambda mod, gin, gout: (gin[0] * 3,))
    x = torch.randn(4, 3, requires_grad=True)
    with record(lin) as tape:
        lin(x).sum().backward()
    received = {tape.nodes[e.node].name: e for e in of(tape, BackwardNodeEvent)}
    weight_acc = next(e for e in of(tape, BackwardNodeEvent)
                      if tape.nodes[e.node].leaf and tape.leaves[tape.nodes[e.node].leaf].name == "weight")
    assert torch.count_nonzero(weight_acc.grads_received[0].values) == 0  # after the hook
    sent_to_weight = [v for (src, dst), v in _edge_grads(tape).items() if src == "AccumulateGrad" and dst == "TBackward0"]
    assert sent_to_weight and torch.count_nonzero(sent_to_weight[0]) > 0  # before it
    assert "BackwardHookFunctionBackward" in received
    torch.testing.assert_close(x.grad, 3 * torch.ones(4, 2) @ lin.weight.detach())


def test_an_optimizer_stepped_inside_backward_leaves_grads_and_values_recorded():
    """The optimizer-in-backward pattern: a post-accumulate-grad hook steps the optimizer
    and clears `.grad` inside the pass, where the recorder sees no calls."""
    torch.manual_seed(0)
    lin = nn.Linear(3, 1)
    optimizers = {p: torch.optim.SGD([p], lr=0.1) for p in lin.parameters()}

    def step_now(p):
        optimizers[p].step()
        optimizers[p].zero_grad()

    for p in lin.parameters():
        p.register_post_accumulate_grad_hook(step_now)
    x = torch.randn(4, 3)
    before = {n: p.detach().clone() for n, p in lin.named_parameters()}
    with record(lin) as tape:
        lin(x).sum().backward()
    after = {n: p.detach().clone() for n, p in lin.named_parameters()}
    true_grads = {n: (before[n] - after[n]) / 0.1 for n in before}
    for ev in of(tape, LeafGradEvent):
        name = tape.leaves[ev.leaf].name
        torch.testing.assert_close(ev.grad.values, true_grads[name])
    end = of(tape, BackwardEndEvent)[0]
    for leaf in tape.leaves.values():
        torch.testing.assert_close(leaf.value.values, before[leaf.name])  # as the forward used it
        assert [k for k, _ in leaf.updates] == [end.index]
        torch.testing.assert_close(leaf.value_at(end.index).values, after[leaf.name])
    assert all(p.grad is None for p in lin.parameters())  # the user's hooks ran as without a recording
    assert all(len(p._post_accumulate_grad_hooks) == 1 for p in lin.parameters())  # ours is gone
