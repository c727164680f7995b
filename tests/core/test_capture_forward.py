"""Forward recording: one event per torch call, the nodes it made, where it ran."""

import pytest
import torch
from torch import nn

from gradstudio.core import record
from gradstudio.core.capture import CallEvent
from gradstudio.core.examples import CascadeNet, Power


def calls(tape):
    return [e for e in tape.events if isinstance(e, CallEvent)]


def test_power_records_pow_with_its_source_line_and_module():
    cube = Power(3)
    inp = torch.randn(100, requires_grad=True)
    with record(cube) as tape:
        output = cube(inp)
    (ev,) = calls(tape)
    assert ev.op == "pow"
    assert [tape.nodes[n].name for n in ev.nodes] == ["AccumulateGrad", "PowBackward0"]
    assert ev.module == ""  # the recorded model itself
    assert ev.source.text.strip() == "return input**self.exponent"
    assert ev.source.function == "forward"
    assert ev.outputs[0].shape == (100,)
    assert (ev.outputs[0].dtype, ev.outputs[0].device) == ("float32", "cpu")
    assert ev.outputs[0].requires_grad
    torch.testing.assert_close(ev.outputs[0].values, output.detach())
    assert ev.inputs[0].source == "l0"
    assert tape.leaves["l0"].name == "inp"  # named after the user's variable
    assert tape.leaves["l0"].kind == "input"


def test_one_call_can_create_several_nodes():
    logits = torch.randn(4, 3, requires_grad=True)
    target = torch.tensor([0, 2, 1, 0])
    with record() as tape:
        torch.nn.functional.cross_entropy(logits, target)
    (ev,) = calls(tape)
    names = [tape.nodes[n].name for n in ev.nodes]
    assert "LogSoftmaxBackward0" in names and "NllLossBackward0" in names


def test_control_flow_records_bool_event_and_line():
    x = torch.randn(5, requires_grad=True)
    with record() as tape:
        if x.sum() > 0:  # the branch line
            y = x * 2
        else:
            y = x * -1
    evs = calls(tape)
    ops = [e.op for e in evs]
    assert ops[:3] == ["sum", "gt", "__bool__"]
    boolean = evs[2]
    assert boolean.control_flow and boolean.nodes == []
    assert "if x.sum() > 0:" in boolean.source.text
    g = tape.graph()
    sum_node = g.nodes[evs[0].nodes[-1]]
    assert sum_node.label == "SumBackward0"
    assert not sum_node.contributes  # created, but the output does not depend on it
    assert g.nodes[evs[3].nodes[-1]].contributes
    del y


def test_a_property_that_computes_is_an_event_with_its_node_and_line():
    w = torch.randn(4, 3, requires_grad=True)
    x = torch.randn(2, 4)
    with record() as tape:
        wt = w.T  # the transpose, as a property
        y = x @ w
        shape, grad = w.shape, w.grad  # metadata: no events
        z = wt.sum() + y.sum()
    evs = calls(tape)
    assert [e.op for e in evs] == ["T", "matmul", "sum", "sum", "add"]
    transpose = evs[0]
    assert [tape.nodes[n].name for n in transpose.nodes] == ["AccumulateGrad", "PermuteBackward0"]
    assert transpose.source.text.strip() == "wt = w.T  # the transpose, as a property"
    assert transpose.outputs[0].shape == (3, 4)
    assert transpose.inputs[0].source == tape.nodes[transpose.nodes[0]].leaf
    # the later sum starts from the transpose's node instead of claiming it
    assert [tape.nodes[n].name for n in evs[2].nodes] == ["SumBackward0"]
    del shape, grad, z


def test_a_computing_property_is_an_event_also_without_a_node():
    x = torch.randn(2, 3)
    with record() as tape:
        xt = x.T
    (ev,) = calls(tape)
    assert (ev.op, ev.nodes, ev.outputs[0].shape) == ("T", [], (3, 2))
    del xt


def test_ops_inside_a_pytorch_constructor_other_than_a_modules_are_recorded():
    mu = torch.zeros(3, requires_grad=True)
    sigma = torch.ones(1, requires_grad=True)
    with record() as tape:
        dist = torch.distributions.Normal(mu, sigma)  # broadcasts sigma to mu's shape
        lp = dist.log_prob(torch.zeros(3)).sum()
    expand = [e for e in calls(tape) if any(tape.nodes[n].name == "ExpandBackward0" for n in e.nodes)]
    assert expand, "the broadcast in Normal.__init__ made a node: its call must be an event"
    assert "torch.distributions.Normal(mu, sigma)" in expand[0].source.text
    del lp


def test_module_set_up_is_not_recorded():
    with record() as tape:
        layer = nn.Linear(3, 2)  # kaiming_uniform_ and friends: PyTorch's set-up
        out = layer(torch.randn(1, 3))
    assert [e.op for e in calls(tape)] == ["randn", "linear"]
    del out


def test_a_lazy_module_making_its_parameters_on_first_call_is_set_up_too():
    lazy, x = nn.LazyLinear(2), torch.randn(3, 4)
    with record(lazy) as tape:
        out = lazy(x)
    assert [e.op for e in calls(tape)] == ["linear"]
    assert {leaf.name for leaf in tape.leaves.values()} == {"weight", "bias"}
    del out


def test_calls_without_nodes_are_events_too():
    w = torch.randn(3, requires_grad=True)
    with record() as tape:
        with torch.no_grad():
            a = w * 2
        n = torch.arange(5) + 1
        v = (w * 3).sum().item()
    evs = calls(tape)
    assert evs[0].op == "mul" and evs[0].nodes == [] and not evs[0].grad_enabled
    assert evs[1].op == "arange" and evs[1].nodes == []
    assert evs[2].op == "add" and evs[2].nodes == []
    assert evs[-1].op == "item" and evs[-1].control_flow
    del a, n, v


def test_nested_module_paths_from_named_modules():
    torch.manual_seed(0)
    net = CascadeNet(widths=(4, 8), depth=2)
    with record(net) as tape:
        net(torch.randn(2, 3, 8, 8))
    paths = {e.module for e in calls(tape)}
    assert "stages.0.blocks.0.conv1" in paths
    assert "stages.2.blocks.1.bn2" in paths
    assert "head" in paths
    conv = next(e for e in calls(tape) if e.module == "stages.2.blocks.0.conv1")
    assert conv.op == "conv2d"
    stack = [tape.module_calls[i].path for i in conv.module_calls]
    assert stack == ["", "stages", "stages.2", "stages.2.blocks", "stages.2.blocks.0", "stages.2.blocks.0.conv1"]
    params = {leaf.name for leaf in tape.leaves.values() if leaf.kind == "parameter"}
    assert "stages.2.blocks.0.conv1.weight" in params
    assert "head.bias" in params
    assert tape.module_classes["stages.2.blocks.0"] == "ResidualBlock"


def test_module_call_boundaries_allow_stepping_over_a_call():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    with record(net) as tape:
        net(torch.randn(2, 3)).sum()
    first = tape.module_calls[1]  # "0": the first Linear
    assert first.path == "0"
    assert tape.events[first.start_event].op == "linear"
    assert tape.events[first.end_event].module == "1"  # the first event after it returned


def test_unrecorded_modules_are_named_by_their_variable():
    cube = Power(3)
    square = Power(2)
    x = torch.randn(3, requires_grad=True)
    with record() as tape:
        cube(x) + square(x)
    assert [e.module for e in calls(tape)] == ["cube", "square", None]


def test_unnamed_inputs_get_numbered_names():
    with record() as tape:
        (torch.randn(2, requires_grad=True) * torch.randn(2, requires_grad=True)).sum()
    names = sorted(leaf.name for leaf in tape.leaves.values())
    assert names == ["input0", "input1"]


def test_custom_autograd_function_is_an_event():
    class Square(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = torch.randn(3, requires_grad=True)
    with record() as tape:
        y = Square.apply(x)
    ev = calls(tape)[-1]
    assert ev.op == "Square.apply"
    assert [tape.nodes[n].name for n in ev.nodes][-1] == "SquareBackward"
    assert torch.autograd.Function.apply.__func__.__name__ != "_patched_apply"  # restored afterwards
    # the forward's own `x * x`, then the apply; the recorder's own work makes no events
    assert [e.op for e in calls(tape)] == ["mul", "Square.apply"]
    assert {tape.nodes[n].step for n in ev.nodes} == {ev.index}  # created by the apply
    (square,) = [tape.nodes[n] for n in ev.nodes if tape.nodes[n].name == "SquareBackward"]
    assert [(s.name, s.shape, s.nbytes) for s in square.saved] == [("saved_tensors", (3,), 12)]  # ctx.save_for_backward
    del y

    class Same(torch.autograd.Function):  # saves nothing: no row at all
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, g):
            return g

    with record() as tape:
        y = Same.apply(x)
    assert [n.saved for n in tape.nodes.values() if n.name == "SameBackward"] == [[]]
    del y


def test_in_place_op_creates_its_node_at_that_call():
    x = torch.randn(4, requires_grad=True)
    with record() as tape:
        y = x * 1
        y.add_(1)
        y[0] = 5.0
    evs = calls(tape)
    assert [tape.nodes[n].name for n in evs[1].nodes] == ["AddBackward0"]
    assert evs[2].op == "__setitem__"
    assert "CopySlices" in [tape.nodes[n].name for n in evs[2].nodes]


def test_saved_tensors_and_bytes_held():
    lin = nn.Linear(64, 32)
    x = torch.randn(16, 64, requires_grad=True)
    with record(lin) as tape:
        h = torch.relu(x)  # relu keeps its result; addmm keeps the same buffer as mat1
        y = torch.tanh(lin(h))
    g = tape.graph()
    (addmm,) = g.by_label("AddmmBackward0")
    saved = {s.name: s for s in addmm.saved}
    assert saved["mat1"].shape == (16, 64) and saved["mat1"].nbytes == 16 * 64 * 4
    assert not saved["mat1"].aliases_leaf
    assert saved["mat2"].shape == (64, 32) and saved["mat2"].aliases_leaf  # the weight exists anyway
    (tanh,) = g.by_label("TanhBackward0")
    assert {s.name for s in tanh.saved} == {"result"}
    # h (16x64, shared by relu and addmm, counted once) and tanh's result (16x32);
    # the weight and x exist anyway and are not counted
    assert g.saved_bytes == 16 * 64 * 4 + 16 * 32 * 4
    del y


def test_saved_values_that_are_not_tensors_read_as_text_also_after_pickling():
    import pickle

    x = torch.randn(4, 5, requires_grad=True)
    idx = torch.tensor([0, 2])
    with record() as tape:
        y = x[:, idx]  # keeps the indices as a list whose first entry is None
        z = x.view(20)
    saved = {n.name: {s.name: s for s in n.saved} for n in tape.nodes.values()}
    assert saved["ViewBackward0"]["self_sym_sizes"].value == "(4, 5)"
    assert saved["ViewBackward0"]["self_sym_sizes"].shape is None
    index = saved["IndexBackward0"]
    assert index["indices[0]"].value == "None" and index["indices[0]"].shape is None
    assert index["indices[1]"].shape == (2,) and index["indices[1]"].dtype == "int64"
    copy = pickle.loads(pickle.dumps(tape))
    after = {n.name: {s.name: s for s in n.saved} for n in copy.nodes.values()}
    assert after == saved
    assert after["IndexBackward0"]["self_sym_sizes"].value == "(4, 5)"
    del y, z


def test_memory_budget_keeps_stats_but_drops_values():
    x = torch.randn(1000, requires_grad=True)
    with record(memory_budget=10_000) as tape:
        y = x * 2
        z = y.exp()
    assert tape.values_truncated
    last = calls(tape)[-1].outputs[0]
    assert last.values is None and last.values_dropped
    assert abs(last.stats.mean - float(z.detach().mean())) < 1e-4
    assert last.stats.numel == 1000


def test_the_default_budget_is_256_mib_and_keeps_every_value_of_a_small_run():
    x = torch.randn(1000, requires_grad=True)
    with record() as tape:
        z = (x * 2).exp()
    assert tape.budget.limit == 256 * 1024 * 1024
    assert not tape.values_truncated
    torch.testing.assert_close(calls(tape)[-1].outputs[0].values, z.detach())


def test_stats_count_nan_and_inf_and_leave_them_out():
    with record() as tape:
        t = torch.tensor([1.0, float("nan"), 3.0, float("inf")]) * 1
    s = calls(tape)[-1].outputs[0].stats
    assert (s.nan_count, s.inf_count, s.min, s.max, s.mean) == (1, 1, 1.0, 3.0, 2.0)
    del t


def test_metadata_queries_are_not_events():
    x = torch.randn(3, 4, requires_grad=True)
    with record() as tape:
        n = x.shape[0] + x.size(1) + x.dim()
        x * n
    assert [e.op for e in calls(tape)] == ["mul"]


def test_recording_slows_garbage_collection_only_while_it_runs_also_when_the_code_raises():
    import gc

    before = gc.get_threshold()
    with record() as tape:
        assert gc.get_threshold()[0] >= 100_000  # the tape's objects all stay alive
        torch.ones(2, requires_grad=True).sum()
    assert gc.get_threshold() == before and tape.events
    with pytest.raises(ZeroDivisionError), record():
        1 / 0
    assert gc.get_threshold() == before


def test_source_text_is_kept_as_it_read_when_recorded():
    import pickle

    from gradstudio.core.capture import register_source

    source = "y = (x * 3).sum()\n"
    register_source("<lesson-edit>", source)
    x = torch.randn(4, requires_grad=True)
    with record() as tape:
        exec(compile(source, "<lesson-edit>", "exec"), {"x": x})
    register_source("<lesson-edit>", "print('edited afterwards')\n")  # the editor changed the line
    copy = pickle.loads(pickle.dumps(calls(tape)[0].source))
    assert calls(tape)[0].source.text == "y = (x * 3).sum()"
    assert copy.text == "y = (x * 3).sum()"


def test_a_model_on_the_meta_device_records_shapes_without_values():
    layer = nn.Linear(3, 2, device="meta")
    with record(layer) as tape:
        layer(torch.empty(4, 3, device="meta")).sum().backward()
    assert not tape.failed
    linear = next(e for e in calls(tape) if e.op == "linear")
    out = linear.outputs[0]
    assert (out.shape, out.device, out.values) == ((4, 2), "meta", None)
    g = tape.graph()
    assert g.by_label("weight")[0].grad.shape == (2, 3)


def test_modules_the_model_does_not_hold_are_named_by_their_variables():
    """A module kept in a global, or made in `forward`, is not among the model's modules:
    it goes by the variable that holds it, inside the module that called it."""
    helper = nn.Linear(4, 4)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            extra = nn.Linear(4, 4)
            return extra(helper(self.fc(x)))

    model = Model()
    with record(model) as tape:
        model(torch.randn(2, 4)).sum().backward()
    names = sorted(leaf.name for leaf in tape.leaves.values())
    assert names == sorted(["fc.weight", "fc.bias", "helper.weight", "helper.bias", "extra.weight", "extra.bias"])
    assert {"helper", "extra"} <= set(tape.graph().clusters)


def test_one_module_held_at_two_places_is_named_by_the_place_it_was_called_from():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            shared = nn.Linear(4, 4)
            self.enc = nn.Sequential(shared, nn.ReLU())
            self.dec = nn.Sequential(nn.Tanh(), shared)

        def forward(self, x):
            return self.dec(self.enc(x))

    model = Model()
    with record(model) as tape:
        model(torch.randn(2, 4)).sum().backward()
    assert [c.path for c in tape.module_calls] == ["", "enc", "enc.0", "enc.1", "dec", "dec.0", "dec.1"]
    g = tape.graph()
    assert [g.nodes[i].label for i in g.clusters["dec.1"].nodes if g.nodes[i].kind == "op"] == [
        "TBackward0", "AddmmBackward0"
    ]
    assert sorted(leaf.name for leaf in tape.leaves.values()) == ["enc.0.bias", "enc.0.weight"]  # one weight
