"""The "Dynamic vs static" view: each scenario's graphs, marks, sentences and numbers."""

from __future__ import annotations

import html
import re

import pytest
import torch
from gradstudio.core.compare import EXPORT, TRACE, capture_export, capture_trace
from gradstudio.core.compare.marks import LOST, PAIRED, STATIC_ONLY
from gradstudio.core.compare.static_graph import static_graph
from gradstudio.core.live_model import LiveModel
from gradstudio.core.session import Session
from gradstudio.gui.compare import CompareView
from gradstudio.gui.compare.mark_items import MarkItem
from torch import nn

WAIT_MS = 60_000  # the first torch.export of a process takes a few seconds


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.fc2 = nn.Linear(8, 2)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


class Broken(nn.Module):
    def forward(self, x):
        raise ValueError("this model cannot run")


def make_view(qtbot, session: Session | None = None, scenario: str | None = None, method: str = EXPORT):
    view = CompareView(session or Session())
    qtbot.addWidget(view)
    view.resize(1600, 1000)
    if method != EXPORT:
        view.set_method(method)
    if scenario is not None:
        view.select_scenario(scenario)
    view.show()
    wait_ready(qtbot, view)
    return view


def wait_ready(qtbot, view: CompareView) -> None:
    qtbot.waitUntil(lambda: view.comparison is not None and view.ready, timeout=WAIT_MS)


@pytest.fixture()
def closing():
    views = []
    yield views.append
    for view in views:
        view.shutdown()


def marks_on(column) -> dict[str, str]:
    """Node id -> role of the marks drawn on a column's scene."""
    scene = column.panel.scene
    out = {}
    for nid, item in scene.nodes.items():
        for child in item.childItems():
            if isinstance(child, MarkItem):
                out[nid] = child.mark.role
    return out


def plain(label) -> str:
    """A rich-text label's text as the user reads it."""
    return html.unescape(re.sub(r"<[^>]+>", "", label.text()))


def nodes_in(title: str) -> int:
    return int(re.search(r"(\d+) nodes", title).group(1))


# -- random depth ------------------------------------------------------------------------
def test_random_depth_run_again_changes_the_run_not_the_static_graph(qtbot, closing):
    view = make_view(qtbot, scenario="depth")
    closing(view)
    assert view.headline.text() == "export saw depth 4; this run used depth 2"
    (dynamic,) = view.shown_dynamic
    static = view.static_column
    assert dynamic.title_text.startswith("this run: depth 2") and nodes_in(dynamic.title_text) == dynamic.node_count
    assert static.title_text.startswith("torch.export · 8 ops")
    before_nodes, static_graph_before = dynamic.node_count, static.session.graph
    assert list(marks_on(static).values()).count(STATIC_ONLY) == 4  # two unrolled layers this run lacks
    assert "ran twice in this run but 4 times at export time" in view.findings.lost_sentences[0]

    view.run_again()
    qtbot.waitUntil(lambda: "depth 2" not in view.headline.text() and view.ready, timeout=WAIT_MS)
    depth = int(re.search(r"this run used depth (\d)", view.headline.text()).group(1))
    assert depth != 2 and view.headline.text().startswith("export saw depth 4")
    assert dynamic.node_count != before_nodes
    assert static.title_text.startswith("torch.export · 8 ops")
    assert static.session.graph is static_graph_before  # not captured again, not re-laid out
    assert list(marks_on(static).values()).count(STATIC_ONLY) == 2 * (4 - depth)


# -- data-dependent if -------------------------------------------------------------------
def test_data_dependent_if_shows_exports_refusal_and_two_different_runs(qtbot, closing):
    view = make_view(qtbot, scenario="branch")
    closing(view)
    assert "Could not guard on data-dependent expression" in view.error_text
    assert "line 25, in forward:   if x.sum() > 0:" in plain(view.static_column.refusal_where)
    positive, negative = view.shown_dynamic
    labels = [{n.label for n in col.session.graph.nodes.values()} for col in (positive, negative)]
    assert "ReluBackward0" in labels[0] - labels[1] and "NegBackward0" in labels[1] - labels[0]
    assert "linear, sum, gt, relu" in positive.title_text and "linear, sum, gt, neg" in negative.title_text
    assert view.headline.text() == (
        "The traced graph answers [0.53, 1.32, 0.00] on the negative input; the model answers [-0.53, -1.32, 0.34]"
    )

    view.set_method(TRACE)
    wait_ready(qtbot, view)
    assert "TracerWarning: Converting a tensor to a Python boolean" in plain(view.findings.said)
    assert "Could not guard on data-dependent expression" in view.error_text  # still in view, below
    assert [op.op for op in view.comparison.static.ops] == ["linear", "relu"]
    assert set(marks_on(negative).values()) == {PAIRED, LOST}  # linear matched, neg lost
    assert "NegBackward0" in [negative.session.graph.nodes[n].label for n, r in marks_on(negative).items() if r == LOST]
    assert list(marks_on(view.static_column).values()).count(STATIC_ONLY) == 1  # relu: not in the negative run
    assert "sum (line 25)" in plain(negative.note) and "__bool__, a tensor steering Python" in plain(negative.note)


# -- RNN over lengths --------------------------------------------------------------------
def test_rnn_three_runs_grow_and_export_keeps_length_two(qtbot, closing):
    view = make_view(qtbot, scenario="rnn")
    closing(view)
    titles = [col.title_text for col in view.shown_dynamic]
    assert [t.split(" · ")[0] for t in titles] == ["length 2", "length 5", "length 9"]
    counts = [nodes_in(t) for t in titles]
    assert counts[0] < counts[1] < counts[2]
    assert counts == [col.node_count for col in view.shown_dynamic]
    facts = plain(view.findings.said)
    assert "Length 5 on the static graph: AssertionError: Guard failed: sequence.size()[0] == 2" in facts
    assert "specialised the loop to length 2" in view.headline.text()


# -- the window's model ------------------------------------------------------------------
def test_current_model_without_a_model_asks_for_one(qtbot, closing):
    view = CompareView(Session())
    qtbot.addWidget(view)
    closing(view)
    view.select_scenario("current")
    assert view.showing_hint and view.hint.text() == "Run a script that calls a model, or open a model"
    assert not view.run_again_button.isEnabled()


@pytest.mark.parametrize("method", [EXPORT, TRACE])
def test_current_model_matches_every_operation(qtbot, closing, method):
    torch.manual_seed(0)
    session = Session()
    session.live_model = LiveModel(MLP(), torch.randn(3, 4))
    view = make_view(qtbot, session, method=method)
    closing(view)
    assert view.scenario == "current"  # a model is there: the view starts with it
    assert view.findings.lost_sentences == ["Nothing was lost: the static graph holds every operation of this run."]
    assert view.headline.text().startswith("Every operation of this run is in the")
    static_roles = marks_on(view.static_column)
    assert sorted(static_roles) == ["s0", "s1", "s2"] and set(static_roles.values()) == {PAIRED}
    assert set(marks_on(view.shown_dynamic[0]).values()) == {PAIRED}


def test_a_model_that_raises_is_reported_not_fatal(qtbot, closing):
    session = Session()
    session.live_model = LiveModel(Broken(), torch.randn(2))
    view = CompareView(session)
    qtbot.addWidget(view)
    closing(view)
    view.show()
    qtbot.waitUntil(lambda: view.error is not None and not view.busy, timeout=WAIT_MS)
    assert view.error == "ValueError: this model cannot run"
    assert "The comparison failed: ValueError: this model cannot run" in view.headline.text()


def test_choices_made_while_capturing_end_on_the_last_one(qtbot, closing):
    view = CompareView(Session())
    qtbot.addWidget(view)
    closing(view)
    view.resize(1600, 1000)
    view.select_scenario("branch")
    view.select_scenario("rnn")  # while the first capture runs
    view.set_method(TRACE)
    assert view.busy and view.busy_label.isVisibleTo(view)
    view.show()
    wait_ready(qtbot, view)
    qtbot.waitUntil(lambda: not view.busy and view.comparison.scenario == "rnn", timeout=WAIT_MS)
    assert (view.comparison.scenario, view.comparison.method) == ("rnn", TRACE)
    assert view.static_column.title_text.startswith("torch.jit.trace")
    assert [c.title_text.split(" · ")[0] for c in view.shown_dynamic] == ["length 2", "length 5", "length 9"]
    assert not view.busy_label.isVisibleTo(view)


# -- look ----------------------------------------------------------------------------------
def test_presentation_mode_makes_the_text_bigger(qtbot, closing):
    view = CompareView(Session())
    qtbot.addWidget(view)
    closing(view)
    before = (view.headline.font().pointSizeF(), view.findings.lost.font().pointSizeF())
    view.set_presentation(True)
    after = (view.headline.font().pointSizeF(), view.findings.lost.font().pointSizeF())
    assert after[0] > before[0] and after[1] > before[1]
    assert all(col.panel.presentation for col in view.dynamic_columns + [view.static_column])


def test_bad_scenario_or_method_names_the_choices(qtbot, closing):
    view = CompareView(Session())
    qtbot.addWidget(view)
    closing(view)
    with pytest.raises(ValueError, match="scenario must be one of"):
        view.select_scenario("loops")
    with pytest.raises(ValueError, match="capture method must be"):
        view.set_method("torch.compile")


# -- the static graph's drawing ----------------------------------------------------------
@pytest.mark.parametrize("capture", [capture_export, capture_trace])
def test_static_graph_edges_follow_the_captured_program(capture):
    model = MLP()
    static = capture(model, (torch.randn(3, 4),))
    g = static_graph(static, {"": "MLP", "fc1": "Linear", "fc2": "Linear"})
    assert not g.approximate_edges
    edges = {(g.nodes[e.src].label, g.nodes[e.dst].op) for e in g.edges}
    assert ("fc1.weight", "linear") in edges and ("x", "linear") in edges
    ops = [g.nodes[f"s{j}"].op for j in range(3)]
    assert ops == ["linear", "relu", "linear"]
    assert {(e.src, e.dst) for e in g.edges if e.src.startswith("s")} >= {("s0", "s1"), ("s1", "s2")}
    assert g.clusters["fc1"].label == "fc1: Linear" and "s0" in g.clusters["fc1"].nodes
