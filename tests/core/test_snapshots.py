"""Snapshots are copy-on-write: they must still show the values as they were at their step."""

import torch
from torch import nn

from gradstudio.core import record
from gradstudio.core.capture import CallEvent, LeafGradEvent


def outputs_of(tape, op):
    return [e.outputs[0] for e in tape.events if isinstance(e, CallEvent) and e.op == op]


def test_in_place_op_after_snapshot_keeps_the_old_values():
    x = torch.arange(4.0, requires_grad=True)
    with record() as tape:
        y = x * 2
        y.add_(1)
        y[0] = 100.0
    (mul,) = outputs_of(tape, "mul")
    torch.testing.assert_close(mul.values, torch.tensor([0.0, 2.0, 4.0, 6.0]))
    (add,) = outputs_of(tape, "add_")
    torch.testing.assert_close(add.values, torch.tensor([1.0, 3.0, 5.0, 7.0]))
    assert not mul.stale


def test_an_in_place_aten_overload_copies_the_old_values_first():
    """`torch.ops.aten.add_.Tensor` is named "add_.Tensor": still an in-place op."""
    with record() as tape:
        b = torch.ones(3) * 3
        torch.ops.aten.add_.Tensor(b, torch.ones(3))
    (mul,) = outputs_of(tape, "mul")
    assert not mul.stale
    torch.testing.assert_close(mul.values, torch.full((3,), 3.0))
    assert mul.stats.max == 3.0
    torch.testing.assert_close(b, torch.full((3,), 4.0))


def test_inplace_relu_does_not_rewrite_the_batchnorm_output():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(inplace=True))
    x = torch.randn(2, 1, 5, 5)
    with record(net) as tape:
        net(x)
    (bn,) = outputs_of(tape, "batch_norm")
    assert bn.values.min() < 0  # a normalised output has negatives; relu_ must not show here
    (relu,) = outputs_of(tape, "relu")  # F.relu(..., inplace=True)
    assert relu.values.min() >= 0


def test_optimizer_step_inside_recording_keeps_pre_step_parameter_values():
    torch.manual_seed(0)
    lin = nn.Linear(3, 1)
    before = lin.weight.detach().clone()
    opt = torch.optim.SGD(lin.parameters(), lr=0.5)
    with record(lin) as tape:
        lin(torch.randn(4, 3)).sum().backward()
        opt.step()
    weight = next(n for n in tape.graph().by_kind("parameter") if n.label == "weight")
    step_event = weight.value_updates[-1][0]
    before_step = tape.graph(step=step_event - 1).nodes[weight.id]
    torch.testing.assert_close(before_step.value.values, before)  # as used by the forward
    torch.testing.assert_close(weight.grad.values, lin.weight.grad)
    torch.testing.assert_close(lin.weight.detach(), before - 0.5 * lin.weight.grad)
    torch.testing.assert_close(weight.value.values, lin.weight.detach())  # after optimizer.step()


def test_tensors_changed_after_recording_keep_recorded_values():
    x = torch.ones(3, requires_grad=True)
    with record() as tape:
        out = x * 3
        out.sum().backward()
    with torch.no_grad():
        out.zero_()  # the user changes what they kept
        x.grad.mul_(10)
    (mul,) = outputs_of(tape, "mul")
    torch.testing.assert_close(mul.values, torch.full((3,), 3.0))
    (grad,) = [e.grad for e in tape.events if isinstance(e, LeafGradEvent)]
    torch.testing.assert_close(grad.values, torch.full((3,), 3.0))


def test_zero_grad_without_set_to_none_does_not_erase_recorded_grads():
    lin = nn.Linear(2, 1)
    opt = torch.optim.SGD(lin.parameters(), lr=0.1)
    x = torch.ones(1, 2)
    with record(lin) as tape:
        lin(x).sum().backward()
        opt.zero_grad(set_to_none=False)
        lin(x).sum().backward()
    grads = [e.grad.values for e in tape.events if isinstance(e, LeafGradEvent) and tape.leaves[e.leaf].name == "weight"]
    torch.testing.assert_close(grads[0], torch.ones(1, 2))
    torch.testing.assert_close(grads[1], torch.ones(1, 2))  # zeroed, then one batch again


class _InDeviceMemory(torch.Tensor):
    """Stands for a tensor on a GPU (the branch runs here; the real thing in test_cuda.py)."""

    @property
    def is_cpu(self):
        return False


def test_the_end_of_a_recording_copies_references_to_device_memory_and_keeps_cpu_ones():
    from gradstudio.core.capture.snapshot import MemoryBudget, SnapshotStore

    store = SnapshotStore(MemoryBudget(1 << 20))
    on_device = torch.arange(6.0).as_subclass(_InDeviceMemory)
    on_cpu = torch.arange(6.0) * 2
    device_snap, cpu_snap = store.snapshot(on_device), store.snapshot(on_cpu)
    del on_device, on_cpu  # nobody else holds either: a CPU one may stay a reference
    store.settle()
    assert not device_snap.pending and cpu_snap.pending
    torch.testing.assert_close(device_snap.values.as_subclass(torch.Tensor), torch.arange(6.0))
    torch.testing.assert_close(cpu_snap.values, torch.arange(6.0) * 2)


def test_a_snapshot_changed_unseen_keeps_its_shape_dtype_and_device():
    """A reference whose tensor changed where no recorder could see it loses its values,
    not what kind of tensor it was."""
    x = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    with record() as tape:
        y = x * 2
    y.data.add_(1)  # after the recording: the tape copied y, since y is still alive
    (snap,) = next(e for e in tape.events if isinstance(e, CallEvent)).outputs
    torch.testing.assert_close(snap.values, x.detach() * 2)
    from gradstudio.core.capture.snapshot import MemoryBudget, SnapshotStore

    store = SnapshotStore(MemoryBudget(1 << 20))
    t = torch.ones(2, 5, dtype=torch.float16)
    snap = store.snapshot(t)
    t.mul_(3)  # no recording sees this one: only the version counter tells
    store.settle()
    assert snap.stale and snap.values is None
    assert (snap.shape, snap.dtype, snap.device, snap.numel) == ((2, 5), "float16", "cpu", 10)


def test_a_conjugate_view_keeps_its_own_values_beside_its_base():
    """`w.conj()` shares `w`'s memory, shape and strides and differs only by a flag: the
    end of the recording must not give it `w`'s copy (both are still alive here)."""
    z = torch.tensor([1 + 2j, 3 - 4j], requires_grad=True)
    with record() as tape:
        w = z * 1
        c = w.conj()
        (c * w).real.sum().backward()
    values = {e.op: e.outputs[0].values for e in tape.events if isinstance(e, CallEvent)}
    torch.testing.assert_close(values["mul"], torch.tensor([5 + 0j, 25 + 0j]))  # the last mul
    torch.testing.assert_close(values["conj"], torch.tensor([1 - 2j, 3 + 4j]))
    first_mul = next(e for e in tape.events if isinstance(e, CallEvent) and e.op == "mul")
    torch.testing.assert_close(first_mul.outputs[0].values, torch.tensor([1 + 2j, 3 - 4j]))
    del w, c


def test_memory_handed_to_numpy_or_through_data_keeps_the_recorded_values():
    """Writes through a numpy array or a `.data` alias do not move the tensor's version
    counter: once its memory is handed out, the tape copies what it keeps of it."""
    with record() as tape:
        arr = (torch.arange(4.0) * 2).numpy()  # a temporary, normalised in place later
        y = torch.ones(3) * 2
        alias = y.data
        del y
        a = torch.ones(3) * 5
        a.numpy()[:] = 99  # during the recording
        a * 1  # after it: the new values
    arr -= arr.mean()
    alias.add_(100)
    muls = outputs_of(tape, "mul")
    torch.testing.assert_close(muls[0].values, torch.tensor([0.0, 2.0, 4.0, 6.0]))
    torch.testing.assert_close(muls[1].values, torch.full((3,), 2.0))
    torch.testing.assert_close(muls[2].values, torch.full((3,), 5.0))
    torch.testing.assert_close(muls[3].values, torch.full((3,), 99.0))
    assert not any(m.stale for m in muls)
