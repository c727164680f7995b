"""The app as a user meets it: default example, running, errors, stepping keys, exports."""

import json
import subprocess
import sys

import pytest
from PySide6.QtCore import Qt

from gradstudio.assets.lessons import DEFAULT_LESSON, lesson

from .conftest import run_and_wait


def labels_in_scene(win):
    scene = win.graph_panel.scene
    return {item.node.label for item in scene.node_items.values() if item.isVisible()}


def test_default_example_opens_recorded_and_ready_to_step(qtbot, window):
    window.open_lesson(DEFAULT_LESSON, run=False)
    run_and_wait(qtbot, window)
    assert window.session.tape is not None
    labels = labels_in_scene(window)
    assert {"PowBackward0", "MeanBackward0", "inp"} <= labels
    # back to the first event: `inp = torch.randn(...)` made the leaf, nothing else yet
    window.session.first()
    assert labels_in_scene(window) == {"inp"}
    pow_step = next(e.index for e in window.session.tape.events if getattr(e, "op", "") == "pow")
    window.session.set_step(pow_step)
    assert {"inp", "PowBackward0"} <= labels_in_scene(window)
    assert "MeanBackward0" not in labels_in_scene(window)


def test_failed_run_keeps_previous_graph_and_marks_line(qtbot, window):
    window.open_lesson(DEFAULT_LESSON, run=False)
    run_and_wait(qtbot, window)
    before = window.session.graph
    window.session.set_source("import torch\nx = torch.randn(3, requires_grad=True)\ny = x @ torch.randn(4, 4)\n")
    with qtbot.waitSignal(window.runs.sig_finished, timeout=30_000):
        window.run()
    assert window.session.error is not None and window.session.error.lineno == 3
    assert window.session.graph is before  # nothing lost
    assert "PowBackward0" in labels_in_scene(window)


@pytest.mark.parametrize(
    "source, expect",
    [
        ("def broken(:\n    pass\n", "syntax"),
        ("import torch\nx = torch.ones(2)\nraise ValueError('boom')\n", "exception"),
    ],
    ids=["syntax-error", "exception"],
)
def test_bad_scripts_report_errors_without_crashing(qtbot, window, source, expect):
    window.session.set_source(source, "<editor>")
    with qtbot.waitSignal(window.runs.sig_finished, timeout=30_000) as blocker:
        window.run()
    result = blocker.args[0]
    assert result.error.kind == expect
    assert window.session.error is result.error


def test_script_without_grad_explains_nothing_was_recorded(qtbot, window):
    window.session.set_source("import torch\nx = torch.ones(3) * 2\n", "<editor>")
    notices = []
    window.session.sig_notice.connect(notices.append)
    with qtbot.waitSignal(window.runs.sig_finished, timeout=30_000):
        window.run()
    assert any("requires grad" in n for n in notices)


def test_endless_loop_can_be_cancelled(qtbot, window):
    window.session.set_source("import torch\nx = torch.ones(1, requires_grad=True)\nwhile True:\n    y = x * 2\n")
    with qtbot.waitSignal(window.runs.sig_finished, timeout=30_000) as blocker:
        window.run()
        qtbot.wait(300)
        assert window.runs.running
        window.runs.cancel()
    assert blocker.args[0].error.kind == "cancelled"
    assert not window.runs.running


def test_stepping_keys_work_outside_the_editor_only(qtbot, window):
    window.open_lesson(lesson("01_basics"), run=False)
    run_and_wait(qtbot, window)
    window.session.first()
    window.graph_panel.view.setFocus()
    qtbot.keyClick(window.graph_panel.view, Qt.Key_Right)
    assert window.session.step == 1
    qtbot.keyClick(window.graph_panel.view, Qt.Key_End)
    assert window.session.step == window.session.n_events - 1
    qtbot.keyClick(window.graph_panel.view, Qt.Key_Home)
    assert window.session.step == 0
    # in the editor, arrows move the cursor, not the step
    editor = window.editor_panel.editor
    editor.setFocus()
    qtbot.keyClick(editor, Qt.Key_Right)
    assert window.session.step == 0


def test_run_again_reports_what_changed(qtbot, window):
    window.open_lesson(lesson("05_random_depth"), run=False)
    for _ in range(6):
        run_and_wait(qtbot, window)
        if window.session.last_diff:
            break
    assert window.session.last_diff is not None


def test_run_again_compares_the_graphs_off_the_gui_thread(qtbot, window, monkeypatch):
    """Diffing two large graphs takes a while: the run's worker does it, and the session
    takes its result instead of diffing again on the GUI thread."""
    import threading

    from gradstudio.core import session as session_module
    from gradstudio.gui import run_controller

    threads = []

    def diff_in(module):
        real = module.diff

        def tracked(a, b):
            threads.append(threading.current_thread() is threading.main_thread())
            return real(a, b)

        monkeypatch.setattr(module, "diff", tracked)

    diff_in(run_controller)
    diff_in(session_module)
    window.open_lesson(lesson("02_power"), run=False)
    run_and_wait(qtbot, window)
    first = window.session.graph
    run_and_wait(qtbot, window)
    assert window.session.previous_graph is first and window.session.last_diff is not None
    assert threads == [False]  # one diff, on the worker


def test_exports_write_files(qtbot, window, tmp_path):
    window.open_lesson(DEFAULT_LESSON, run=False)
    run_and_wait(qtbot, window)
    for kind in ("png", "svg", "dot", "json"):
        path = tmp_path / f"graph.{kind}"
        window.files.export(kind, str(path))
        assert path.stat().st_size > 100, kind
    assert json.loads((tmp_path / "graph.json").read_text())["format"] == "gradstudio-tape"
    assert "digraph" in (tmp_path / "graph.dot").read_text()


def test_presentation_mode_and_theme_toggle(qtbot, window):
    window.open_lesson(DEFAULT_LESSON, run=False)
    run_and_wait(qtbot, window)
    window.set_presentation(True)
    assert not window.inspector_dock.isVisible()
    window.set_presentation(False)
    window.set_theme("dark")
    assert window.settings.value("theme") == "dark"


def test_screenshot_command_line(tmp_path):
    out = tmp_path / "shot.png"
    cmd = [sys.executable, "-m", "gradstudio.gui", "--screenshot", str(out), "--step", "1", "--size", "1200x800"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 10_000


def test_screenshot_of_a_failing_script_exits_non_zero(tmp_path):
    script = tmp_path / "bad.py"
    script.write_text("import torch\nx = torch.randn(2, requires_grad=True)\nraise RuntimeError('nope')\n")
    out = tmp_path / "shot.png"
    result = subprocess.run(
        [sys.executable, "-m", "gradstudio.gui", str(script), "--screenshot", str(out)],
        capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 1
    assert "nope" in result.stderr and "line 3" in result.stderr
    assert not out.exists()


def test_repeated_blocks_fold_into_one_box(qtbot, window):
    window.open_lesson(lesson("03_submodules"), run=False)  # two stages of two residual blocks each
    run_and_wait(qtbot, window)
    with qtbot.waitSignal(window.graph_panel.sig_layout_ready, timeout=30_000):
        window.toggle_repeats()
    labels = labels_in_scene(window)
    assert "net.stage1.blocks: ResidualBlock × 2" in labels
    assert "net.stage2.blocks: ResidualBlock × 2" in labels
    with qtbot.waitSignal(window.graph_panel.sig_layout_ready, timeout=30_000):
        window.toggle_repeats()
    assert not any("×" in label for label in labels_in_scene(window))


HUGE = """
import torch
from torch import nn
net = nn.Sequential(*[nn.Sequential(nn.Linear(8, 8), nn.Tanh()) for _ in range(120)])
loss = net(torch.randn(4, 8)).pow(2).mean()
loss.backward()
"""


def test_huge_graph_opens_folded_and_the_window_stays_responsive(qtbot, window):
    window.session.set_source(HUGE, "<editor>")
    ticks = []
    from PySide6.QtCore import QTimer

    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(20)
    run_and_wait(qtbot, window, timeout=120_000)
    timer.stop()
    g = window.session.graph
    assert len(g.nodes) > 600
    assert window.session.collapsed  # modules folded to keep it readable
    shown = len(window.graph_panel.scene.node_items)
    assert shown <= 320 < len(g.nodes)
    assert len(ticks) > 3  # the event loop kept running while recording and laying out


def test_missing_dot_falls_back_and_says_so_once(qtbot, window, monkeypatch):
    import gradstudio.core.layout.compute as compute

    monkeypatch.setattr(compute.shutil, "which", lambda name: None)
    messages = []
    window.statusBar().messageChanged.connect(lambda text: text and messages.append(text))
    window.open_lesson(DEFAULT_LESSON, run=False)
    run_and_wait(qtbot, window)
    assert window.graph_panel.layout_result.engine == "builtin"
    assert sum("dot" in m for m in messages) == 1
    run_and_wait(qtbot, window)  # a second run does not repeat it
    assert sum("dot" in m for m in messages) == 1
    assert {"PowBackward0", "inp"} <= labels_in_scene(window)


def test_run_again_marks_nodes_only_the_new_run_has(qtbot, window):
    script = (
        "import torch\nfrom torch import nn\n"
        "torch.manual_seed(0)\nlayer = nn.Linear(3, 3)\nx = torch.randn(1, 3)\n"
        "for _ in range({depth}):\n    x = torch.tanh(layer(x))\nx.sum().backward()\n"
    )
    for depth in (1, 3):
        window.session.set_source(script.format(depth=depth), "<editor>")
        run_and_wait(qtbot, window)
    scene = window.graph_panel.scene
    new = {nid for nid, item in scene.node_items.items() if item.is_new}
    g = window.session.graph
    assert [g.nodes[n].label for n in new].count("TanhBackward0") == 2  # two more layers
    assert {g.nodes[n].label for n in new} >= {"AddmmBackward0", "TanhBackward0"}
    assert "2 nodes new" not in window.statusBar().currentMessage()
    assert "new" in window.statusBar().currentMessage()


def test_typing_in_the_search_box_is_not_stepping(qtbot, window):
    window.open_lesson(DEFAULT_LESSON, run=False)
    run_and_wait(qtbot, window)
    step = window.session.step
    search = window.graph_panel.search
    search.setFocus()
    qtbot.keyClicks(search, "fc weight")
    qtbot.keyClick(search, Qt.Key_Home)
    assert search.text() == "fc weight"
    assert search.cursorPosition() == 0
    assert window.session.step == step


def test_export_before_any_run_says_so(qtbot, window, tmp_path):
    with pytest.raises(RuntimeError, match="run a script first"):
        window.files.export("dot", str(tmp_path / "x.dot"))


def test_show_opens_the_app_on_a_users_model(qtbot):
    import torch

    import gradstudio
    from gradstudio.core.examples import CascadeNet

    model = CascadeNet(widths=(4, 8), depth=1)
    window = gradstudio.show(model, torch.randn(1, 3, 8, 8), block=False)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.graph_panel.scene is not None, timeout=30_000)
    g = window.session.graph
    assert "stages.0.blocks.0.conv1.weight" in {n.label for n in g.by_kind("parameter")}
    assert any(n.executed for n in g.by_kind("op"))  # the stand-in backward ran
    assert "output.sum().backward()" in window.session.source
    window.close()


def test_theme_recent_files_and_geometry_persist(qtbot, settings, tmp_path):
    from gradstudio.gui.main_window import MainWindow

    script = tmp_path / "mine.py"
    script.write_text("import torch\nx = torch.ones(2, requires_grad=True)\n(x * 3).sum().backward()\n")
    first = MainWindow(settings=settings)
    qtbot.addWidget(first)
    first.show()
    first.resize(700, 560)
    size = (first.width(), first.height())  # what the (small, 800x600) offscreen screen allowed
    first.set_theme("dark")
    first.open_path(str(script), run=False)
    first.close()
    second = MainWindow(settings=settings)
    qtbot.addWidget(second)
    assert second.theme == "dark"
    assert [a.text() for a in second.recent_menu.actions()] == [str(script.resolve())]
    assert (second.width(), second.height()) == size
    second.close()


MODEL_FILE = """
import torch
from torch import nn


class Tiny(nn.Module):
    def __init__(self, width, depth=2):
        super().__init__()
        self.layers = nn.Sequential(*[nn.Linear(width, width) for _ in range(depth)])

    def forward(self, x):
        return torch.tanh(self.layers(x))
"""


def test_open_model_from_a_file(qtbot, window, tmp_path, monkeypatch):
    from gradstudio.gui.model_dialog import ModelChoice, ModelDialog

    path = tmp_path / "tiny.py"
    path.write_text(MODEL_FILE)
    asked = {}

    def fake_ask(cls, p, candidates, parent=None):
        asked["names"] = [c.name for c in candidates]
        asked["required"] = candidates[0].required
        return ModelChoice("Tiny", {"width": 6, "depth": 3}, None)

    monkeypatch.setattr(ModelDialog, "ask", classmethod(fake_ask))
    with qtbot.waitSignal(window.graph_panel.sig_layout_ready, timeout=30_000):
        assert window.models.open(str(path), window)
    assert asked == {"names": ["Tiny"], "required": ["width"]}
    g = window.session.graph
    assert {n.label for n in g.by_kind("parameter")} >= {"layers.2.weight", "layers.0.bias"}
    assert len(g.by_label("AddmmBackward0")) == 3


def test_running_a_model_file_points_to_open_model(qtbot, window, tmp_path):
    path = tmp_path / "tiny.py"
    path.write_text(MODEL_FILE)
    window.open_path(str(path), run=False)
    with qtbot.waitSignal(window.runs.sig_finished, timeout=30_000):
        window.run()
    assert "File › Open model" in window.statusBar().currentMessage()


def test_open_model_reports_files_without_models(qtbot, window, tmp_path):
    path = tmp_path / "plain.py"
    path.write_text("x = 1\n")
    assert not window.models.open(str(path), window)
    assert "defines no nn.Module" in window.statusBar().currentMessage()
    bad = tmp_path / "bad.py"
    bad.write_text("class A(:\n")
    assert not window.models.open(str(bad), window)
    assert "line 1" in window.statusBar().currentMessage()


def test_model_dialog_checks_required_arguments_and_shape(qtbot):
    from gradstudio.core.model_files import find_models
    from gradstudio.gui.model_dialog import ModelDialog, parse_shape

    dialog = ModelDialog("tiny.py", find_models(MODEL_FILE))
    qtbot.addWidget(dialog)
    assert set(dialog.fields) == {"width", "depth"} and dialog.fields["depth"].text() == "2"
    dialog._on_accept()
    assert "width: a value is required" in dialog.error.text()
    dialog.fields["width"].setText("8")
    dialog.shape.setText("4, -1")
    dialog._on_accept()
    assert "input shape" in dialog.error.text()
    dialog.shape.setText("4x8")
    dialog._on_accept()
    assert dialog.result_choice.kwargs == {"width": 8, "depth": 2} and dialog.result_choice.input_shape == (4, 8)
    assert parse_shape(" ") is None


def test_builder_model_goes_to_the_graph(qtbot, window):
    builder = window.builder_panel
    assert builder.drop_kind("Tanh", [], 2)  # Linear, ReLU, Tanh, Linear
    with qtbot.waitSignal(window.graph_panel.sig_layout_ready, timeout=30_000):
        builder.record()
    assert "class Net" in window.session.source
    g = window.session.graph
    assert {"model.linear1.weight", "model.linear2.bias"} <= {n.label for n in g.by_kind("parameter")}
    assert g.by_label("TanhBackward0") and any(n.executed for n in g.by_kind("op"))


def test_project_round_trip_asks_before_running_code(qtbot, window, tmp_path, monkeypatch):
    from gradstudio.core.builder import ModuleSpec as M

    window.builder_panel.set_spec(M.of("Sequential", M.of("Linear", in_features=3, out_features=5), M.of("Tanh")), (4, 3))
    window.session.set_source("import torch\nx = torch.ones(2, requires_grad=True)\n(x * 5).sum().backward()\n")
    path = tmp_path / "lesson.gradstudio"
    assert window.projects.save(str(path))

    window.builder_panel.set_spec(M.of("Sequential", M.of("ReLU")), (1, 1))
    window.session.set_source("")
    asked = []
    monkeypatch.setattr(window.projects, "ask_trust", lambda p, proj: asked.append(p) or False)
    assert window.projects.open(str(path))
    assert asked and window.session.tape is None  # declined: nothing ran
    assert window.builder_panel.document.input_shape == (4, 3)
    assert "(x * 5)" in window.session.source

    monkeypatch.setattr(window.projects, "ask_trust", lambda p, proj: True)
    with qtbot.waitSignal(window.runs.sig_finished, timeout=30_000):
        window.projects.open(str(path))
    asked.clear()
    monkeypatch.setattr(window.projects, "ask_trust", lambda p, proj: asked.append(p) or False)
    with qtbot.waitSignal(window.runs.sig_finished, timeout=30_000):
        window.projects.open(str(path))  # same content, already trusted: runs without asking
    assert not asked


def test_malformed_project_is_reported_and_loses_nothing(qtbot, window, tmp_path):
    from gradstudio.core.builder import ModuleSpec as M

    window.builder_panel.set_spec(M.of("Sequential", M.of("GELU")), (2, 7))
    bad = tmp_path / "bad.gradstudio"
    bad.write_text('{"format": "gradstudio-project", "version": 1, "input_shape": [2, 0]}')
    assert not window.projects.open(str(bad))
    assert "input_shape[1]: expected a positive integer" in window.statusBar().currentMessage()
    assert window.builder_panel.document.input_shape == (2, 7)


def test_classes_of_a_run_join_the_builder_palette(qtbot, window):
    from gradstudio.core.builder import USER_GROUP
    from gradstudio.core.builder.palette import set_user_kinds

    window.session.set_source(MODEL_FILE + "\nnet = Tiny(4)\nnet(torch.randn(2, 4)).sum().backward()\n")
    try:
        with qtbot.waitSignal(window.runs.sig_finished, timeout=30_000):
            window.run()
        palette = window.builder_panel.palette
        groups = {palette.topLevelItem(i).text(0): palette.topLevelItem(i) for i in range(palette.topLevelItemCount())}
        assert [groups[USER_GROUP].child(i).text(0) for i in range(groups[USER_GROUP].childCount())] == ["Tiny"]
        builder = window.builder_panel
        assert builder.drop_kind("Tiny", [], 2)  # after the ReLU: 16 features, its width guess
        with qtbot.waitSignal(window.graph_panel.sig_layout_ready, timeout=30_000):
            builder.record()
        assert "class Tiny(nn.Module)" in window.session.source
        assert window.session.error is None
    finally:
        set_user_kinds([])


def _find_item(tree, path):
    from gradstudio.gui.panels.hierarchy.panel import PATH_ROLE

    stack = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    while stack:
        item = stack.pop()
        if item.data(0, PATH_ROLE) == path:
            return item
        stack += [item.child(i) for i in range(item.childCount())]
    return None


def test_hierarchy_freezes_a_module_and_records_again(qtbot):
    import torch
    from PySide6.QtCore import Qt as QtNS

    import gradstudio
    from gradstudio.core.examples import CascadeNet

    window = gradstudio.show(CascadeNet(widths=(4,), depth=1), torch.randn(1, 3, 8, 8), block=False)
    qtbot.addWidget(window)
    panel = window.hierarchy_panel
    stem = _find_item(panel.tree, "stem")
    assert stem.checkState(0) == QtNS.CheckState.Checked and stem.text(1) == f"{3 * 4 * 9 + 4:,}"
    panel.tree.setCurrentItem(stem)
    assert panel.params.rowCount() == 2 and panel.params.item(0, 1).text() == "4×3×3×3"
    with qtbot.waitSignal(window.session.sig_tape_changed, timeout=30_000):
        stem.setCheckState(0, QtNS.CheckState.Unchecked)
    labels = {n.label for n in window.session.graph.by_kind("parameter")}
    assert "stem.weight" not in labels and "head.weight" in labels  # frozen: no AccumulateGrad
    assert _find_item(panel.tree, "").checkState(0) == QtNS.CheckState.PartiallyChecked
    window.close()


def test_hierarchy_of_a_script_model_records_it_again_on_its_first_input(qtbot, window):
    from PySide6.QtCore import Qt as QtNS

    source = MODEL_FILE + "\nnet = Tiny(4)\nnet(torch.randn(2, 4)).sum().backward()\n"
    window.session.set_source(source)
    with qtbot.waitSignal(window.runs.sig_finished, timeout=30_000):
        window.run()
    panel = window.hierarchy_panel
    assert panel.editable and "'net'" in panel.title.text()
    item = _find_item(panel.tree, "layers.0")
    with qtbot.waitSignal(window.session.sig_tape_changed, timeout=30_000):
        item.setCheckState(0, QtNS.CheckState.Unchecked)
    labels = {n.label for n in window.session.graph.by_kind("parameter")}
    assert "net.layers.0.weight" not in labels and "net.layers.1.weight" in labels  # named as in the script
    assert window.session.source == source  # the script stays in the editor
    assert "Run (Ctrl+R) re-runs your script" in window.statusBar().currentMessage()


def test_hierarchy_of_a_model_the_script_never_called_is_read_only(qtbot, window):
    window.session.set_source(MODEL_FILE + "\nnet = Tiny(4)\nx = torch.ones(2, requires_grad=True)\n(x * 2).sum().backward()\n")
    with qtbot.waitSignal(window.runs.sig_finished, timeout=30_000):
        window.run()
    panel = window.hierarchy_panel
    assert not panel.editable and "not called by the script" in panel.title.text()
    item = _find_item(panel.tree, "layers.0")
    assert item is not None and not (item.flags() & Qt.ItemIsEnabled)


def test_command_line_model_file_offers_to_build_a_model(qtbot, window, tmp_path, monkeypatch):
    from gradstudio.gui import app as app_module
    from gradstudio.gui.model_dialog import ModelDialog

    path = tmp_path / "tiny.py"
    path.write_text(MODEL_FILE)
    offered = []
    monkeypatch.setattr(ModelDialog, "ask", classmethod(lambda cls, p, c, parent=None: offered.append(p)))
    window.open_path(str(path), run=False)
    with qtbot.waitSignal(window.runs.sig_finished, timeout=30_000) as blocker:
        window.run()
    app_module._offer_model(window, str(path), blocker.args[0])
    assert offered == [str(path)]
