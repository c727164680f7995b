"""The Training view: a short run fills the curves and the prediction, is stored, can be
paused and stepped through the capture engine, and bad settings are said in words."""

import os

import pytest
from PySide6.QtCore import Qt

from gradstudio.core.runs import RunStore
from gradstudio.core.training.remote import RemoteJob


def choose(tv, dataset, epochs=3, **values):
    form = tv.form
    form.dataset.setCurrentIndex(form.dataset.findData(dataset))
    form.epochs.setValue(epochs)
    for name, value in values.items():
        widget = getattr(form, name)
        if hasattr(widget, "setValue"):
            widget.setValue(value)
        else:
            widget.setCurrentText(value)


def wait_finished(qtbot, tv, timeout=60_000):
    qtbot.waitUntil(lambda: not tv.controller.running and tv.start_button.isEnabled(), timeout=timeout)


BOTH_MODES = pytest.mark.parametrize("mode", ["process", "thread"])


@BOTH_MODES
def test_a_short_run_fills_the_curves_and_the_decision_boundary_and_is_stored(qtbot, window, mode):
    window.training_view.controller.mode = mode
    window.show_view("training")
    tv = window.training_view
    assert not window.timeline_dock.isVisible()  # the graph's docks make room
    choose(tv, "moons", epochs=4)
    qtbot.mouseClick(tv.start_button, Qt.LeftButton)
    wait_finished(qtbot, tv)
    assert tv.status.text().startswith("Completed")
    series = tv.controller.series
    steps = series.count("loss")
    assert steps == 4 * 15  # 480 training samples in batches of 32
    tv.curves.refresh()
    train_curve = tv.curves.curves["loss"].raw  # the raw per-step curve behind the smoothed one
    xs, ys = train_curve.getData()
    assert len(xs) == steps and ys[-1] == pytest.approx(series.arrays("loss")[1][-1])
    grid = tv.prediction.image.image
    assert grid is not None and grid.shape[:2] == (100, 100)
    assert tv.grad_norms.lines  # one line per layer
    with RunStore(os.environ["GRADSTUDIO_RUNS_DB"]) as store:
        (run,) = store.runs()
        assert run.status == "completed" and run.config["dataset"]["kind"] == "moons"
        assert len(store.metrics(run.id, "loss")) == steps
    window.show_view("graph")
    assert window.timeline_dock.isVisible()


@BOTH_MODES
def test_pause_then_step_records_one_batch_and_shows_its_graph(qtbot, window, mode):
    window.training_view.controller.mode = mode
    window.show_view("training")
    tv = window.training_view
    choose(tv, "spirals", epochs=500)
    tv.start()
    tv.controller.pause()
    qtbot.waitUntil(lambda: tv.pause_button.text() == "Resume", timeout=30_000)
    before = tv.controller.series.count("loss")
    with qtbot.waitSignal(tv.sig_tape, timeout=30_000):
        qtbot.mouseClick(tv.step_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: tv.pause_button.text() == "Resume")
    assert tv.controller.series.count("loss") == before + 1
    assert window.views.currentWidget() is window.graph_panel
    ops = [e.op for e in window.session.tape.events if e.kind == "call"]
    assert "linear" in ops and "cross_entropy" in ops and window.session.graph.nodes
    tv.controller.stop()
    wait_finished(qtbot, tv)
    assert tv.status.text().startswith("Stopped")


def test_a_missing_csv_file_is_said_and_nothing_starts(qtbot, window, tmp_path):
    tv = window.training_view
    tv.form.dataset.setCurrentIndex(tv.form.dataset.findData("csv"))
    tv.form.csv_path.setText(str(tmp_path / "missing.csv"))
    assert not tv.start()
    assert "Cannot start" in tv.status.text() and "missing.csv" in tv.status.text()
    assert tv.start_button.isEnabled() and not tv.controller.running


@BOTH_MODES
def test_a_diverging_run_says_so_with_advice(qtbot, window, mode):
    tv = window.training_view
    tv.controller.mode = mode
    choose(tv, "sine", epochs=200, lr=50.0, optimizer="SGD")
    tv.start()
    wait_finished(qtbot, tv)
    text = tv.status.text()
    assert text.startswith("Diverged") and "smaller learning rate" in text


def test_csv_columns_are_offered_and_trained_on(qtbot, window, tmp_path, monkeypatch):
    path = tmp_path / "points.csv"
    rows = ["a,b,noise,label"] + [f"{i % 7},{(i * 3) % 5},{i % 2},{'yes' if i % 7 > 3 else 'no'}" for i in range(80)]
    path.write_text("\n".join(rows) + "\n")
    from gradstudio.gui.training import form as form_module

    monkeypatch.setattr(form_module, "ask_csv_file", lambda parent: str(path))
    tv = window.training_view
    tv.form.dataset.setCurrentIndex(tv.form.dataset.findData("csv"))
    qtbot.mouseClick(tv.form.csv_browse, Qt.LeftButton)
    assert [tv.form.csv_features.item(i).text() for i in range(4)] == ["a", "b", "noise", "label"]
    assert tv.form.csv_target.currentText() == "label"
    tv.form.csv_features.item(2).setCheckState(Qt.Unchecked)  # leave out the noise column
    spec = tv.form.dataset_spec()
    assert spec.options["features"] == ["a", "b"] and spec.options["target"] == "label"
    tv.form.epochs.setValue(2)
    assert tv.start()
    wait_finished(qtbot, tv)
    assert tv.status.text().startswith("Completed")


@BOTH_MODES
def test_runs_panel_lists_the_run_and_resumes_it_from_its_checkpoint(qtbot, window, monkeypatch, mode):
    tv = window.training_view
    tv.controller.mode = mode
    choose(tv, "moons", epochs=200)
    tv.start()
    qtbot.waitUntil(lambda: tv.controller.series is not None and tv.controller.series.count("loss") > 20,
                    timeout=30_000)
    tv.controller.stop()
    wait_finished(qtbot, tv)
    window.show_view("runs")
    window.runs_panel.refresh()
    (record,) = window.runs_panel.model.records()
    assert record.status == "stopped"
    window.runs_panel.select_runs([record.id])
    window.runs_panel.resume_selected()
    assert window.views.currentWidget() is tv
    qtbot.waitUntil(lambda: tv.controller.series.count("loss") > 0, timeout=30_000)
    first_step = int(tv.controller.series.arrays("loss")[0][0])
    tv.controller.stop()
    wait_finished(qtbot, tv)
    assert first_step > 20  # continued where the stopped run left off, not from step 0
    window.runs_panel.refresh()
    names = [r.name for r in window.runs_panel.model.records()]
    assert names[-1].endswith("(resumed)") and len(names) == 2


def test_training_settings_travel_in_the_project_and_train_headless(qtbot, window, tmp_path):
    from gradstudio.core.project import load_project
    from gradstudio.core.training.headless import main as train_headless

    tv = window.training_view
    choose(tv, "circles", epochs=2, lr=0.005, optimizer="AdamW")
    path = tmp_path / "circles.gradstudio"
    assert window.projects.save(str(path))
    training = load_project(path).training
    assert training["dataset"]["kind"] == "circles" and training["train"]["optimizer"] == "AdamW"
    assert training["train"]["extra"]["model"] == "mlp"
    choose(tv, "moons", epochs=9)
    window.projects.open(str(path))
    assert tv.form.dataset.currentData() == "circles" and tv.form.epochs.value() == 2
    assert tv.form.lr.value() == pytest.approx(0.005)
    assert train_headless([str(path), "--quiet"]) == 0  # the same file trains in a terminal
    with RunStore(os.environ["GRADSTUDIO_RUNS_DB"]) as store:
        assert store.runs()[-1].config["train"]["optimizer"] == "AdamW"


def _foreign_database(path):
    import sqlite3

    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE invoices (amount REAL)")
    return path.read_bytes()


@BOTH_MODES
def test_a_foreign_run_database_is_said_left_untouched_and_training_still_works(qtbot, tmp_path, monkeypatch, settings,
                                                                                 mode):
    from gradstudio.core.project import TrustStore
    from gradstudio.gui.main_window import MainWindow

    db = tmp_path / "not-runs.sqlite"
    before = _foreign_database(db)
    monkeypatch.setenv("GRADSTUDIO_RUNS_DB", str(db))
    win = MainWindow(settings=settings, trust=TrustStore(tmp_path / "trust.json"))
    qtbot.addWidget(win)
    win.show()
    assert "not a gradstudio run database" in win.runs_panel.error_text()
    tv = win.training_view
    tv.controller.mode = mode
    choose(tv, "xor", epochs=40)
    assert tv.start()
    assert "not being stored" in tv.status.text()
    qtbot.waitUntil(lambda: "epoch" in tv.status.text(), timeout=30_000)
    assert "not being stored" in tv.status.text()  # said all along the run, not just at its start
    wait_finished(qtbot, tv)
    assert tv.status.text().startswith("Completed") and db.read_bytes() == before
    good = tmp_path / "elsewhere.sqlite"
    assert win.choose_runs_database(str(good))
    assert settings.value("runs/database") == str(good)
    assert not win.choose_runs_database(str(db))  # refused again, and the good one stays in use
    assert tv.controller.store_path == good and db.read_bytes() == before
    win.close()


USER_DATASET = '''import torch
from torch.utils.data import Dataset


class Squares(Dataset):
    """x in [-1, 1], target x**2: a regression the script defines."""

    def __init__(self, n=96):
        self.x = torch.linspace(-1, 1, n).unsqueeze(1)
        self.y = self.x ** 2

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


w = torch.ones(1, requires_grad=True)
(w * 2).sum().backward()
'''


@BOTH_MODES
def test_a_dataset_class_from_the_script_trains(qtbot, window, mode):
    from .conftest import run_and_wait

    window.training_view.controller.mode = mode
    window.open_source(USER_DATASET, "<editor>")
    run_and_wait(qtbot, window)
    tv = window.training_view
    form = tv.form
    form.dataset.setCurrentIndex(form.dataset.findData("user"))
    assert [form.user_class.itemText(i) for i in range(form.user_class.count())] == ["Squares"]
    form.loss.setCurrentIndex(form.loss.findData("mse"))
    form.epochs.setValue(3)
    assert tv.start()
    wait_finished(qtbot, tv)
    assert tv.status.text().startswith("Completed")
    assert tv.controller.prepared.run_config["dataset"]["options"]["class_name"] == "Squares"
    if mode == "process":  # the class lives in the script: sent by value, it trains in the process too
        assert tv.controller.in_app_reason is None and isinstance(tv.controller.job, RemoteJob)
        assert tv.status.toolTip() == "Training in a separate process."


UNPICKLABLE_MODEL = '''import weakref

import torch
from torch import nn

net = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
net.owner = weakref.ref(net)  # copies fine, but no pickle can take it to another process
net(torch.randn(4, 2)).sum().backward()
'''


def test_a_model_no_pickle_can_take_trains_in_the_app_and_says_why(qtbot, window):
    from .conftest import run_and_wait

    tv = window.training_view
    tv.controller.mode = "process"
    window.open_source(UNPICKLABLE_MODEL, "<editor>")
    run_and_wait(qtbot, window)
    window.show_view("training")
    choose(tv, "spirals", epochs=2)
    tv.form.model_choice.setCurrentIndex(tv.form.model_choice.findData("script:net"))
    assert tv.start()
    wait_finished(qtbot, tv)
    assert tv.status.text().startswith("Completed")
    reason = tv.controller.in_app_reason
    assert reason.startswith("the model (Sequential) cannot be pickled") and "weakref" in reason
    assert tv.status.toolTip().startswith("Training in the app's process: the model (Sequential)")


def test_closing_the_window_mid_run_stops_the_training_process_and_stores_the_run(qtbot, window):
    tv = window.training_view
    tv.controller.mode = "process"
    window.show_view("training")
    choose(tv, "spirals", epochs=5000)
    assert tv.start()
    qtbot.waitUntil(lambda: tv.controller.series.count("loss") > 10, timeout=60_000)
    process = tv.controller.job.process
    window.close()  # the app's shutdown: stop, wait for the ending to be stored
    assert not tv.controller.running and tv.controller.job.result.status == "stopped"
    with RunStore(os.environ["GRADSTUDIO_RUNS_DB"]) as store:
        (run,) = store.runs()
        assert run.status == "stopped" and run.reason.startswith("stopped by the user at step")
        assert store.checkpoints(run.id)  # the weights it had reached are kept
    process.popen.wait(30)  # and the process is gone


def test_when_no_training_process_can_start_the_run_trains_in_the_app(qtbot, window, monkeypatch):
    from gradstudio.core.training import remote

    monkeypatch.setattr(remote.sys, "executable", "/nonexistent/python3")
    tv = window.training_view
    tv.controller.mode = "process"
    window.show_view("training")  # the tab asks for a process ahead of time: it cannot start
    choose(tv, "moons", epochs=1)
    assert tv.start()
    wait_finished(qtbot, tv)
    assert tv.status.text().startswith("Completed")
    assert tv.controller.in_app_reason.startswith("no training process could be started")
    assert "/nonexistent/python3" in tv.controller.in_app_reason


@BOTH_MODES
def test_step_with_no_run_going_starts_one_paused_and_records_its_first_batch(qtbot, window, mode):
    tv = window.training_view
    tv.controller.mode = mode
    window.show_view("training")
    choose(tv, "moons", epochs=50)
    with qtbot.waitSignal(tv.sig_tape, timeout=60_000):
        qtbot.mouseClick(tv.step_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: tv.pause_button.text() == "Resume", timeout=30_000)
    assert tv.controller.series.count("loss") == 1  # exactly the one batch, then paused
    assert window.session.graph.nodes
    tv.controller.stop()
    wait_finished(qtbot, tv)
    assert tv.status.text().startswith("Stopped") and "at step 1" in tv.status.text()
