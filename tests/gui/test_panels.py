"""The editor, timeline and inspector panels over a real Session and real recordings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QSplitter  # noqa: E402

from gradstudio.assets.lessons import lesson  # noqa: E402
from gradstudio.core import stepping  # noqa: E402
from gradstudio.core.capture import BackwardNodeEvent, record  # noqa: E402
from gradstudio.core.runner import run_script  # noqa: E402
from gradstudio.core.session import Session  # noqa: E402
from gradstudio.gui.panels.editor import EditorPanel  # noqa: E402
from gradstudio.gui.panels.editor.code_editor import ERROR, KIND_PROPERTY, STEP  # noqa: E402
from gradstudio.gui.panels.inspector import InspectorPanel, format_bytes, memory_text  # noqa: E402
from gradstudio.gui.panels.inspector.describe import fmt_number  # noqa: E402
from gradstudio.gui.panels.inspector.tensor_view import (  # noqa: E402
    IMAGE,
    LINE,
    MESSAGE,
    NOT_KEPT,
    SCALAR,
    STATS,
    UNREADABLE,
)
from gradstudio.gui.panels.timeline import TimelinePanel  # noqa: E402
from gradstudio.gui.panels.timeline.model import step_at, step_text  # noqa: E402

POWER, HIERARCHY, TRAINING = lesson("02_power"), lesson("03_submodules"), lesson("06_training_loop")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

FAILING = "import torch\nx = torch.randn(3, requires_grad=True)\nraise ValueError('boom')\n"


def recorded(lesson, step="end") -> Session:
    session = Session(lesson.source, lesson.filename)
    assert session.apply_result(run_script(lesson.source, lesson.filename), step=step)
    return session


@pytest.fixture
def power() -> Session:
    return recorded(POWER)


def shown(qtbot, widget, w=700, h=500):
    qtbot.addWidget(widget)
    widget.resize(w, h)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def node_id(session, label):
    return session.graph.by_label(label)[0].id


# -- editor ---------------------------------------------------------------------------
def test_editor_shows_the_source_with_a_line_number_gutter(qtbot, power):
    panel = shown(qtbot, EditorPanel(power))
    ed = panel.editor
    assert ed.toPlainText() == POWER.source
    assert ed.blockCount() == POWER.source.count("\n") + 1
    assert ed.viewportMargins().left() == ed.gutter_width() > ed.fontMetrics().horizontalAdvance("99")
    assert ed.font().fixedPitch() or ed.fontInfo().fixedPitch()


def test_editor_bands_the_line_of_each_step(qtbot, power):
    ed = shown(qtbot, EditorPanel(power)).editor
    pow_step = next(e.index for e in power.tape.events if getattr(e, "op", "") == "pow")
    power.set_step(pow_step)
    assert ed.marked_lines(STEP) == [12]  # `return input**self.exponent`, inside Power.forward
    power.set_step(pow_step + 1)
    assert ed.marked_lines(STEP) == [19]  # loss = output.mean()
    # backward events have no line of their own: the band stays on `loss.backward()`
    backward_node = next(e.index for e in power.tape.events if isinstance(e, BackwardNodeEvent))
    power.set_step(backward_node)
    assert ed.marked_lines(STEP) == [20]


def test_editor_marks_the_error_line_and_clears_it_after_a_good_run(qtbot, power):
    panel = shown(qtbot, EditorPanel(power))
    power.set_source(FAILING)
    assert not power.apply_result(run_script(FAILING, power.filename))
    assert panel.editor.marked_lines(ERROR) == [3]
    assert panel.editor.error_line() == 3
    assert panel.banner.isVisible() and "ValueError: boom" in panel.banner.full_text()
    assert tooltip_over_line(panel.editor, 3) == "line 3: ValueError: boom"

    power.set_source(POWER.source)
    assert power.apply_result(run_script(POWER.source, power.filename))
    assert panel.editor.marked_lines(ERROR) == []
    assert not panel.banner.isVisible()


def tooltip_over_line(editor, lineno) -> str:
    from PySide6.QtGui import QHelpEvent, QTextCursor
    from PySide6.QtWidgets import QApplication, QToolTip

    block = editor.document().findBlockByNumber(lineno - 1)
    pos = editor.cursorRect(QTextCursor(block)).center()
    event = QHelpEvent(QHelpEvent.Type.ToolTip, pos, editor.viewport().mapToGlobal(pos))
    QApplication.sendEvent(editor.viewport(), event)
    return QToolTip.text() if QToolTip.isVisible() else ""


def test_editor_pushes_typing_to_the_session_once_it_pauses(qtbot, power):
    panel = shown(qtbot, EditorPanel(power))
    pushed = []
    power.sig_source_changed.connect(pushed.append)
    panel.editor.moveCursor(panel.editor.textCursor().MoveOperation.End)
    qtbot.keyClicks(panel.editor, "y = 1")
    assert pushed == []  # not on every key
    qtbot.waitUntil(lambda: len(pushed) == 1, timeout=3000)
    assert power.source.endswith("y = 1") and pushed == [power.source]


def test_editor_tab_indents_by_four_spaces_and_reports_the_cursor_line(qtbot):
    panel = shown(qtbot, EditorPanel(Session("x = 1\n")))
    ed = panel.editor
    ed.moveCursor(ed.textCursor().MoveOperation.Down)
    qtbot.keyClick(ed, Qt.Key.Key_Tab)
    assert ed.toPlainText() == "x = 1\n    "
    assert panel.cursor_line() == 2


def test_run_to_cursor_goes_to_the_editor_line(qtbot, power):
    editor = shown(qtbot, EditorPanel(power))
    timeline = shown(qtbot, TimelinePanel(power))
    timeline.sig_run_to_cursor.connect(lambda: power.run_to_line(editor.cursor_line()))
    power.first()
    cursor = editor.editor.textCursor()
    cursor.movePosition(cursor.MoveOperation.Down, n=18)  # line 19: loss = output.mean()
    editor.editor.setTextCursor(cursor)
    qtbot.mouseClick(timeline.button("run_to_cursor"), Qt.MouseButton.LeftButton)
    assert power.current_event.op == "mean"


# -- timeline -------------------------------------------------------------------------
def test_timeline_has_one_mark_per_event(qtbot, power):
    panel = shown(qtbot, TimelinePanel(power), 800, 120)
    assert panel.strip.mark_count() == power.n_events
    power.apply_result(run_script(TRAINING.source, TRAINING.filename))
    assert panel.strip.mark_count() == power.n_events == len(power.tape.events)
    assert panel.slider.maximum() == power.n_events - 1


def test_timeline_buttons_step_the_session(qtbot, power):
    panel = shown(qtbot, TimelinePanel(power), 800, 120)
    click = lambda name: qtbot.mouseClick(panel.button(name), Qt.MouseButton.LeftButton)  # noqa: E731
    click("first")
    assert power.step == 0
    assert not panel.button("previous").isEnabled()
    click("next")
    assert power.step == 1
    assert panel.slider.value() == 1
    assert step_text(power) == panel.label.full_text()
    assert panel.label.full_text().startswith(f"step 2 / {power.n_events} — pow @ cube (<lesson 02_power>:12)")
    click("last")
    assert power.step == power.n_events - 1
    assert not panel.button("next").isEnabled()
    click("previous")
    assert power.step == power.n_events - 2


def test_timeline_keyboard_actions_are_unbound_and_step(qtbot, power):
    panel = shown(qtbot, TimelinePanel(power), 800, 120)
    actions = {a.shortcut().toString(): a for a in panel.keyboard_actions()}
    assert {"Left", "Right", "Space", "Home", "End"} <= set(actions)
    # added to no widget: the main window decides where the keys are live
    assert all(not a.associatedObjects() for a in panel.keyboard_actions())
    actions["Home"].trigger()
    actions["Right"].trigger()
    assert power.step == 1


def test_timeline_step_over_skips_a_module_call(qtbot):
    session = recorded(HIERARCHY)
    panel = shown(qtbot, TimelinePanel(session), 800, 120)
    start = next(  # just before `stage1` runs
        e.index - 1 for e in session.tape.events if (getattr(e, "module", None) or "").startswith("net.stage1")
    )
    session.set_step(start)
    qtbot.mouseClick(panel.button("step_over"), Qt.MouseButton.LeftButton)
    assert session.step == stepping.step_over(session.tape, start) > start + 1


def test_play_advances_and_stops_at_the_end(qtbot, power):
    panel = shown(qtbot, TimelinePanel(power), 800, 120)
    power.first()
    panel.set_speed(30)
    playing = []
    panel.sig_playing_changed.connect(playing.append)
    qtbot.mouseClick(panel.button("play"), Qt.MouseButton.LeftButton)
    assert panel.is_playing
    qtbot.waitUntil(lambda: not panel.is_playing, timeout=5000)
    assert power.step == power.n_events - 1
    assert playing == [True, False]


def test_clicking_the_strip_sets_the_step(qtbot, power):
    panel = shown(qtbot, TimelinePanel(power), 800, 120)
    strip = panel.strip
    for k in (0, 3, power.n_events - 1):
        qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=strip.mark_rect(k).center().toPoint())
        assert power.step == k
    assert step_at(0, 100, 9) == 0 and step_at(99.9, 100, 9) == 8 and step_at(500, 100, 9) == 8


def test_dragging_the_strip_scrubs(qtbot, power):
    panel = shown(qtbot, TimelinePanel(power), 800, 120)
    strip = panel.strip
    qtbot.mousePress(strip, Qt.MouseButton.LeftButton, pos=strip.mark_rect(0).center().toPoint())
    end = strip.mark_rect(5).center().toPoint()
    qtbot.mouseMove(strip, end)
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    move = QMouseEvent(
        QMouseEvent.Type.MouseMove, end, strip.mapToGlobal(end), Qt.MouseButton.NoButton,
        Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(strip, move)
    qtbot.mouseRelease(strip, Qt.MouseButton.LeftButton, pos=end)
    assert power.step == 5


# -- inspector ------------------------------------------------------------------------
def test_inspector_shows_the_selected_pow_node(qtbot, power):
    panel = shown(qtbot, InspectorPanel(power), 450, 800)
    power.select(node_id(power, "PowBackward0"))
    assert panel.node_id == node_id(power, "PowBackward0")
    assert "PowBackward0" in panel.title.text()
    details = panel.details.text()
    assert "pow" in details and "cube" in details
    assert "&lt;lesson 02_power&gt;:12" in details and "return input**self.exponent" in details
    rows = {panel.saved.item(r, 0).text(): [panel.saved.item(r, c).text() for c in range(5)]
            for r in range(panel.saved.rowCount())}
    assert rows["self"][1:4] == ["100", "float32", "400 B"]
    assert "inp" in rows["self"][4]  # the saved `self` is the input leaf itself
    assert rows["exponent"][1] == "3"


def test_inspector_names_a_saved_tensor_a_hook_packed_without_calling_it_a_value():
    import torch.utils.checkpoint as checkpoint

    from gradstudio.gui.panels.inspector.describe import saved_rows

    lin = torch.nn.Linear(4, 8)
    with record(lin) as tape:
        checkpoint.checkpoint(lin, torch.randn(5, 4), use_reentrant=False).tanh()
    graph = tape.graph()
    (addmm,) = graph.by_label("AddmmBackward0")
    rows = {r.name: r for r in saved_rows(addmm, tape)}
    assert rows["mat1"].note == "packed by a hook, not read"
    assert rows["alpha"].note == "not a tensor"
    names = [r.name for r in saved_rows(addmm, tape)]
    assert names.index("mat1") < names.index("alpha")  # tensors first, then small values


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors is in prototype stage")
def test_inspector_shows_a_nested_tensor_padded_with_its_ragged_dimension_unsized(qtbot):
    source = (
        "import torch\n"
        "nt = torch.nested.nested_tensor([torch.randn(2, 3), torch.randn(4, 3)], requires_grad=True)\n"
        "y = (nt * 2).sin()\n"
        "torch.nested.to_padded_tensor(y, 0.0).sum().backward()\n"
    )
    session = Session(source, "<editor>")
    assert session.apply_result(run_script(source, "<editor>"), step="end")
    panel = shown(qtbot, InspectorPanel(session), 450, 800)
    session.select(node_id(session, "nt"))
    assert "2×*×3" in panel.details.text()
    assert panel.value_view.snapshot is not None and panel.value_view.snapshot.numel == 18


def test_inspector_gradient_is_the_one_recorded_by_the_current_step(qtbot, power):
    panel = shown(qtbot, InspectorPanel(power), 450, 800)
    pow_id = node_id(power, "PowBackward0")
    reached = next(e for e in power.tape.events if isinstance(e, BackwardNodeEvent) and e.node == pow_id)
    power.select(pow_id)

    power.set_step(reached.index - 1)
    assert panel.grad_view.snapshot is None
    assert "no gradient yet" in panel.grad_view.message_text()

    power.last()
    view = panel.grad_view
    recorded_grad = reached.grads_received[0]
    assert view.snapshot is recorded_grad
    for label, attr in STATS:
        assert view.stat_text(label) == fmt_number(getattr(recorded_grad.stats, attr)), label
    assert view.mode() == LINE  # 100 values: a line plot


def test_inspector_follows_the_step_when_nothing_is_selected(qtbot, power):
    panel = shown(qtbot, InspectorPanel(power), 450, 800)
    pow_step = next(e.index for e in power.tape.events if getattr(e, "op", "") == "pow")
    power.set_step(pow_step)
    assert panel.node_id == node_id(power, "PowBackward0")  # the op, not its AccumulateGrad
    assert panel.current_view() is panel.value_view
    power.set_step(next(e.index for e in power.tape.events if isinstance(e, BackwardNodeEvent)))
    assert panel.current_view() is panel.grad_view


def test_inspector_says_values_were_not_kept_past_the_memory_budget(qtbot):
    with record(memory_budget=1) as tape:
        inp = torch.randn(100, requires_grad=True)
        (inp**3).mean().backward()
    session = Session()
    session.set_tape(tape)
    panel = shown(qtbot, InspectorPanel(session), 450, 800)
    session.select(node_id(session, "PowBackward0"))
    assert tape.values_truncated
    assert panel.value_view.mode() == MESSAGE
    assert panel.value_view.message_text() == NOT_KEPT
    assert panel.value_view.stat_text("numel") == "100"  # statistics are always kept


def test_inspector_says_a_batched_gradient_could_not_be_read(qtbot):
    x = torch.randn(3, requires_grad=True)
    with record() as tape:
        torch.autograd.grad(x * x, x, torch.eye(3), is_grads_batched=True)
    session = Session()
    session.set_tape(tape)
    panel = shown(qtbot, InspectorPanel(session), 450, 800)
    session.select(node_id(session, "MulBackward0"))
    panel.show_gradient()
    assert panel.grad_view.mode() == MESSAGE
    assert panel.grad_view.message_text() == UNREADABLE


def test_inspector_heatmap_for_2d_and_slices_for_4d(qtbot):
    session = recorded(HIERARCHY)
    panel = shown(qtbot, InspectorPanel(session), 450, 800)
    linear = node_id(session, "AddmmBackward0")  # the head: 2×10
    session.select(linear)
    assert panel.value_view.mode() == IMAGE and panel.value_view.slice_index() == ()
    conv = next(n for n in session.graph.by_label("ConvolutionBackward0") if len(n.shape) == 4)
    session.select(conv.id)
    assert panel.value_view.mode() == IMAGE
    assert len(panel.value_view.slice_index()) == 2
    panel.value_view.set_slice_index((1, 2))
    assert panel.value_view.slice_index() == (1, 2)


def test_inspector_in_a_short_dock_keeps_room_for_the_details(qtbot):
    """A 4-d value (table, slices, heat map) used to claim all but two lines of a short
    panel: details and values now split it two to three, and the values scroll."""
    session = recorded(HIERARCHY)
    panel = shown(qtbot, InspectorPanel(session), 450, 380)
    conv = next(n for n in session.graph.by_label("ConvolutionBackward0") if len(n.shape) == 4)
    session.select(conv.id)
    qtbot.wait(50)
    details, values = panel.findChild(QSplitter).sizes()
    assert details >= 0.35 * (details + values)
    assert details >= 6 * panel.fontMetrics().lineSpacing()
    assert panel.value_view.mode() == IMAGE


def test_inspector_scalar_and_memory_text(qtbot):
    session = recorded(TRAINING, step="forward-end")
    panel = shown(qtbot, InspectorPanel(session), 450, 800)
    session.select(node_id(session, "NllLossBackward0"))
    assert panel.value_view.mode() == SCALAR
    at = session.graph.at(session.step)
    assert at.saved_bytes > 0
    assert memory_text(session.graph, session.step) == f"graph holds {format_bytes(at.saved_bytes)} for backward"
    assert memory_text(session.graph) == f"graph holds {format_bytes(session.graph.saved_bytes)} for backward"
    assert format_bytes(1234567) == "1.2 MB" and format_bytes(400) == "400 B"


# -- all panels -------------------------------------------------------------------------
@pytest.mark.parametrize("panel_cls", [EditorPanel, TimelinePanel, InspectorPanel])
def test_a_destroyed_panel_no_longer_listens(qtbot, power, panel_cls):
    import shiboken6

    panel = panel_cls(power)  # the Python wrapper stays alive in this frame
    shiboken6.delete(panel)  # as when its window closes
    assert not shiboken6.isValid(panel)
    power.first()
    power.next()
    power.select(node_id(power, "PowBackward0"))
    power.apply_result(run_script(POWER.source, POWER.filename))  # no slot of the dead panel runs


@pytest.mark.parametrize("panel_cls", [EditorPanel, TimelinePanel, InspectorPanel])
def test_font_scale_grows_the_text(qtbot, power, panel_cls):
    panel = shown(qtbot, panel_cls(power))
    probe = panel.editor if panel_cls is EditorPanel else panel.label if panel_cls is TimelinePanel else panel.title
    before = probe.font().pointSizeF()
    panel.set_font_scale(1.5)
    assert probe.font().pointSizeF() == pytest.approx(before * 1.5, rel=0.05)


def test_panels_follow_a_dark_palette(qtbot, power):
    from PySide6.QtGui import QColor, QPalette

    inspector = shown(qtbot, InspectorPanel(power), 450, 800)
    editor = shown(qtbot, EditorPanel(power))
    power.select(node_id(power, "PowBackward0"))
    dark = QPalette(inspector.palette())
    for role, colour in ((QPalette.ColorRole.Base, "#16181c"), (QPalette.ColorRole.Text, "#e6e6e6"),
                         (QPalette.ColorRole.Window, "#1f2227"), (QPalette.ColorRole.WindowText, "#e6e6e6")):
        dark.setColor(role, QColor(colour))
    inspector.setPalette(dark)
    editor.setPalette(dark)
    assert inspector.value_view._line.backgroundBrush().color().name() == "#16181c"
    band = next(s for s in editor.editor.extraSelections() if s.format.property(KIND_PROPERTY) == STEP)
    assert band.format.background().color().lightness() < 128


# -- screenshots ------------------------------------------------------------------------
def test_screenshots(qtbot, tmp_path):
    """Grabs each panel; with GRADSTUDIO_SCREENSHOTS=1 also into docs/screenshots."""
    session = recorded(TRAINING)
    out = SCREENSHOTS if os.environ.get("GRADSTUDIO_SCREENSHOTS") else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    first_backward = stepping.first_backward(session.tape)
    step = next(e.index for e in session.tape.events[first_backward:] if isinstance(e, BackwardNodeEvent)
                and session.graph.nodes[e.node].label == "AddmmBackward0")
    session.set_step(step)

    editor = shown(qtbot, EditorPanel(session), 640, 440)
    cursor = editor.editor.textCursor()
    cursor.movePosition(cursor.MoveOperation.Down, n=5)
    editor.editor.setTextCursor(cursor)
    timeline = shown(qtbot, TimelinePanel(session), 900, 118)
    inspector = shown(qtbot, InspectorPanel(session), 440, 860)
    qtbot.wait(100)  # let word-wrapped labels settle their heights
    for name, widget in (("editor", editor), ("timeline", timeline), ("inspector", inspector)):
        path = out / f"panel_{name}.png"
        assert widget.grab().save(str(path))
        assert path.stat().st_size > 1000
