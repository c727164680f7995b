"""Exports: the tape as JSON, the graph as DOT that Graphviz accepts."""

import json
import shutil
import subprocess

import pytest
import torch

from gradstudio.core import record
from gradstudio.core.examples import CascadeNet
from gradstudio.core.export import graph_to_dot, save_tape_json


@pytest.fixture()
def tape():
    net = CascadeNet(widths=(4, 8), depth=1)
    with record(net) as t:
        net(torch.randn(1, 3, 8, 8)).sum().backward()
    return t


def test_tape_json_round_trips_events_and_nodes(tape, tmp_path):
    path = tmp_path / "tape.json"
    save_tape_json(tape, path)
    data = json.loads(path.read_text())
    assert data["format"] == "gradstudio-tape" and data["version"] == 1
    assert len(data["events"]) == len(tape.events)
    first = data["events"][0]
    assert first["kind"] == "call" and first["source"]["line"] > 0
    assert {n["id"] for n in data["nodes"]} == set(tape.nodes)
    back = next(e for e in data["events"] if e["kind"] == "backward_node")
    assert back["grads_received"][0]["stats"]["norm"] is not None
    assert not list(tmp_path.glob(".tape.json.*"))  # no temporary file left behind


def test_dot_source_has_nodes_clusters_and_edges(tape):
    g = tape.graph()
    dot = graph_to_dot(g)
    assert dot.count(" -> ") == len(g.edges)
    assert 'subgraph "cluster_stages.0.blocks.0"' in dot
    for n in g.nodes.values():
        assert f'"{n.id}" [label=' in dot


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot not installed")
def test_dot_source_is_valid_graphviz(tape, tmp_path):
    dot = graph_to_dot(tape.graph(step=10))
    result = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "<svg" in result.stdout


def test_tape_json_with_values_holds_nan_inf_and_complex_numbers(tmp_path):
    """NaN is the case a user exports values to look at: it must not fail the file."""
    w = torch.tensor([float("nan"), 1.0, float("inf")], requires_grad=True)
    z = torch.tensor([1 + 2j, 3 - 4j])
    with record() as tape:
        (w * 2).sum().backward()
        z.conj() * 1
    path = tmp_path / "tape.json"
    save_tape_json(tape, path, with_values=True)
    data = json.loads(path.read_text())
    values = {e["op"]: e["outputs"][0]["values"] for e in data["events"] if e["kind"] == "call"}
    assert values["mul"] == [[1.0, -2.0], [3.0, 4.0]]  # the last mul: conj(z) as (real, imaginary)
    calls = [e for e in data["events"] if e["kind"] == "call"]
    assert calls[0]["outputs"][0]["values"] == [None, 2.0, None]
    assert calls[1]["outputs"][0]["values"] is None  # the sum is NaN


def test_dot_puts_the_nodes_of_a_module_run_twice_in_the_box_around_it():
    """A module run twice has no box of its own; in DOT as in the app its nodes sit in the
    enclosing module's box, not outside every box."""

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.act = torch.nn.Linear(4, 4), torch.nn.ReLU()

        def forward(self, x):
            return self.act(self.fc(self.act(x))).sum()

    net = Net()
    with record(net) as tape:
        net(torch.randn(2, 4, requires_grad=True)).backward()
    graph = tape.graph()
    relus = [n.id for n in graph.nodes.values() if n.label == "ReluBackward0"]
    assert len(relus) == 2 and set(relus) <= set(graph.clusters[""].nodes)
    dot = graph_to_dot(graph)
    for nid in relus:  # one level in: inside the model's subgraph
        assert f'\n    "{nid}" [' in dot
