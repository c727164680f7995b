"""Training accuracy worked out for many steps at once equals the accuracy of each step."""

import torch

from gradstudio.core.training.accuracy import PendingAccuracy, accuracies, batch_accuracy
from gradstudio.core.training.engine import StepMetrics


def _one_by_one(outputs, targets):
    if targets.dim() == 1 and not targets.is_floating_point():
        return (outputs.argmax(1) == targets).double().mean().item()
    if not bool(((targets == 0) | (targets == 1)).all()):
        return None
    return ((outputs > 0).to(targets.dtype) == targets).double().mean().item()


def test_class_scores_of_unequal_batches_match_each_batch_alone():
    g = torch.Generator().manual_seed(0)
    pairs = [(torch.randn(n, 4, generator=g), torch.randint(0, 4, (n,), generator=g)) for n in (32, 32, 7, 32, 1)]
    for value, (out, tgt) in zip(accuracies(pairs), pairs):
        assert abs(value - _one_by_one(out, tgt)) < 1e-12


def test_binary_logits_count_and_targets_that_are_not_0_or_1_have_no_accuracy():
    g = torch.Generator().manual_seed(1)
    good = [(torch.randn(16, 1, generator=g), torch.randint(0, 2, (16, 1), generator=g).float()) for _ in range(3)]
    regression = (torch.randn(16, 1, generator=g), torch.randn(16, 1, generator=g))
    pairs = [good[0], regression, good[1], good[2]]
    values = accuracies(pairs)
    assert values[1] is None
    for value, (out, tgt) in zip([values[0], values[2], values[3]], good):
        assert abs(value - _one_by_one(out, tgt)) < 1e-12


def test_outputs_that_are_not_classifications_have_no_accuracy():
    assert batch_accuracy(torch.randn(8, 3, 5), torch.randn(8, 3, 5)) is None
    assert batch_accuracy(torch.randn(8, 3), torch.randn(8)) is None
    assert batch_accuracy(torch.randn(0, 3), torch.zeros(0, dtype=torch.long)) is None


def test_reading_one_step_resolves_every_waiting_step_and_the_limit_bounds_the_wait():
    pending = PendingAccuracy(limit=3)
    steps = [StepMetrics(i, 0, 0.5) for i in range(4)]
    outputs = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    for i, metrics in enumerate(steps[:2]):
        pending.add(metrics, outputs, torch.tensor([0, i % 2]))
    assert all(m._pending is pending for m in steps[:2])
    assert steps[1].accuracy == 1.0  # read the second: both resolved
    assert steps[0]._pending is None and steps[0].accuracy == 0.5
    for metrics in steps[2:]:
        pending.add(metrics, outputs, torch.tensor([1, 0]))
    assert steps[2]._pending is pending  # 2 waiting, under the limit of 3
    assert steps[3].values()["accuracy"] == 0.0
