"""Dynamic graphs: runs of the same model differ, and `diff` says how."""

import random

import torch
from torch import nn

from gradstudio.core import diff, record
from gradstudio.core.examples import CascadeNet, Power, RandomDepthNet, ResidualBlock, Stage, VariableLengthRNN


def record_random_depth(net, x):
    with record(net) as tape:
        net(x).sum().backward()
    return tape, net.last_depth


def test_random_depth_diff_is_empty_iff_depths_match():
    net = RandomDepthNet(features=4, rng=random.Random(3))
    x = torch.randn(2, 4)
    runs = [record_random_depth(net, x) for _ in range(8)]
    depths = [d for _, d in runs]
    assert len(set(depths)) > 1, "seed should give different depths"
    for tape_a, da in runs[:3]:
        for tape_b, db in runs:
            d = diff(tape_a.graph(), tape_b.graph())
            assert bool(d) == (da != db), (da, db, d.summary())
    # the shared layer: one weight leaf, used `depth` times
    tape, depth = runs[0]
    g = tape.graph()
    assert len(g.by_label("shared.weight")) == 1
    assert len(g.by_label("AddmmBackward0")) == depth
    weight = g.by_label("shared.weight")[0]
    (acc,) = [e.dst for e in g.edges if e.src == weight.id]
    assert len([e for e in g.edges if e.src == acc]) == depth  # one AccumulateGrad feeds every use


def test_diff_names_the_nodes_only_one_run_has():
    net = RandomDepthNet(features=4)
    x = torch.randn(1, 4)
    net.rng = random.Random(0)
    tapes = {}
    while len(tapes) < 2:
        tape, depth = record_random_depth(net, x)
        tapes.setdefault(depth, tape)
    (da, ta), (db, tb) = sorted(tapes.items())
    d = diff(ta.graph(), tb.graph())
    added = [k for k in d.only_b if "AddmmBackward0" in k]
    assert len(added) == db - da
    assert d.only_a == []


def test_an_extra_input_adds_its_own_nodes_and_moves_no_other():
    net = torch.nn.Linear(3, 2)

    def run(extra: bool):
        x = torch.randn(1, 3, requires_grad=True)
        with record(net) as tape:
            bias = torch.ones(2, requires_grad=True) * 2 if extra else 0  # a leaf before x's
            (net(x) + bias).sum().backward()
        return tape.graph()

    d = diff(run(False), run(True))
    assert d.only_a == [] and d.edges_only_a == []  # x's AccumulateGrad is still x's
    assert d.only_b == ["/MulBackward0#0", "input:input0", "input:input0/AccumulateGrad"]


def test_variable_length_rnn_graph_grows_with_the_input():
    torch.manual_seed(0)
    rnn = VariableLengthRNN(input_size=3, hidden_size=5)
    sizes = {}
    for length in (1, 3, 7):
        with record(rnn) as tape:
            rnn(torch.randn(length, 2, 3)).sum().backward()
        g = tape.graph()
        sizes[length] = len(g.by_label("TanhBackward0"))
        assert {e.module for e in tape.forward_events} <= {None, "", "cell", "readout"}
    assert sizes == {1: 1, 3: 3, 7: 7}


def test_seed_hierarchy_clusters_nest_like_the_modules():
    net = CascadeNet(widths=(4, 8), depth=2)
    with record(net) as tape:
        net(torch.randn(1, 3, 8, 8)).sum().backward()
    g = tape.graph()
    block = g.clusters["stages.0.blocks.1"]
    assert block.class_name == "ResidualBlock"
    assert block.parent == "stages.0.blocks"
    assert g.clusters["stages.0"].class_name == "Stage"
    assert g.clusters["stages.0"].parent == "stages"
    assert g.clusters[""].class_name == "CascadeNet"
    # the residual add is created in the block itself, the convs in their own modules
    assert any(g.nodes[n].label == "AddBackward0" for n in block.nodes)
    assert [g.nodes[n].label for n in g.clusters["stages.0.blocks.1.conv1"].nodes].count("ConvolutionBackward0") == 1
    # parameters sit with the module that owns them
    w = next(n for n in g.by_kind("parameter") if n.label == "stages.0.blocks.1.conv1.weight")
    assert w.module == "stages.0.blocks.1.conv1"


def test_a_residual_block_alone_joins_its_input_to_the_conv_path():
    block = ResidualBlock(4)
    x = torch.randn(1, 4, 5, 5, requires_grad=True)
    with record(block) as tape:
        block(x).sum().backward()
    g = tape.graph()
    (add,) = g.by_label("AddBackward0")
    into_add = {g.nodes[e.src].label for e in g.edges if e.dst == add.id}
    assert into_add == {"NativeBatchNormBackward0", "AccumulateGrad"}  # bn2's output and the skip from x
    assert [g.nodes[n].label for n in g.clusters["conv1"].nodes].count("ConvolutionBackward0") == 1
    torch.testing.assert_close(g.by_label("x")[0].grad.values, x.grad)
    for name, p in block.named_parameters():
        torch.testing.assert_close(g.by_label(name)[0].grad.values, p.grad, msg=name)


def test_a_stage_alone_chains_its_blocks():
    stage = Stage(4, depth=3)
    with record(stage) as tape:
        stage(torch.randn(2, 4, 5, 5)).sum().backward()
    g = tape.graph()
    blocks = [c for c in g.clusters if c.startswith("blocks.") and c.count(".") == 1]
    assert sorted(blocks) == ["blocks.0", "blocks.1", "blocks.2"]
    assert all(g.clusters[b].class_name == "ResidualBlock" and g.clusters[b].parent == "blocks" for b in blocks)
    assert len(g.by_label("AddBackward0")) == 3
    # each block's residual add takes the previous block's output (its last ReLU) as the skip
    for k in (1, 2):
        (add,) = [g.nodes[n] for n in g.clusters[f"blocks.{k}"].nodes if g.nodes[n].label == "AddBackward0"]
        sources = {g.nodes[e.src].module for e in g.edges if e.dst == add.id}
        assert f"blocks.{k - 1}.relu" in sources


def test_power_graph_is_the_seed_picture():
    cube = Power(3)
    inp = torch.randn(100, requires_grad=True)
    with record(cube) as tape:
        output = cube(inp)
        output.mean().backward()
    g = tape.graph()
    assert sorted(n.label for n in g.nodes.values()) == sorted(
        ["inp", "AccumulateGrad", "PowBackward0", "MeanBackward0", "output"]
    )
    torch.testing.assert_close(g.by_label("inp")[0].grad.values, 3 * inp.detach() ** 2 / 100)
    shapes = {(g.nodes[e.src].label, g.nodes[e.dst].label): e.shape for e in g.edges}
    assert shapes == {
        ("inp", "AccumulateGrad"): (100,),
        ("AccumulateGrad", "PowBackward0"): (100,),
        ("PowBackward0", "MeanBackward0"): (100,),
        ("MeanBackward0", "output"): (),
    }


def test_graph_at_step_shows_only_nodes_created_so_far():
    net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU())
    with record(net) as tape:
        net(torch.randn(1, 2)).sum()
    counts = [len(tape.graph(step=k).by_kind("op")) for k in range(len(tape.events))]
    assert counts == [0, 2, 3, 4]  # randn; linear (addmm + the weight transpose); relu; sum


def test_one_node_and_the_memory_at_a_step_read_as_the_whole_graph_at_that_step():
    """What stepping asks at each key press (one node, its edges, the bytes held for
    backward) is read off the whole graph without copying it, and agrees with `at(step)`:
    over two training iterations, a retained pass, an optimizer step and the freeing."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    with record(net) as tape:
        for _ in range(2):
            loss = net(torch.randn(5, 3)).pow(2).mean()
            loss.backward(retain_graph=True)
            loss.backward()
            opt.step()
            opt.zero_grad()
    g = tape.graph()
    assert any(n.freed for n in g.nodes.values()) and any(n.value_updates for n in g.nodes.values())
    held = []
    for k in range(len(tape.events)):
        at = g.at(k)
        assert g.saved_bytes_at(k) == at.saved_bytes
        held.append(at.saved_bytes)
        for node_id, full in g.nodes.items():
            one = g.node_at(node_id, k)
            if node_id not in at.nodes:
                assert one is None
                continue
            want = at.nodes[node_id]
            assert (one.backward, one.freed_step, one.value, one.value_updates) == (
                want.backward, want.freed_step, want.value, want.value_updates
            )
            ins, outs = g.edges_at(node_id, k)
            assert [(e.src, e.slot) for e in ins] == [(e.src, e.slot) for e in at.inputs_of(node_id)]
            assert [(e.dst, e.slot) for e in outs] == [(e.dst, e.slot) for e in at.outputs_of(node_id)]
    assert max(held) > 0 and held[-1] == g.saved_bytes == 0  # all freed by the last backward


def test_a_layer_applied_several_times_gets_no_box_spanning_its_calls():
    net = RandomDepthNet(features=4, rng=random.Random(3))
    x = torch.randn(2, 4)
    while True:
        tape, depth = record_random_depth(net, x)
        if depth > 1:
            break
    g = tape.graph()
    assert "shared" not in g.clusters  # one box around all calls would cut through the loop
    addmms = g.by_label("AddmmBackward0")
    assert all(n.module == "shared" for n in addmms)  # the nodes still name their module
    assert all(n.id in g.clusters[""].nodes for n in addmms)  # drawn in the enclosing box
    single = CascadeNet(widths=(4,), depth=1)
    with record(single) as t2:
        single(torch.randn(1, 3, 8, 8)).sum().backward()
    g2 = t2.graph()
    assert "stages.0.blocks.0.conv1" in g2.clusters  # called once: boxed
    assert "stages.0.blocks.0.relu" not in g2.clusters  # one ReLU used twice in the block


def test_diff_sees_arguments_swapped_and_an_input_used_more_often():
    """Edges match by argument position too (`a - b` is not `b - a`), and each edge counts:
    `cat([h] * 3)` has one more edge from h than `cat([h] * 2)`."""
    torch.manual_seed(0)
    a_lin, b_lin, x = nn.Linear(4, 4), nn.Linear(4, 4), torch.randn(2, 4)

    def run(expression):
        with record() as tape:
            ha, hb = a_lin(x), b_lin(x)
            expression(ha, hb).sum().backward()
        return tape.graph()

    swapped = diff(run(lambda ha, hb: ha - hb), run(lambda ha, hb: hb - ha))
    assert swapped.only_a == swapped.only_b == []
    assert len(swapped.edges_only_a) == len(swapped.edges_only_b) == 2
    assert {slot for _, dst, slot in swapped.edges_only_b if "SubBackward0" in dst} == {0, 1}
    more = diff(run(lambda ha, hb: torch.cat([ha] * 2)), run(lambda ha, hb: torch.cat([ha] * 3)))
    assert more.only_a == more.only_b == [] and more.edges_only_a == []
    assert len(more.edges_only_b) == 1 and "CatBackward0" in more.edges_only_b[0][1]
    assert not diff(run(lambda ha, hb: ha - hb), run(lambda ha, hb: ha - hb))


def test_the_graph_at_a_step_has_boxes_only_for_the_modules_run_by_then():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    with record(net) as tape:
        net(torch.randn(2, 3)).sum().backward()
    final = tape.graph()
    assert set(final.clusters) == {"", "0", "1", "2"}
    seen = []
    for k in range(len(tape.events)):
        g = tape.graph(step=k)
        boxes = set(g.clusters)
        assert all(set(c.children) <= boxes for c in g.clusters.values())
        assert all(c.first_step <= k for c in g.clusters.values())
        seen.append(boxes)
    assert seen[0] <= seen[-1] and seen[-1] == {"", "0", "1", "2"}
    first_relu = next(e.index for e in tape.events if getattr(e, "op", None) == "relu")
    assert "1" not in tape.graph(step=first_relu - 1).clusters
    assert "2" not in tape.graph(step=first_relu).clusters and "1" in tape.graph(step=first_relu).clusters


def test_without_backward_the_outputs_are_the_results_still_held():
    """No backward names the outputs: every result nothing recorded used and the code
    still holds is one (not just the last call's), so the forward's result is not dead."""
    net = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 1))
    with record(net) as tape:
        y = net(torch.randn(2, 4)).sum()
        reg = (net[0].weight * 2).sum()
        torch.ones(2, requires_grad=True).mul(3).exp()  # a result dropped at once: no output
    g = tape.graph()
    assert sorted(n.label for n in g.by_kind("output")) == ["reg", "y"]
    assert all(n.contributes for n in g.nodes.values() if n.kind == "parameter")
    dropped = [n for n in g.nodes.values() if n.label == "ExpBackward0"]
    assert dropped and not dropped[0].contributes
    del y, reg


def test_layers_keep_their_boxes_over_several_training_steps():
    """A layer run again in the next step (another call of the model) keeps its box; one
    run twice within one call of its parent (a shared ReLU) sits in the enclosing box."""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.act = nn.Linear(4, 4), nn.ReLU()

        def forward(self, x):
            return self.act(self.fc(self.act(x)))

    net = Net()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    with record(net) as tape:
        for _ in range(2):
            opt.zero_grad()
            net(torch.randn(2, 4, requires_grad=True)).sum().backward()
            opt.step()
    g = tape.graph()
    assert set(g.clusters) == {"", "fc"}  # `act` ran twice per call: no box of its own
    addmms = [n.id for n in g.nodes.values() if n.label == "AddmmBackward0"]
    assert len(addmms) == 2 and set(addmms) <= set(g.clusters["fc"].nodes)
    first_backward = next(e.index for e in tape.events if e.kind == "backward_start")
    assert "fc" in tape.graph(step=first_backward).clusters
