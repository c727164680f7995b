"""The "Step through training" view: five real lines of the loop, checked on screen against
the model's own tensors (the highlighted line, the graph, the .grad column, the step)."""

from __future__ import annotations

import copy

import pytest
import torch
from gradstudio.core.data import spirals
from gradstudio.core.training.settings import TrainingSettings
from gradstudio.gui.training.controller import Prepared
from gradstudio.gui.walkthrough import WalkthroughView
from gradstudio.gui.walkthrough.code_listing import BASE_POINTS, mono_font
from PySide6.QtCore import Qt
from torch import nn

SECOND_TIME = "Trying to backward through the graph a second time"
NAMES = ["0.weight", "0.bias", "2.weight", "2.bias"]


def tanh_mlp(inputs: int = 2) -> nn.Sequential:
    torch.manual_seed(0)  # tanh: no dead units, so no gradient element is exactly 0
    return nn.Sequential(nn.Linear(inputs, 16), nn.Tanh(), nn.Linear(16, 2))


def prepared(model: nn.Module | None = None) -> Prepared:
    return Prepared(model or tanh_mlp(), TrainingSettings(), spirals(size=200, seed=1), {}, "spirals · MLP")


@pytest.fixture()
def make_view(qtbot):
    views = []

    def make(prepare=prepared) -> WalkthroughView:
        view = WalkthroughView(prepare)
        qtbot.addWidget(view)
        view.resize(1600, 1000)
        view.show()  # the first show takes the model and data from prepare()
        views.append(view)
        return view

    yield make
    for view in views:
        view.shutdown()


def run(view: WalkthroughView, n: int) -> list:
    return [view.advance() for _ in range(n)]


def grad_of(view: WalkthroughView, name: str) -> torch.Tensor:
    return dict(view.walk.model.named_parameters())[name].grad


def test_five_lines_move_the_arrow_and_fill_graph_and_grad_column(qtbot, make_view):
    view = make_view()
    assert view.listing.next_line == 0 and view.listing.highlighted is None
    assert view.table.headers() == ["Parameter", "Shape", "‖grad‖", "grad (first values)"]
    assert [view.table.item(r, 0).text() for r in range(view.table.rowCount())] == NAMES

    run(view, 1)
    assert (view.listing.highlighted, view.listing.next_line) == (0, 1)
    with qtbot.waitSignal(view.graph_panel.sig_layout_ready, timeout=30_000):
        forward = view.advance()
    assert forward.ok and (view.listing.highlighted, view.listing.next_line) == (1, 2)
    scene = view.graph_panel.scene
    assert scene is not None and len(scene.nodes) > 0
    assert any(item.isVisible() for item in scene.nodes.values())
    assert "after line 2 (outputs = net(images))" in view.graph_caption.text()
    assert view.table.cell("0.weight", "grad (first values)").text() == "—"  # no backward yet

    loss = view.advance()
    assert view.report.loss.text() == f"loss = {loss.loss:.6g}" and view.report.loss.isVisible()
    view.advance()
    assert view.listing.highlighted == 3 and "saved tensors freed" in view.graph_caption.text()
    for name in NAMES:
        shown = view.table.values(name, "grad (first values)")
        assert shown == grad_of(view, name).reshape(-1)[:3].tolist()
        assert view.table.cell(name, "grad (first values)").text() != "—"
        assert view.table.values(name, "‖grad‖") == pytest.approx([float(grad_of(view, name).double().norm())])
    assert "full precision" in view.table.cell("0.weight", "grad (first values)").toolTip()

    view.advance()
    assert (view.listing.highlighted, view.listing.next_line) == (4, 0)
    assert view.iteration_label.text().startswith("Iteration 2")


def test_accumulation_lesson_iteration_two_grads_are_twice_iteration_one(make_view):
    view = make_view()
    view.skip_box.setChecked(True)
    view.repeat_box.setChecked(True)
    view.lr_spin.setValue(0.0)
    assert view.listing.skipped == {0}
    first = run(view, 5)[3]
    run(view, 4)
    headers = view.table.headers()
    assert headers == ["Parameter", "Shape", "ratio", ".grad after iteration 1", ".grad after iteration 2"]
    for name in NAMES:
        one = view.table.values(name, ".grad after iteration 1")
        two = view.table.values(name, ".grad after iteration 2")
        assert one == first.grads[name].reshape(-1)[:3].tolist()
        assert two == [2 * v for v in one]  # exact: lr 0 keeps the weights, the same batch gives the same gradient
        assert view.table.cell(name, "ratio").text() == "×2"
    eq = view.matrix.equation
    assert eq.titles == [".grad after iteration 1", ".grad after iteration 2", "ratio"]
    assert [eq.text(r, "ratio") for r in range(eq.rowCount())] == ["×2"] * eq.rowCount()
    assert "added to the old ones" in view.report.explanation.text()


def test_sgd_step_shows_new_weight_equal_to_old_minus_lr_times_grad(make_view):
    view = make_view()
    *_, backward, step = run(view, 5)
    assert view.table.headers() == ["Parameter", "Shape", "old [0]", "grad [0]", "new [0]", "Δ [0]", "rule"]
    for name in NAMES:
        old = view.table.values(name, "old [0]")[0]
        grad = view.table.values(name, "grad [0]")[0]
        new = view.table.values(name, "new [0]")[0]
        assert old == backward.params[name].reshape(-1)[0].item() and grad == backward.grads[name].reshape(-1)[0].item()
        assert new == step.params[name].reshape(-1)[0].item()
        # PyTorch's fused multiply-add, in float32
        assert new == torch.tensor(old).add(torch.tensor(grad), alpha=-0.1).item()
        assert view.table.cell(name, "rule").text() == "✓"
    assert "w ← w − 0.1·grad holds for 4 of 4" in view.table_caption.text()

    view.table.select("2.weight")
    eq = view.matrix.equation
    assert view.matrix.name == "2.weight" and eq.titles == ["old", "0.1·grad", "new"]
    old, lr_grad, new = (float(eq.text(0, t)) for t in ("old", "0.1·grad", "new"))
    decimals = len(eq.text(0, "new").split(".")[1])
    assert new == pytest.approx(old - lr_grad, abs=1.5 * 10 ** -decimals)  # checkable by eye
    assert eq.value(0, "new") == step.params["2.weight"][0, 0].item()
    assert "for every element of 2.weight ✓" in view.matrix.check.text()

    delta = step.updates[2].delta
    assert view.heatmap.values.shape == (2, 16)
    assert torch.equal(torch.from_numpy(view.heatmap.values), delta)
    low, high = view.heatmap.levels
    assert low == -high == -float(delta.abs().max())  # centred on 0


def test_backward_again_without_retain_graph_shows_pytorch_s_error(make_view):
    view = make_view()
    assert not view.again_button.isEnabled()
    backward = run(view, 4)[3]
    assert view.again_button.isEnabled()
    view.again_button.click()
    error = view.report.error
    assert error.isVisible() and SECOND_TIME in error.text() and error.text().startswith("RuntimeError: ")
    assert error.font().family() == mono_font(10).family() and "color: #" in error.styleSheet()
    assert "freed" in view.report.explanation.text()
    assert view.listing.failed and view.listing.highlighted == 3
    for name in NAMES:  # .grad unchanged
        assert view.table.values(name, "grad (first values)") == backward.grads[name].reshape(-1)[:3].tolist()


def test_backward_again_with_retain_graph_doubles_the_grads(make_view):
    view = make_view()
    view.retain_box.setChecked(True)
    assert view.listing.lines[3] == "loss.backward(retain_graph=True)"
    backward = run(view, 4)[3]
    again = view.backward_again()
    assert again.ok and not view.report.error.isVisible()
    assert view.table.headers()[2:] == ["ratio", ".grad after iteration 1", ".grad after backward again"]
    for name in NAMES:
        once = view.table.values(name, ".grad after iteration 1")
        assert once == backward.grads[name].reshape(-1)[:3].tolist()
        assert view.table.values(name, ".grad after backward again") == [2 * v for v in once]
        assert view.table.cell(name, "ratio").text() == "×2"
    assert "twice the first" in view.report.explanation.text()


def test_settings_change_between_iterations_only_and_lr_sets_the_rule(make_view):
    view = make_view()
    run(view, 1)
    assert not any(w.isEnabled() for w in (view.skip_box, view.retain_box, view.repeat_box, view.lr_spin))
    run(view, 4)
    assert all(w.isEnabled() for w in (view.skip_box, view.retain_box, view.repeat_box, view.lr_spin))
    view.lr_spin.setValue(0.5)
    *_, backward, step = run(view, 5)
    assert "w ← w − 0.5·grad" in step.change
    name = "0.bias"
    old, grad = backward.params[name][0], backward.grads[name][0]
    assert view.table.values(name, "new [0]") == [old.add(grad, alpha=-0.5).item()]


def test_back_to_start_restores_the_weights_and_clears_grad(make_view):
    view = make_view()
    start = copy.deepcopy(view.walk.model.state_dict())
    run(view, 5)
    view.back_button.click()
    assert view.listing.next_line == 0 and view.listing.highlighted is None
    assert view.iteration_label.text().startswith("Iteration 1")
    for name, value in view.walk.model.state_dict().items():
        assert torch.equal(value, start[name])
    assert [view.table.cell(n, "‖grad‖").text() for n in NAMES] == ["—"] * 4


def test_reset_takes_the_model_again_and_keeps_the_original_untouched(make_view):
    model = tanh_mlp()
    original = copy.deepcopy(model.state_dict())
    calls = []

    def prepare():
        calls.append(1)
        return prepared(model)

    view = make_view(prepare)
    run(view, 5)
    for name, value in model.state_dict().items():  # the walkthrough trains a copy
        assert torch.equal(value, original[name])
    view.reset_button.click()
    assert len(calls) == 2 and view.listing.next_line == 0
    assert "Ready: spirals · MLP" in view.report.change.text()


def test_errors_from_prepare_are_shown_not_raised(make_view):
    def broken():
        raise ValueError("dataset.path: no such file 'missing.csv'")

    view = make_view(broken)
    assert view.walk is None and view.advance() is None
    assert not view.next_button.isEnabled()
    assert view.report.error.text() == "ValueError: dataset.path: no such file 'missing.csv'"
    assert "Cannot start the walkthrough" in view.report.change.text()


def test_a_line_that_raises_is_shown_in_red_and_the_arrow_stays(make_view):
    view = make_view(lambda: prepared(tanh_mlp(inputs=3)))  # the data has 2 features
    run(view, 1)
    forward = view.advance()
    assert not forward.ok
    assert view.listing.failed and view.listing.highlighted == 1 and view.listing.next_line == 1
    assert "mat1 and mat2 shapes cannot be multiplied" in view.report.error.text()
    assert "input size does not match" in view.report.explanation.text()


def test_presentation_mode_makes_the_code_larger(make_view):
    view = make_view()
    assert view.listing.font().pointSizeF() == pytest.approx(BASE_POINTS)
    small = view.listing.sizeHint()
    view.set_presentation(True)
    assert view.listing.font().pointSizeF() == pytest.approx(1.6 * BASE_POINTS)
    assert view.listing.sizeHint().width() > 1.4 * small.width()
    assert view.graph_panel.presentation
    view.set_presentation(False)
    assert view.listing.font().pointSizeF() == pytest.approx(BASE_POINTS)


def test_keys_advance_and_go_back_to_start(qtbot, make_view):
    view = make_view()
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_PageDown)
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert view.listing.next_line == 2
    qtbot.keyClick(view, Qt.Key.Key_Home)
    assert view.listing.next_line == 0 and view.listing.highlighted is None


def test_runs_on_what_the_training_form_prepares(make_view):
    from gradstudio.core.session import Session
    from gradstudio.gui.training.view import TrainingView

    training = TrainingView(Session())
    try:
        view = make_view(training.prepare)
        results = run(view, 5)
        assert all(r.ok for r in results), [r.error for r in results]
        assert view.table.rowCount() == len(list(view.walk.model.parameters()))
        assert all(view.table.item(r, view.table.column("rule")).text() == "✓" for r in range(view.table.rowCount()))
    finally:
        training.shutdown()
