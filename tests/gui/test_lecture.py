"""Lecture mode as a presenter meets it: every lesson played with the presenter's keys into
the next, one fact per lesson read off the screen, the Lesson panel, auto-play, the laser
pointer, presentation scaling and figures for slides."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

import torch  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402

from gradstudio.assets.lessons import LESSONS, lesson  # noqa: E402
from gradstudio.core import stepping  # noqa: E402
from gradstudio.gui.graph_view.cluster_item import LABEL_Z  # noqa: E402
from gradstudio.gui.lecture.controller import KEY_PANEL, LectureController  # noqa: E402
from gradstudio.gui.lecture.lesson_panel import TITLE_PT  # noqa: E402
from gradstudio.gui.lecture.playback_dialog import PlaybackDialog, PlaybackOptions, steps_for  # noqa: E402
from gradstudio.gui.lecture.playback_export import PlaybackCancelled, export_playback  # noqa: E402
from gradstudio.gui.panels.inspector.describe import fmt_number  # noqa: E402

LAYOUT_TIMEOUT = 60_000
KEYS = [item.key for item in LESSONS]


def controller_of(window) -> LectureController:
    """The window's own controller once the window makes one, else one attached here."""
    existing = getattr(window, "lecture", None)
    return existing if isinstance(existing, LectureController) else LectureController(window)


@pytest.fixture()
def lecture(window):
    return controller_of(window)


def open_at(qtbot, lecture, key: str, step: int | str = 0) -> None:
    """Open a lesson through the controller and wait until its graph is on screen."""
    with qtbot.waitSignal(lecture.window.graph_panel.sig_layout_ready, timeout=LAYOUT_TIMEOUT):
        lecture.open_lesson(KEYS.index(key), step)


def press(qtbot, window, key) -> None:
    window.graph_panel.view.setFocus()
    qtbot.keyClick(window.graph_panel.view, key)


def press_view(qtbot, window, key) -> None:
    """A key with the focus in whichever view is on screen."""
    view = window.views.currentWidget()
    view.setFocus()
    qtbot.keyClick(view, key)


def play_tape_with_keys(qtbot, window) -> None:
    s = window.session
    for expected in range(1, s.n_events):
        press(qtbot, window, Qt.Key_PageDown)
        assert s.step == expected
    assert window.graph_panel.scene.step == s.n_events - 1 and s.error is None
    assert window.timeline_panel.label.full_text().startswith(f"step {s.n_events} / {s.n_events}")


def shown_labels(window) -> list[str]:
    """Labels of the node boxes visible on screen (with repeats)."""
    return [it.node.label for it in window.graph_panel.scene.nodes.values() if it.isVisible()]


def shown_clusters(window) -> set[str]:
    return {c.label_item.full for c in window.graph_panel.scene.clusters.values() if c.label_item.isVisible()}


# -- presenter keys: every lesson, first step to last, into the next -----------------------
@pytest.mark.parametrize("key", KEYS)
def test_page_down_plays_a_lesson_to_its_end_and_opens_the_next(qtbot, window, lecture, key):
    index = KEYS.index(key)
    open_at(qtbot, lecture, key)
    s = window.session
    assert s.step == 0 and lecture.lesson is LESSONS[index]
    view = LESSONS[index].view
    assert window.views.currentWidget() is {"graph": window.graph_panel, "walkthrough": window.walkthrough_view,
                                            "compare": window.compare_view, "runs": window.runs_panel}[view]
    if view == "graph":
        play_tape_with_keys(qtbot, window)
    elif view == "walkthrough":  # the keys run the loop's lines: two iterations of five
        for line in range(10):
            press_view(qtbot, window, Qt.Key_PageDown)
            position = window.walkthrough_view.walk.position
            assert (position.iteration, position.line) == (1 + (line + 1) // 5, (line + 1) % 5)
    elif view == "compare":  # the keys walk the static-graph problems
        tour = []
        for _ in range(2):
            tour.append(window.compare_view.scenario)
            press_view(qtbot, window, Qt.Key_PageDown)
        assert tour + [window.compare_view.scenario] == ["branch", "depth", "rnn"]
    if index + 1 < len(LESSONS):
        with qtbot.waitSignal(window.graph_panel.sig_layout_ready, timeout=LAYOUT_TIMEOUT):
            press_view(qtbot, window, Qt.Key_PageDown)
        following = LESSONS[index + 1]
        assert lecture.lesson is following and s.filename == following.filename and s.step == 0
        assert lecture.panel.title.text() == following.title
    else:  # the lecture's last step: nothing further to open
        press_view(qtbot, window, Qt.Key_PageDown)
        assert lecture.lesson is LESSONS[-1] and not window.runs.running


def test_back_keys_step_back_and_cross_into_the_previous_lessons_end(qtbot, window, lecture):
    open_at(qtbot, lecture, "02_power", 2)
    s = window.session
    press(qtbot, window, Qt.Key_Left)
    press(qtbot, window, Qt.Key_Up)
    assert s.step == 0
    with qtbot.waitSignal(window.graph_panel.sig_layout_ready, timeout=LAYOUT_TIMEOUT):
        press(qtbot, window, Qt.Key_PageUp)
    assert lecture.lesson.key == "01_basics" and s.step == s.n_events - 1
    press(qtbot, window, Qt.Key_Home)
    assert s.step == 0
    press(qtbot, window, Qt.Key_Down)
    press(qtbot, window, Qt.Key_Right)
    assert s.step == 2
    press(qtbot, window, Qt.Key_End)
    assert s.step == s.n_events - 1
    press(qtbot, window, Qt.Key_Home)
    press(qtbot, window, Qt.Key_PageUp)  # the first lesson's first step: nowhere to go
    assert lecture.lesson.key == "01_basics" and s.step == 0 and not window.runs.running


def test_presenter_keys_never_steal_from_text_fields(qtbot, window, lecture):
    open_at(qtbot, lecture, "02_power")
    s = window.session
    editor = window.editor_panel.editor
    editor.setFocus()
    qtbot.keyClick(editor, Qt.Key_PageDown)
    qtbot.keyClick(editor, Qt.Key_L)
    assert s.step == 0 and not lecture.actions["laser"].isChecked()
    pace = lecture.panel.pace
    pace.setFocus()
    qtbot.keyClick(pace, Qt.Key_Space)
    assert not lecture.autoplay.playing


def test_lists_keep_up_and_down_for_their_rows(qtbot, window, lecture):
    from PySide6.QtWidgets import QAbstractItemView

    open_at(qtbot, lecture, "03_submodules", 5)
    tree = window.hierarchy_panel.findChild(QAbstractItemView)
    window.hierarchy_dock.show()
    window.hierarchy_dock.raise_()
    tree.setFocus()
    qtbot.waitUntil(tree.hasFocus)
    step = window.session.step
    qtbot.keyClick(tree, Qt.Key_Up)
    assert window.session.step == step
    qtbot.keyClick(tree, Qt.Key_PageUp)  # the presenter remote's key still steps
    assert window.session.step == step - 1


# -- one fact per lesson, read off the screen ------------------------------------------------
def test_basics_inspector_shows_the_x_grad_torch_computes(qtbot, window, lecture):
    open_at(qtbot, lecture, "01_basics", "end")
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    (((x * w).sum() + x.pow(2).mean()) * 2).backward()
    node = window.session.graph.by_label("x")[0]
    window.session.select(node.id)
    window.inspector_panel.show_gradient(True)
    view = window.inspector_panel.grad_view
    torch.testing.assert_close(torch.as_tensor(view.snapshot.values), x.grad)
    assert view.stat_text("max") == fmt_number(x.grad.max().item())
    assert view.stat_text("min") == fmt_number(x.grad.min().item())


def test_modules_the_power_module_appears_around_its_node(qtbot, window, lecture):
    open_at(qtbot, lecture, "02_power", "end")
    assert "PowBackward0" in shown_labels(window)
    assert "cube: Power" in shown_clusters(window)


def test_submodules_show_a_box_per_block(qtbot, window, lecture):
    open_at(qtbot, lecture, "03_submodules", "end")
    labels = shown_clusters(window)
    for stage in ("stage1", "stage2"):
        assert f"net.{stage}: Stage" in labels
        for block in (0, 1):
            assert f"net.{stage}.blocks.{block}: ResidualBlock" in labels


def test_data_the_timeline_shows_getitem_once_per_sample(qtbot, window, lecture):
    open_at(qtbot, lecture, "07_data")
    s, texts = window.session, []
    while s.step < s.n_events - 1:
        press(qtbot, window, Qt.Key_Right)
        texts.append(window.timeline_panel.label.full_text())
    assert sum("__getitem__" in t for t in texts) >= 16  # batch_size=16
    details = [it.node.detail for it in window.graph_panel.scene.nodes.values() if it.node.label == "AddmmBackward0"]
    assert any("16×" in d for d in details)  # the batch of 16 went through the model
    assert "NllLossBackward0" in shown_labels(window)


def test_training_shows_one_loss_per_pass_of_the_loop(qtbot, window, lecture):
    open_at(qtbot, lecture, "06_training_loop", "end")
    assert shown_labels(window).count("NllLossBackward0") == 2
    assert "zero_grad()" in lecture.panel.explanation.text()


def test_training_lesson_walks_the_loop_and_shows_sgd_updates_and_accumulation(qtbot, window, lecture):
    open_at(qtbot, lecture, "06_training_loop")
    view = window.walkthrough_view
    assert window.views.currentWidget() is view
    for _ in range(5):  # zero_grad, forward, loss, backward, step
        press_view(qtbot, window, Qt.Key_PageDown)
    lr = view.lr_spin.value()
    for name, _ in view.walk.model.named_parameters():
        old, grad, new = (view.table.values(name, f"{c} [0]")[0] for c in ("old", "grad", "new"))
        assert new == pytest.approx(old - lr * grad, rel=1e-6, abs=1e-9)  # w ← w − lr·grad, on screen
    # skip zero_grad on the same batch with lr 0: the second backward doubles .grad on screen
    view.back_to_start()
    view.skip_box.setChecked(True)
    view.repeat_box.setChecked(True)
    view.lr_spin.setValue(0.0)
    for _ in range(9):
        press_view(qtbot, window, Qt.Key_PageDown)
    name = next(iter(dict(view.walk.model.named_parameters())))
    one = view.table.values(name, ".grad after iteration 1")
    two = view.table.values(name, ".grad after iteration 2")
    assert two == pytest.approx([2 * v for v in one])


def test_dynamic_graphs_rnn_graph_grows_with_the_sequence(qtbot, window, lecture):
    open_at(qtbot, lecture, "04_rnn", "end")
    counts = {len(shown_labels(window))}
    for _ in range(12):  # lengths 2, 5 or 9 at random: run again until another shows up
        with qtbot.waitSignal(window.graph_panel.sig_layout_ready, timeout=LAYOUT_TIMEOUT):
            window.run()
        counts.add(len(shown_labels(window)))
        if len(counts) > 1:
            break
    assert len(counts) > 1


def test_random_depth_has_one_shared_weight_however_deep(qtbot, window, lecture):
    open_at(qtbot, lecture, "05_random_depth", "end")
    labels = shown_labels(window)
    assert labels.count("net.shared.weight") == 1
    assert 1 <= labels.count("AddmmBackward0") <= 4


def test_static_graphs_both_branches_are_on_screen(qtbot, window, lecture):
    open_at(qtbot, lecture, "08_static_graphs", "end")
    labels = shown_labels(window)
    assert "ReluBackward0" in labels and "TanhBackward0" in labels
    assert {"net.up: Linear", "net.down: Linear"} <= shown_clusters(window)
    compare = window.compare_view  # on screen: export refuses the data-dependent if, in its own words
    assert window.views.currentWidget() is compare and compare.scenario == "branch"
    qtbot.waitUntil(lambda: compare.ready, timeout=LAYOUT_TIMEOUT)
    assert "Could not guard on data-dependent expression" in compare.error_text


def test_tracking_runs_shows_a_loss_per_logged_step(qtbot, window, lecture):
    open_at(qtbot, lecture, "09_tracking_runs", "end")
    assert shown_labels(window).count("NllLossBackward0") == 3
    assert "run database" in lecture.panel.explanation.text()
    panel = window.runs_panel  # on screen: the lesson's run in the Runs table
    assert window.views.currentWidget() is panel
    panel.refresh()
    assert any(r.status == "completed" for r in panel.model.records())


# -- the Lesson panel ----------------------------------------------------------------------
def test_lesson_panel_shows_the_lesson_and_hides_for_good(qtbot, window, lecture, settings):
    window.open_lesson(lesson("04_rnn"), run=False)  # from the window's own Lessons menu
    p = lecture.panel
    assert p.title.text() == lesson("04_rnn").title
    assert p.explanation.text() == lesson("04_rnn").explanation
    assert p.position.text() == f"lesson {KEYS.index('04_rnn') + 1} / {len(LESSONS)}"
    assert lecture.dock.isVisible()
    qtbot.mouseClick(p.close_button, Qt.LeftButton)
    assert not lecture.dock.isVisible()
    settings.sync()
    assert QSettings(settings.fileName(), QSettings.IniFormat).value(KEY_PANEL) in (False, "false")
    window.open_lesson(lesson("02_power"), run=False)
    assert p.title.text() == lesson("02_power").title  # kept up to date while hidden
    lecture.actions["panel"].trigger()
    assert lecture.dock.isVisible()


def test_a_hidden_panel_stays_hidden_in_the_next_window(qtbot, settings, tmp_path):
    from gradstudio.core.project import TrustStore
    from gradstudio.gui.main_window import MainWindow

    settings.setValue(KEY_PANEL, False)
    win = MainWindow(settings=settings, trust=TrustStore(str(tmp_path / "trust.json")))
    qtbot.addWidget(win)
    lecture = controller_of(win)
    win.show()
    assert not lecture.dock.isVisible()
    view_menu = next(a.menu() for a in win.menuBar().actions() if a.text() == "&View")
    assert lecture.actions["panel"] in view_menu.actions()
    win.close()


def test_panel_buttons_open_neighbouring_lessons(qtbot, window, lecture):
    assert lecture.lesson is None and lecture.panel.title.text() == "No lesson open"
    with qtbot.waitSignal(window.graph_panel.sig_layout_ready, timeout=LAYOUT_TIMEOUT):
        qtbot.mouseClick(lecture.panel.next_button, Qt.LeftButton)
    assert lecture.lesson is LESSONS[0] and not lecture.panel.previous_button.isEnabled()
    with qtbot.waitSignal(window.graph_panel.sig_layout_ready, timeout=LAYOUT_TIMEOUT):
        qtbot.mouseClick(lecture.panel.next_button, Qt.LeftButton)
    assert lecture.lesson is LESSONS[1] and window.session.step == 0


def test_lessons_ask_the_window_for_their_view(qtbot, window, lecture):
    shown, opened = [], []
    known = {"graph", "runs"}

    def show_view(name):
        shown.append(name)
        return name in known

    window.show_view = show_view
    lecture.sig_lesson_opened.connect(opened.append)
    window.open_lesson(lesson("06_training_loop"), run=False)
    window.open_lesson(lesson("09_tracking_runs"), run=False)
    assert shown == ["walkthrough", "graph", "runs"]  # a view the window lacks: the graph
    assert [item.dataset for item in opened] == [None, "spirals"]


# -- auto-play ------------------------------------------------------------------------------
def test_space_auto_plays_to_the_end_and_stops(qtbot, window, lecture):
    open_at(qtbot, lecture, "02_power")
    lecture.panel.pace.setValue(0.25)
    assert lecture.autoplay.pace == 0.25
    press(qtbot, window, Qt.Key_Space)
    assert lecture.autoplay.playing and lecture.actions["autoplay"].isChecked()
    assert "Pause" in lecture.panel.play_button.text()
    s = window.session
    qtbot.waitUntil(lambda: not lecture.autoplay.playing, timeout=20_000)
    assert s.step == s.n_events - 1 and lecture.lesson.key == "02_power"
    assert not lecture.actions["autoplay"].isChecked()


def test_auto_play_continues_into_the_next_lesson_when_asked(qtbot, window, lecture):
    open_at(qtbot, lecture, "02_power", "end")
    lecture.panel.continue_box.setChecked(True)
    assert lecture.actions["continue"].isChecked()
    lecture.panel.pace.setValue(0.25)
    qtbot.mouseClick(lecture.panel.play_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: lecture.lesson is not None and lecture.lesson.key == "03_submodules"
                    and window.graph_panel.scene is not None and window.session.step >= 1, timeout=30_000)
    press(qtbot, window, Qt.Key_Space)
    assert not lecture.autoplay.playing


def test_timeline_play_and_auto_play_take_turns(qtbot, window, lecture):
    open_at(qtbot, lecture, "02_power")
    lecture.toggle_autoplay()
    window.timeline_panel.play()
    assert not lecture.autoplay.playing
    lecture.toggle_autoplay()
    assert lecture.autoplay.playing and not window.timeline_panel.is_playing
    lecture.toggle_autoplay()


# -- the laser pointer ----------------------------------------------------------------------
def test_laser_follows_the_current_node(qtbot, window, lecture):
    open_at(qtbot, lecture, "01_basics")
    press(qtbot, window, Qt.Key_L)
    assert lecture.actions["laser"].isChecked()
    laser = window.graph_panel.laser
    for _ in range(4):
        press(qtbot, window, Qt.Key_Right)
    target = laser.target()
    assert target is not None and laser.item.isVisible()
    qtbot.waitUntil(lambda: (laser.item.pos() - target.center()).manhattanLength() < 1.0, timeout=3_000)
    node = window.graph_panel.scene.node_for(window.graph_panel.scene.current_nodes()[-1])
    assert laser.item.sceneBoundingRect().contains(node.center())
    edge = next(iter(window.graph_panel.scene.edges.values()))
    assert edge.zValue() < laser.item.zValue() < min(LABEL_Z, node.zValue())  # under every word
    press(qtbot, window, Qt.Key_L)
    assert not laser.item.isVisible()


def test_laser_rings_the_result_of_a_call_that_made_several_nodes(qtbot, window, lecture):
    open_at(qtbot, lecture, "02_power", 1)  # `input**self.exponent`: AccumulateGrad and PowBackward0
    lecture.actions["laser"].setChecked(True)
    scene = window.graph_panel.scene
    assert [scene.nodes[n].node.label for n in scene.current_nodes()] == ["AccumulateGrad", "PowBackward0"]
    ring = window.graph_panel.laser.item
    pow_box, acc_box = (scene.nodes[n] for n in reversed(scene.current_nodes()))
    assert ring.sceneBoundingRect().contains(pow_box.sceneBoundingRect().center())
    assert not ring.sceneBoundingRect().contains(acc_box.center())


def test_laser_is_bigger_in_presentation_and_stays_after_relayout(qtbot, window, lecture):
    open_at(qtbot, lecture, "02_power", 1)
    lecture.actions["laser"].setChecked(True)
    laser = window.graph_panel.laser
    node = window.graph_panel.scene.node_for(window.graph_panel.scene.current_nodes()[-1])
    pad_normal = laser.item.rect().width() - node.rect.width()
    with qtbot.waitSignal(window.graph_panel.sig_layout_ready, timeout=LAYOUT_TIMEOUT):
        window.set_presentation(True)
    node = window.graph_panel.scene.node_for(window.graph_panel.scene.current_nodes()[-1])
    assert laser.item.scene() is window.graph_panel.scene and laser.item.isVisible()
    assert laser.item.rect().width() - node.rect.width() > pad_normal
    window.set_presentation(False)


def test_laser_stays_out_of_figures_unless_asked(qtbot, window, lecture, tmp_path):
    open_at(qtbot, lecture, "02_power", 1)
    panel = window.graph_panel
    plain = panel.export_png(tmp_path / "plain.png")
    lecture.actions["laser"].setChecked(True)
    without = panel.export_png(tmp_path / "without.png")
    with_laser = panel.export_png(tmp_path / "with.png", overlays=True)
    assert QImage(str(plain)) == QImage(str(without))
    assert QImage(str(with_laser)) != QImage(str(without))
    assert panel.laser.item.isVisible()  # back on screen after the export


# -- presentation scaling ---------------------------------------------------------------------
def test_presentation_scales_the_lesson_panel_and_graph_lines(qtbot, window, lecture):
    open_at(qtbot, lecture, "03_submodules", 5)
    panel = window.graph_panel
    before = {
        "title": lecture.panel.title.font().pointSizeF(),
        "glow": panel.scene.style.glow_pens[0].widthF(),
        "edge": panel.scene.style.edge_pen.widthF(),
        "band": next(iter(panel.scene.clusters.values())).label_item.band,
        "search": panel.search.font().pointSizeF(),
        "legend": panel.legend.height(),
    }
    with qtbot.waitSignal(panel.sig_layout_ready, timeout=LAYOUT_TIMEOUT):
        window.set_presentation(True)
    after = {
        "title": lecture.panel.title.font().pointSizeF(),
        "glow": panel.scene.style.glow_pens[0].widthF(),
        "edge": panel.scene.style.edge_pen.widthF(),
        "band": next(iter(panel.scene.clusters.values())).label_item.band,
        "search": panel.search.font().pointSizeF(),
        "legend": panel.legend.height(),
    }
    assert after["title"] == pytest.approx(TITLE_PT * 1.6)
    for name in before:
        assert after[name] > before[name], name
    label = next(iter(panel.scene.clusters.values())).label_item
    assert label.band <= 19  # the layout's band plus its padding: never over the module's nodes
    node = next(iter(panel.scene.nodes.values()))
    glow_half = panel.scene.style.glow_pens[0].widthF() / 2
    assert node.boundingRect().top() <= node.rect.top() - glow_half  # the glow is never clipped
    window.set_presentation(False)
    assert lecture.panel.title.font().pointSizeF() == pytest.approx(TITLE_PT)


# -- figures for slides -------------------------------------------------------------------------
def test_export_figure_writes_png_and_svg(qtbot, window, lecture, tmp_path):
    open_at(qtbot, lecture, "02_power", "end")
    png = lecture.figures.export_figure(tmp_path / "figure.png")
    image = QImage(str(png))
    assert not image.isNull() and image.width() > 100
    svg = lecture.figures.export_figure(tmp_path / "figure.svg")
    text = svg.read_text()
    assert "<svg" in text and "PowBackward0" in text
    with pytest.raises(ValueError, match="figure.jpg: a figure is a .png or .svg"):
        lecture.figures.export_figure(tmp_path / "figure.jpg")


def test_export_playback_gif_has_a_frame_per_step(qtbot, window, lecture, tmp_path):
    open_at(qtbot, lecture, "02_power", "end")
    n = window.session.n_events
    step_before = window.session.step
    calls = []
    gif = export_playback(window, range(n), tmp_path / "play.gif", "gif", (320, 180), 0.5,
                          progress=lambda done, total: calls.append((done, total)))
    with Image.open(gif) as im:
        assert im.n_frames == n and im.size == (320, 180)
        assert im.info["duration"] == 500
    assert calls[0] == (0, n) and calls[-1] == (n, n)
    assert window.session.step == step_before and window.graph_panel.scene.step == step_before  # screen untouched


def test_export_playback_png_sequence_of_the_backward_pass(qtbot, window, lecture, tmp_path):
    open_at(qtbot, lecture, "02_power", "end")
    steps = steps_for("backward", window.session.tape)
    assert steps.start == stepping.first_backward(window.session.tape)
    files = export_playback(window.graph_panel, steps, tmp_path / "frames", "png", (256, 144))
    assert [f.name for f in files] == [f"frame_{i:04d}.png" for i in range(1, len(steps) + 1)]
    first, last = QImage(str(files[0])), QImage(str(files[-1]))
    assert first.size().width() == 256 and first.size().height() == 144
    assert first != last  # gradients arrive during the backward pass


def test_playback_of_a_big_graph_follows_the_step_at_a_readable_zoom(qtbot, window, lecture):
    from gradstudio.gui.lecture.playback_export import READABLE_FRAME, _Frames

    open_at(qtbot, lecture, "02_power", "end")
    small = _Frames(window.graph_panel, window.graph_panel.scene, window.session.tape, (1280, 720))
    assert not small.follow and small._source() == window.graph_panel.scene.sceneRect()
    open_at(qtbot, lecture, "03_submodules", "end")
    scene, tape = window.graph_panel.scene, window.session.tape
    frames = _Frames(window.graph_panel, scene, tape, (640, 360))
    assert frames.follow
    k = next(e.index for e in tape.events if getattr(e, "op", "") == "conv2d" and e.index > 20)
    frames.image(k)
    node = frames.scene.node_for(frames.scene.current_nodes()[-1])
    source = frames._source()
    assert source.contains(node.mapRectToScene(node.rect))
    assert source.width() == pytest.approx(640 / READABLE_FRAME)


def test_export_playback_cancel_and_bad_arguments(qtbot, window, lecture, tmp_path):
    open_at(qtbot, lecture, "02_power", "end")
    with pytest.raises(PlaybackCancelled):
        export_playback(window, range(5), tmp_path / "frames", "png", (128, 128), progress=lambda d, t: d < 2)
    assert not list((tmp_path / "frames").glob("*.png"))  # nothing half-written is left
    with pytest.raises(ValueError, match="step 99 is outside the tape"):
        export_playback(window, range(99, 100), tmp_path / "x.gif")
    with pytest.raises(ValueError, match="fmt: expected one of gif, png"):
        export_playback(window, range(2), tmp_path / "x.mp4", "mp4")
    with pytest.raises(ValueError, match="size: 10×10"):
        export_playback(window, range(2), tmp_path / "x.gif", size=(10, 10))


def test_export_playback_menu_path_writes_a_gif(qtbot, window, lecture, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    open_at(qtbot, lecture, "02_power", "end")
    monkeypatch.setattr(PlaybackDialog, "ask", classmethod(
        lambda cls, parent, options: PlaybackOptions("forward", "gif", (960, 540), 0.3)))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "menu"), ""))
    lecture.actions["playback"].trigger()
    with Image.open(tmp_path / "menu.gif") as im:
        assert im.n_frames == stepping.first_backward(window.session.tape)
        assert im.size == (960, 540)
    assert "Playback written" in window.statusBar().currentMessage()


def test_playback_dialog_round_trips_its_options(qtbot):
    dialog = PlaybackDialog(None, PlaybackOptions("backward", "png", (1920, 1080), 1.5))
    qtbot.addWidget(dialog)
    assert dialog.options() == PlaybackOptions("backward", "png", (1920, 1080), 1.5)
    with pytest.raises(ValueError, match="part: expected whole, forward or backward"):
        steps_for("sideways", None)

