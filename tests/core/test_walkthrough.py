"""The training loop one line at a time: real values after every line, checked against torch."""

from __future__ import annotations

import copy
import gc
import math
import threading
import weakref

import pytest
import torch
from gradstudio.core.capture import (
    BackwardEndEvent,
    BackwardNodeEvent,
    BackwardStartEvent,
    CallEvent,
    LeafGradEvent,
)
from gradstudio.core.data import LoaderSettings, make_loaders, spirals
from gradstudio.core.walkthrough import (
    LINES,
    Position,
    TrainingWalkthrough,
    accumulation_ratio,
    elementwise_ratio,
    parameter_updates,
    update_heatmap,
)
from torch import nn

SECOND_TIME = "Trying to backward through the graph a second time"


def mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))


def spiral_batches(n: int = 3) -> list[tuple[torch.Tensor, torch.Tensor]]:
    data = spirals(size=200, seed=1)
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))
    return [(data.x[order[8 * k:8 * k + 8]], data.y[order[8 * k:8 * k + 8]]) for k in range(n)]


def run_lines(walk: TrainingWalkthrough, n: int) -> list:
    return [walk.advance() for _ in range(n)]


def torch_grads(model: nn.Module, batch) -> dict[str, torch.Tensor]:
    """The gradients torch.autograd computes for this batch, independently of the walkthrough."""
    names, params = zip(*model.named_parameters())
    loss = nn.CrossEntropyLoss()(model(batch[0]), batch[1])
    return dict(zip(names, torch.autograd.grad(loss, params)))


def test_five_lines_in_order_give_real_values():
    model, batches = mlp(), spiral_batches()
    reference = copy.deepcopy(model)
    walk = TrainingWalkthrough(model, batches, nn.CrossEntropyLoss(), lr=0.1)
    assert walk.lines == list(LINES) == [
        "optimizer.zero_grad()", "outputs = net(images)", "loss = loss_fn(outputs, labels)",
        "loss.backward()", "optimizer.step()",
    ]
    positions = [walk.position]
    results = []
    for _ in range(5):
        results.append(walk.advance())
        positions.append(walk.position)
    assert positions == [(1, 0), (1, 1), (1, 2), (1, 3), (1, 4), (2, 0)]
    assert [r.index for r in results] == [0, 1, 2, 3, 4] and [r.text for r in results] == list(LINES)
    assert all(r.ok and r.iteration == 1 for r in results)
    zero, forward, loss, backward, step = results

    assert zero.change == "nothing to clear: no parameter has a .grad yet"
    # Linear: addmm + transpose of the weight; Tanh; Linear again
    assert forward.change == "forward: 5 autograd nodes created (+4 AccumulateGrad for parameters); outputs 8×2"
    expected_loss = nn.CrossEntropyLoss()(reference(batches[0][0]), batches[0][1]).item()
    assert loss.loss == pytest.approx(expected_loss, abs=1e-6)
    assert loss.change == f"loss = {expected_loss:.4f} (2 autograd nodes created)"
    assert backward.change.startswith("backward: 11 nodes ran; .grad filled for 4 parameters; graph freed")
    assert step.change.startswith("step: 4 parameters updated") and step.change.endswith("(w ← w − 0.1·grad)")

    # .grad stays empty until backward, then holds exactly what torch.autograd computes
    for r in (zero, forward, loss):
        assert all(g is None for g in r.grads.values())
    for name, g in torch_grads(reference, batches[0]).items():
        torch.testing.assert_close(backward.grads[name], g)
    # weights move only at the step line
    initial = dict(reference.named_parameters())
    for r in (zero, forward, loss, backward):
        assert all(torch.equal(r.params[n], initial[n]) for n in r.params)
    assert all(not torch.equal(step.params[n], initial[n]) for n in step.params)


def test_zero_grad_on_iteration_two_clears_every_grad():
    walk = TrainingWalkthrough(mlp(), spiral_batches(), nn.CrossEntropyLoss())
    first = run_lines(walk, 5)
    assert all(g is not None for g in first[-1].grads.values())
    zero = walk.advance()
    assert zero.iteration == 2 and zero.change == "cleared .grad of 4 parameters"
    assert all(g is None or not g.any() for g in zero.grads.values())


def test_skipped_zero_grad_on_a_repeated_batch_doubles_the_grads_exactly():
    model, batches = mlp(), spiral_batches()
    reference = copy.deepcopy(model)
    # lr=0: the weights stay, so the second backward computes the very same gradient again
    walk = TrainingWalkthrough(model, batches, "cross_entropy", lr=0.0, skip_zero_grad=True, repeat_batch=True)
    first = run_lines(walk, 5)[3]
    second_iteration = run_lines(walk, 5)
    zero, second = second_iteration[0], second_iteration[3]
    assert zero.change == "skipped: .grad of 4 parameters kept; the next backward adds to them"
    assert "added to the ones already there" in zero.explanation
    assert ".grad accumulated for 4 parameters" in second.change
    assert torch.equal(walk.batch[0], batches[0][0])  # the same batch, not the next one
    own = torch_grads(reference, batches[0])
    for name in first.grads:
        torch.testing.assert_close(second.grads[name], 2 * first.grads[name], rtol=0, atol=0)
        torch.testing.assert_close(second.grads[name], 2 * own[name])
    assert accumulation_ratio(first.grads, second.grads) == {name: 2.0 for name in first.grads}


def test_skipped_zero_grad_after_a_real_step_adds_the_new_gradient():
    model, batches = mlp(), spiral_batches()
    reference = copy.deepcopy(model)
    walk = TrainingWalkthrough(model, batches, nn.CrossEntropyLoss(), lr=0.1, skip_zero_grad=True, repeat_batch=True)
    run_lines(walk, 5)
    second = run_lines(walk, 4)[3]
    # by hand: grad at the old weights, one SGD step, grad at the new weights; the sum is .grad
    g1 = torch_grads(reference, batches[0])
    with torch.no_grad():
        for name, p in reference.named_parameters():
            p -= 0.1 * g1[name]
    g2 = torch_grads(reference, batches[0])
    for name in g1:
        torch.testing.assert_close(second.grads[name], g1[name] + g2[name])


def test_sgd_step_is_old_minus_lr_times_grad_for_every_parameter():
    walk = TrainingWalkthrough(mlp(), spiral_batches(), nn.CrossEntropyLoss(), "SGD", lr=0.1)
    *_, backward, step = run_lines(walk, 5)
    assert [u.name for u in step.updates] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    for u in step.updates:
        old, grad = backward.params[u.name], backward.grads[u.name]
        assert torch.equal(u.old, old) and torch.equal(u.grad, grad) and torch.equal(u.new, step.params[u.name])
        # PyTorch computes w + (-lr)·grad in one fused multiply-add: exact against that form,
        # and within one rounding of the two-step formula
        assert torch.equal(u.new, old.add(grad, alpha=-0.1))
        torch.testing.assert_close(u.new, old - 0.1 * grad)
        torch.testing.assert_close(u.delta, u.new - u.old, rtol=0, atol=0)
        assert u.max_abs_delta == pytest.approx(float((u.new - u.old).abs().max()))
        assert u.matches_sgd_rule and u.rule == "w ← w − 0.1·grad"
    assert [tuple(update_heatmap(u).shape) for u in step.updates] == [(16, 2), (1, 16), (2, 16), (1, 2)]


def test_adam_step_equals_torch_adam_and_is_not_the_sgd_rule():
    model, batches = mlp(), spiral_batches()
    reference = copy.deepcopy(model)
    walk = TrainingWalkthrough(model, batches, nn.CrossEntropyLoss(), "Adam", lr=0.01)
    step = run_lines(walk, 5)[4]
    adam = torch.optim.Adam(reference.parameters(), lr=0.01)
    adam.zero_grad()
    nn.CrossEntropyLoss()(reference(batches[0][0]), batches[0][1]).backward()
    adam.step()
    for name, p in reference.named_parameters():
        torch.testing.assert_close(step.params[name], p.detach())
    assert all(not u.matches_sgd_rule for u in step.updates)
    assert all("running moments" in u.rule and "no simple check" in u.rule for u in step.updates)
    assert "w ← w − 0.01·grad" not in step.change


def test_backward_again_without_retain_graph_returns_pytorch_s_own_error():
    model, batches = mlp(), spiral_batches()
    x = torch.ones(2, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError) as real:
        y.backward()

    walk = TrainingWalkthrough(model, batches, nn.CrossEntropyLoss())
    backward = run_lines(walk, 4)[3]
    assert walk.can_backward_again
    again = walk.backward_again()  # raises nothing
    assert again.error == str(real.value) and SECOND_TIME in again.error
    assert again.error_type == "RuntimeError" and not again.ok
    assert "freed" in again.explanation and "retain_graph" in again.explanation
    assert again.change == "backward again: refused by PyTorch; .grad unchanged"
    for name, g in backward.grads.items():
        assert torch.equal(again.grads[name], g)
    assert walk.position == Position(1, 4)
    assert walk.advance().ok  # the step still runs on the grads of the one backward


def test_backward_again_with_retain_graph_doubles_the_grads():
    walk = TrainingWalkthrough(mlp(), spiral_batches(), nn.CrossEntropyLoss(), retain_graph=True)
    backward = run_lines(walk, 4)[3]
    assert backward.text == "loss.backward(retain_graph=True)"
    assert "graph kept (retain_graph=True" in backward.change
    again = walk.backward_again()
    assert again.ok and again.change.startswith("backward again: 11 nodes ran; .grad accumulated for 4 parameters")
    assert "twice the first" in again.explanation
    for name, g in backward.grads.items():
        torch.testing.assert_close(again.grads[name], 2 * g, rtol=0, atol=0)
    assert accumulation_ratio(backward.grads, again.grads) == {name: 2.0 for name in backward.grads}
    assert walk.tape.backward_passes == 2


def test_backward_again_is_refused_outside_its_place():
    walk = TrainingWalkthrough(mlp(), spiral_batches(), nn.CrossEntropyLoss())
    run_lines(walk, 3)
    assert not walk.can_backward_again
    with pytest.raises(RuntimeError, match=r"backward_again: only between loss.backward\(\) and optimizer.step\(\)"):
        walk.backward_again()


def test_iteration_tape_has_forward_ops_with_source_lines_and_backward_events():
    model = mlp()
    walk = TrainingWalkthrough(model, spiral_batches(), nn.CrossEntropyLoss())
    zero, forward, loss = run_lines(walk, 3)
    tape = forward.tape
    assert zero.tape is tape is loss.tape  # one tape across the lines of an iteration
    # the app's own torch calls between lines do not land on the tape
    before = len(tape.events)
    model(torch.randn(4, 2)).sum().item()
    assert len(tape.events) == before

    calls = [tape.events[k] for k in forward.steps]
    assert [(e.op, e.module) for e in calls] == [("linear", "0"), ("tanh", "1"), ("linear", "2")]
    assert all(isinstance(e, CallEvent) and e.nodes and e.source.text.strip() == LINES[1] for e in calls)
    (loss_call,) = [tape.events[k] for k in loss.steps]
    assert loss_call.op == "cross_entropy" and loss_call.source.text.strip() == LINES[2]
    # nodes appear at the forward line: the graph after it has the three layers' ops
    graph = tape.graph(step=forward.steps[-1])
    assert {"AddmmBackward0", "TanhBackward0"} <= {n.label for n in graph.nodes.values()}

    backward, step = run_lines(walk, 2)
    events = [tape.events[k] for k in backward.steps]
    assert isinstance(events[0], BackwardStartEvent) and events[0].source.text.strip() == LINES[3]
    assert isinstance(events[-1], BackwardEndEvent) and events[-1].ok and events[-1].freed
    ran = [e for e in events if isinstance(e, BackwardNodeEvent)]
    assert len(ran) == 11
    leaf_names = {tape.leaves[e.leaf].name for e in events if isinstance(e, LeafGradEvent)}
    assert leaf_names == {"0.weight", "0.bias", "2.weight", "2.bias"}
    # after backward the graph's saved tensors are freed; the step's new weights are on the leaves
    after = tape.graph(step=backward.steps[-1])
    assert all(n.freed for n in after.nodes.values() if n.kind == "op")
    assert all(leaf.updates and leaf.updates[0][0] in step.steps for leaf in tape.leaves.values())


def test_reset_leaves_no_graph_alive_and_restores_the_weights():
    sentinels = []

    def loss_fn(outputs, labels):
        loss = nn.functional.cross_entropy(outputs, labels)

        class Sentinel:  # lives exactly as long as the loss's grad_fn holds its hook
            pass

        s = Sentinel()
        loss.grad_fn.register_prehook(lambda grads, s=s: None)
        sentinels.append(weakref.ref(s))
        return loss

    model = mlp()
    initial = {n: p.detach().clone() for n, p in model.named_parameters()}
    walk = TrainingWalkthrough(model, spiral_batches(), loss_fn, retain_graph=True)
    run_lines(walk, 5)
    run_lines(walk, 4)  # iteration 2 after backward: its graph (retained) is alive
    gc.collect()
    assert sentinels[1]() is not None
    walk.reset()
    gc.collect()
    assert all(ref() is None for ref in sentinels)
    assert walk.position == Position(1, 0) and walk.tape is None and walk.batch is None
    for name, p in model.named_parameters():
        assert torch.equal(p.detach(), initial[name]) and p.grad is None


def test_a_dropped_walkthrough_ends_its_recording():
    walk = TrainingWalkthrough(mlp(), spiral_batches(), nn.CrossEntropyLoss())
    run_lines(walk, 2)
    threads = [t for t in threading.enumerate() if t.name == "gradstudio-walkthrough-recording"]
    assert len(threads) == 1
    del walk
    gc.collect()
    threads[0].join(timeout=10)
    assert not threads[0].is_alive()


def test_toggles_change_only_between_iterations():
    walk = TrainingWalkthrough(mlp(), spiral_batches(), nn.CrossEntropyLoss())
    walk.retain_graph = True
    walk.advance()
    with pytest.raises(ValueError, match=r"skip_zero_grad: can change only between iterations; iteration 1 is at line 2"):
        walk.skip_zero_grad = True
    walk.retain_graph = True  # unchanged value: fine anywhere
    run_lines(walk, 4)
    walk.skip_zero_grad = True
    assert walk.skip_zero_grad and walk.retain_graph


def test_bad_settings_name_the_field():
    with pytest.raises(ValueError, match="optimizer_name: expected one of SGD, Adam"):
        TrainingWalkthrough(mlp(), spiral_batches(), nn.CrossEntropyLoss(), "Lion")
    with pytest.raises(ValueError, match="lr: expected a number >= 0"):
        TrainingWalkthrough(mlp(), spiral_batches(), nn.CrossEntropyLoss(), lr=-1)
    with pytest.raises(ValueError, match="momentum: Adam has no momentum setting"):
        TrainingWalkthrough(mlp(), spiral_batches(), nn.CrossEntropyLoss(), "Adam", momentum=0.9)
    with pytest.raises(ValueError, match="batches: empty"):
        TrainingWalkthrough(mlp(), [], nn.CrossEntropyLoss())
    with pytest.raises(ValueError, match="loss_fn: expected one of cross_entropy"):
        TrainingWalkthrough(mlp(), spiral_batches(), "hinge")


def test_a_failing_line_is_reported_and_the_position_stays():
    wide = nn.Sequential(nn.Linear(3, 4))  # the data has 2 features
    walk = TrainingWalkthrough(wide, spiral_batches(), nn.CrossEntropyLoss())
    walk.advance()
    result = walk.advance()
    assert not result.ok and result.error_type == "RuntimeError" and "shapes cannot be multiplied" in result.error
    assert "input size" in result.explanation and walk.position == Position(1, 1)

    walk = TrainingWalkthrough(mlp(), [("not", "tensors")], nn.CrossEntropyLoss())
    result = walk.advance()
    assert result.error == "batches: batch 1 has images of type str, expected a tensor"
    assert walk.position == Position(1, 0)


def test_a_dataloader_feeds_one_new_batch_per_iteration():
    loader, _ = make_loaders(spirals(size=40), LoaderSettings(batch_size=8, validation_fraction=0.0))
    walk = TrainingWalkthrough(mlp(), loader, nn.CrossEntropyLoss())
    seen = []
    for _ in range(6):  # one epoch has 5 batches: the sixth starts a new epoch
        run_lines(walk, 5)
        seen.append(walk.batch[0].clone())
    assert all(b.shape == (8, 2) for b in seen)
    assert not torch.equal(seen[0], seen[1])


def test_updates_describe_other_rules_and_heatmaps_keep_rows():
    conv = torch.zeros(4, 3, 2, 2)
    before, after = {"w": conv}, {"w": conv + 1}
    (u,) = parameter_updates(before, {"w": torch.ones_like(conv)}, after, "SGD", 0.5, momentum=0.9)
    assert not u.matches_sgd_rule and u.rule.startswith("v ← 0.9·v + grad;  w ← w − 0.5·v")
    assert u.max_abs_delta == 1.0 and update_heatmap(u).shape == (4, 12)
    (plain,) = parameter_updates(before, {"w": -2 * torch.ones_like(conv)}, after, "SGD", 0.5)
    assert plain.matches_sgd_rule  # 0 - 0.5·(-2) == 1
    (wrong,) = parameter_updates(before, {"w": torch.ones_like(conv)}, after, "SGD", 0.5)
    assert not wrong.matches_sgd_rule
    with pytest.raises(ValueError, match="before: no value for parameter 'w'"):
        parameter_updates({}, {}, after, "SGD", 0.1)


def test_accumulation_ratio_skips_zero_and_missing_gradients():
    first = {"a": torch.tensor([1.0, 0.0, -2.0]), "b": None, "c": torch.zeros(2)}
    second = {"a": torch.tensor([3.0, 5.0, -6.0]), "b": torch.ones(1), "c": torch.ones(2)}
    ratios = accumulation_ratio(first, second)
    assert ratios["a"] == 3.0 and math.isnan(ratios["b"]) and math.isnan(ratios["c"])
    r = elementwise_ratio(first["a"], second["a"])
    assert r[0] == 3.0 and math.isnan(r[1]) and r[2] == 3.0
