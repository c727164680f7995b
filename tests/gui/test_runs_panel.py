"""The Runs panel: what it lists, sorts, filters, renames, deletes, shows and exports,
read back from a real run database in tmp_path."""

from __future__ import annotations

import math
import sqlite3
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from gradstudio.core.runs import RunStore
from gradstudio.gui.panels.runs import RunsPanel, dialogs
from gradstudio.gui.panels.runs.columns import COLUMNS
from gradstudio.gui.panels.runs.details import tree_value
from gradstudio.gui.panels.runs.overlay import LossPlot, _curves_widget_class
from gradstudio.gui.panels.runs.table_model import RUN_ID_ROLE

COL = {c.title: i for i, c in enumerate(COLUMNS)}
MACHINE = {"hostname": "lab-pc", "os": "Linux 6.8", "cpu": "x86_64", "cpu_count": 16, "python": "3.12.3",
           "torch": "2.13.0", "cuda": "12.4", "gpus": [{"name": "NVIDIA RTX 4090", "memory_gb": 24.0}], "ram_gb": 62.7}
SPEC = {"kind": "Sequential", "args": {}, "children": [
    {"kind": "Linear", "args": {"in_features": 2, "out_features": 32}}, {"kind": "ReLU", "args": {}},
    {"kind": "Linear", "args": {"in_features": 32, "out_features": 32}}, {"kind": "ReLU", "args": {}},
    {"kind": "Linear", "args": {"in_features": 32, "out_features": 3}}]}


def _train(optimizer: str, lr: float, epochs: int, loss: str = "cross_entropy", device: str = "auto") -> dict:
    return {"optimizer": optimizer, "lr": lr, "momentum": 0.0, "weight_decay": 0.0, "loss": loss, "epochs": epochs,
            "device": device, "seed": 0, "scheduler_step": 0, "scheduler_gamma": 0.5, "extra": {}}


def fill_store(path: Path) -> RunStore:
    """Three runs: a completed classifier, a diverged one, and a regression still running."""
    store = RunStore(path)
    a = store.start_run("spirals-adam", {"dataset": {"kind": "spirals", "options": {"n": 600, "noise": 0.1}},
                                         "model": SPEC, "train": _train("Adam", 0.01, 20)}, MACHINE)
    for step in range(200):
        store.log(a, step, loss=1.1 * math.exp(-step / 50) + 0.05,
                  val_accuracy=(0.5 + 0.47 * step / 199) if step % 10 == 9 else None)
    store.finish(a, "completed")
    b = store.start_run("moons-sgd", {"dataset": {"kind": "moons", "options": {"n": 400}},
                                      "model": "MLP 2-16-2", "train": _train("SGD", 0.5, 10)}, MACHINE)
    for step in range(57):
        store.log(b, step, loss=0.7 + step * 0.3)
    store.finish(b, "diverged", "the loss became nan at step 57: try a smaller learning rate")
    c = store.start_run("sine-rmsprop", {"dataset": {"kind": "sine", "options": {}},
                                         "train": _train("RMSprop", 0.001, 5, "mse", "cpu")}, MACHINE)
    for step in range(80):
        store.log(c, step, loss=0.5 / (1 + step))
    store.flush()
    # known durations, an hour apart (the store stamps the clock's own times)
    now = time.time()
    with store.db:
        store.db.execute("UPDATE runs SET created=?, finished=? WHERE id=?", (now - 7200, now - 7200 + 754, a))
        store.db.execute("UPDATE runs SET created=?, finished=? WHERE id=?", (now - 3600, now - 3600 + 42, b))
        store.db.execute("UPDATE runs SET created=? WHERE id=?", (now - 95, c))
    return store


@pytest.fixture()
def store(tmp_path):
    s = fill_store(tmp_path / "runs.db")
    yield s
    s.close()


@pytest.fixture()
def panel(qtbot, store):
    p = RunsPanel(store, refresh_ms=50)
    qtbot.addWidget(p)
    p.resize(1200, 700)
    p.show()
    return p


def shown(panel: RunsPanel, column: str) -> list[str]:
    """A column's texts as the user sees them, top to bottom."""
    proxy = panel.proxy
    return [proxy.index(r, COL[column]).data() for r in range(proxy.rowCount())]


def cell(panel: RunsPanel, name: str, column: str):
    proxy = panel.proxy
    row = shown(panel, "Name").index(name)
    return proxy.index(row, COL[column])


def test_lists_every_run_with_its_config(panel):
    assert sorted(shown(panel, "Name")) == ["moons-sgd", "sine-rmsprop", "spirals-adam"]
    assert shown(panel, "Name") == ["sine-rmsprop", "moons-sgd", "spirals-adam"]  # newest first
    assert cell(panel, "spirals-adam", "Dataset").data() == "spirals"
    assert cell(panel, "spirals-adam", "Model").data() == "Sequential · 5 layers"
    assert cell(panel, "moons-sgd", "Model").data() == "MLP 2-16-2"
    assert cell(panel, "sine-rmsprop", "Model").data() == "—"  # no model recorded
    assert cell(panel, "moons-sgd", "Optimizer").data() == "SGD"
    assert cell(panel, "spirals-adam", "lr").data() == "0.01"
    assert cell(panel, "spirals-adam", "Epochs").data() == "20"
    assert cell(panel, "spirals-adam", "Steps").data() == "200"
    assert cell(panel, "moons-sgd", "Steps").data() == "57"
    assert cell(panel, "spirals-adam", "Best val acc / final loss").data() == "97.0% val acc"
    assert cell(panel, "sine-rmsprop", "Best val acc / final loss").data() == f"loss {0.5 / 80:.4g}"
    assert cell(panel, "spirals-adam", "Duration").data() == "12 min 34 s"
    assert cell(panel, "moons-sgd", "Duration").data() == "42 s"
    assert cell(panel, "sine-rmsprop", "Device").data() == "cpu"
    assert panel.empty_text() == ""


def test_status_has_a_coloured_dot_and_the_reason_as_tooltip(panel):
    status = cell(panel, "moons-sgd", "Status")
    assert status.data() == "diverged"
    assert not status.data(Qt.ItemDataRole.DecorationRole).isNull()
    assert status.data(Qt.ItemDataRole.ToolTipRole) == "the loss became nan at step 57: try a smaller learning rate"
    dots = {name: cell(panel, name, "Status").data(Qt.ItemDataRole.DecorationRole).pixmap(12).toImage()
            for name in ("moons-sgd", "spirals-adam", "sine-rmsprop")}
    centre = {name: img.pixelColor(img.width() // 2, img.height() // 2).name() for name, img in dots.items()}
    assert len(set(centre.values())) == 3  # diverged, completed and running differ


def test_filter_narrows_by_any_column_ignoring_case(panel):
    panel.filter_edit.setText("ADAM")
    assert shown(panel, "Name") == ["spirals-adam"]
    panel.filter_edit.setText("moons")
    assert shown(panel, "Name") == ["moons-sgd"]
    panel.filter_edit.setText("diverged")
    assert shown(panel, "Name") == ["moons-sgd"]
    panel.filter_edit.setText("rmsprop")
    assert shown(panel, "Name") == ["sine-rmsprop"]
    panel.filter_edit.setText("nothing like this")
    assert shown(panel, "Name") == []
    assert panel.empty_text() == "No run matches “nothing like this”."
    panel.filter_edit.clear()
    assert len(shown(panel, "Name")) == 3


def test_sorting_by_lr_is_numeric(panel):
    panel.table.sortByColumn(COL["lr"], Qt.SortOrder.AscendingOrder)
    assert shown(panel, "lr") == ["0.001", "0.01", "0.5"]
    panel.table.sortByColumn(COL["lr"], Qt.SortOrder.DescendingOrder)
    assert shown(panel, "lr") == ["0.5", "0.01", "0.001"]
    panel.table.sortByColumn(COL["Steps"], Qt.SortOrder.AscendingOrder)
    assert shown(panel, "Steps") == ["57", "80", "200"]


def test_renaming_in_the_table_renames_in_the_store(panel, store):
    index = cell(panel, "moons-sgd", "Name")
    assert panel.proxy.setData(index, "moons, too fast")
    run_id = index.data(RUN_ID_ROLE)
    assert store.run(run_id).name == "moons, too fast"
    assert "moons, too fast" in shown(panel, "Name")
    assert not panel.proxy.setData(cell(panel, "moons, too fast", "Name"), "   ")
    assert store.run(run_id).name == "moons, too fast"
    assert "name must not be empty" in panel.error_text()


def test_delete_asks_first_and_keeps_the_run_on_no(panel, store, monkeypatch):
    asked = []
    monkeypatch.setattr(dialogs, "confirm_delete", lambda parent, names: asked.append(names) or False)
    run_id = cell(panel, "moons-sgd", "Name").data(RUN_ID_ROLE)
    panel.select_runs([run_id])
    panel.delete_action.trigger()
    assert asked == [[f"moons-sgd (run {run_id}, diverged)"]]
    assert [r.name for r in store.runs()].count("moons-sgd") == 1
    assert "moons-sgd" in shown(panel, "Name")


def test_delete_on_yes_removes_the_runs_from_store_and_table(panel, store, monkeypatch):
    monkeypatch.setattr(dialogs, "confirm_delete", lambda parent, names: True)
    ids = [cell(panel, n, "Name").data(RUN_ID_ROLE) for n in ("moons-sgd", "spirals-adam")]
    panel.select_runs(ids)
    assert panel.selected_run_ids() and sorted(panel.selected_run_ids()) == sorted(ids)
    panel.delete_action.trigger()
    assert [r.name for r in store.runs()] == ["sine-rmsprop"]
    assert store.metrics(ids[0], "loss") == []
    assert shown(panel, "Name") == ["sine-rmsprop"]
    assert "Deleted 2 runs" in panel.banner_text()


def test_a_running_run_is_not_deleted(panel, store, monkeypatch):
    monkeypatch.setattr(dialogs, "confirm_delete", lambda parent, names: pytest.fail("asked to delete a running run"))
    panel.select_runs([cell(panel, "sine-rmsprop", "Name").data(RUN_ID_ROLE)])
    panel.delete_action.trigger()
    assert "sine-rmsprop" in [r.name for r in store.runs()]
    assert panel.banner_text() == "sine-rmsprop is still training: stop the run before deleting it."


def test_status_dots_follow_a_dark_palette(panel):
    from PySide6.QtGui import QColor, QPalette

    def dot(name: str) -> str:
        img = cell(panel, name, "Status").data(Qt.ItemDataRole.DecorationRole).pixmap(12).toImage()
        return img.pixelColor(img.width() // 2, img.height() // 2).name()

    light = dot("spirals-adam")
    dark = QPalette(panel.palette())
    for role, colour in ((QPalette.ColorRole.Base, "#16181c"), (QPalette.ColorRole.Text, "#e6e6e6"),
                         (QPalette.ColorRole.Window, "#1f2227"), (QPalette.ColorRole.WindowText, "#e6e6e6")):
        dark.setColor(role, QColor(colour))
    panel.setPalette(dark)
    assert dot("spirals-adam") != light
    assert QColor(dot("spirals-adam")).lightness() > QColor(light).lightness()  # lighter green on dark


def test_details_show_config_machine_and_reason(panel):
    panel.select_runs([cell(panel, "moons-sgd", "Name").data(RUN_ID_ROLE)])
    details = panel.details
    assert tree_value(details.config_tree, "train", "optimizer") == "SGD"
    assert tree_value(details.config_tree, "train", "lr") == "0.5"
    assert tree_value(details.config_tree, "dataset", "options", "n") == "400"
    assert tree_value(details.machine_tree, "gpus", "[0]", "name") == "NVIDIA RTX 4090"
    assert tree_value(details.machine_tree, "hostname") == "lab-pc"
    assert details.reason_text() == "Why: the loss became nan at step 57: try a smaller learning rate"
    assert "moons-sgd" in details.heading.text() and "diverged" in details.heading.text()
    panel.select_runs([cell(panel, "spirals-adam", "Name").data(RUN_ID_ROLE)])
    assert tree_value(details.config_tree, "model", "children", "[4]", "args", "out_features") == "3"
    assert details.reason_text() == ""


def test_overlay_draws_each_selected_run(panel, qtbot):
    ids = [cell(panel, n, "Name").data(RUN_ID_ROLE) for n in ("spirals-adam", "moons-sgd")]
    panel.select_runs(ids)
    with qtbot.waitSignal(panel.sig_overlay) as signal:
        panel.overlay_action.trigger()
    assert sorted(signal.args[0]) == sorted(ids)
    plot = panel.overlay.plot
    assert plot is not None and panel.overlay.stack.currentWidget() is plot
    assert "spirals-adam" in panel.overlay.title.text() and "moons-sgd" in panel.overlay.title.text()
    if _curves_widget_class() is None:
        assert isinstance(plot, LossPlot)
        assert sorted(plot.curves) == ["moons-sgd", "spirals-adam"]
        xs, ys = plot.curves["moons-sgd"].getData()
        assert len(xs) == 57 and ys[0] == pytest.approx(0.7)
        return
    assert sorted(name for name, _ in plot.overlays) == ["moons-sgd", "spirals-adam"]
    drawn = sorted(len(item.getData()[0]) for item in plot.plots["loss"].listDataItems()
                   if item.getData()[0] is not None and len(item.getData()[0]))
    assert drawn == [57, 200]  # one loss curve per run, every step of each
    legend = [label.text for _, label in plot.plots["loss"].legend.items]
    assert sorted(legend) == ["moons-sgd", "spirals-adam"]


def test_overlay_follows_a_running_run(panel, store, qtbot):
    running = cell(panel, "sine-rmsprop", "Name").data(RUN_ID_ROLE)
    panel.select_runs([running])
    panel.overlay_action.trigger()
    for step in range(80, 100):
        store.log(running, step, loss=0.004)
    store.flush()
    panel.refresh()
    plot = panel.overlay.plot
    if isinstance(plot, LossPlot):
        assert len(plot.curves["sine-rmsprop"].getData()[0]) == 100
    else:
        assert [s.count("loss") for _, s in plot.overlays] == [100]


def test_export_csv_writes_the_chosen_file(panel, tmp_path, monkeypatch):
    target = tmp_path / "out" / "spirals"
    target.parent.mkdir()
    monkeypatch.setattr(dialogs, "ask_save_path", lambda *a: str(target))
    panel.select_runs([cell(panel, "spirals-adam", "Name").data(RUN_ID_ROLE)])
    panel.csv_action.trigger()
    lines = target.with_suffix(".csv").read_text().splitlines()
    assert lines[0] == "step,wall_time,loss,val_accuracy" and len(lines) == 201
    assert str(target.with_suffix(".csv")) in panel.banner_text()


def test_export_csv_of_several_runs_writes_one_file_each(panel, tmp_path, monkeypatch):
    monkeypatch.setattr(dialogs, "ask_directory", lambda *a: str(tmp_path))
    panel.select_runs([cell(panel, n, "Name").data(RUN_ID_ROLE) for n in ("spirals-adam", "moons-sgd")])
    panel.csv_action.trigger()
    assert sorted(p.name for p in tmp_path.glob("*.csv")) == ["run-1-spirals-adam.csv", "run-2-moons-sgd.csv"]


def test_export_to_a_missing_folder_says_why(panel, tmp_path, monkeypatch):
    monkeypatch.setattr(dialogs, "ask_save_path", lambda *a: str(tmp_path / "nowhere" / "x.csv"))
    panel.select_runs([cell(panel, "moons-sgd", "Name").data(RUN_ID_ROLE)])
    panel.csv_action.trigger()
    assert "Could not export run 2 (moons-sgd) as CSV" in panel.error_text()
    assert "folder does not exist" in panel.error_text()


def test_export_tensorboard_writes_an_event_file_per_run(panel, tmp_path, monkeypatch):
    monkeypatch.setattr(dialogs, "ask_directory", lambda *a: str(tmp_path / "tb"))
    panel.select_runs([cell(panel, n, "Name").data(RUN_ID_ROLE) for n in ("spirals-adam", "moons-sgd")])
    panel.tensorboard_action.trigger()
    events = sorted(p.parent.name for p in (tmp_path / "tb").glob("*/events.out.tfevents.*"))
    assert events == ["moons-sgd-2", "spirals-adam-1"]


def test_cancelled_export_writes_nothing(panel, tmp_path, monkeypatch):
    monkeypatch.setattr(dialogs, "ask_save_path", lambda *a: "")
    panel.select_runs([cell(panel, "moons-sgd", "Name").data(RUN_ID_ROLE)])
    panel.csv_action.trigger()
    assert list(tmp_path.rglob("*.csv")) == [] and panel.error_text() == ""


def test_a_foreign_database_shows_why_and_lists_nothing(qtbot, tmp_path):
    foreign = tmp_path / "other.db"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE invoices (id INTEGER)")
    p = RunsPanel()
    qtbot.addWidget(p)
    assert p.empty_text() == "No run database is open."
    assert not p.open_path(foreign)
    assert "not a gradstudio run database" in p.error_text()
    assert "not a gradstudio run database" in p.empty_text()
    assert p.model.rowCount() == 0


def test_no_runs_yet_says_so(qtbot, tmp_path):
    p = RunsPanel()
    qtbot.addWidget(p)
    assert p.open_path(tmp_path / "fresh.db")
    assert p.empty_text().startswith("No runs yet")
    p.close()


def test_auto_refresh_updates_a_running_run_and_keeps_the_selection(panel, store, qtbot):
    running = cell(panel, "sine-rmsprop", "Name").data(RUN_ID_ROLE)
    panel.select_runs([running])
    for step in range(80, 120):
        store.log(running, step, loss=0.01)
    store.finish(running, "completed")
    qtbot.waitUntil(lambda: cell(panel, "sine-rmsprop", "Status").data() == "completed", timeout=5000)
    assert cell(panel, "sine-rmsprop", "Steps").data() == "120"
    assert panel.selected_run_ids() == [running]
    store.start_run("new-one", {}, {})
    qtbot.waitUntil(lambda: "new-one" in shown(panel, "Name"), timeout=5000)
    assert cell(panel, "new-one", "Dataset").data() == "—"
    assert panel.selected_run_ids() == [running]


def test_resume_is_disabled_with_a_reason_without_checkpoints(panel):
    panel.select_runs([cell(panel, "spirals-adam", "Name").data(RUN_ID_ROLE)])
    assert not panel.resume_action.isEnabled()
    assert panel.resume_action.toolTip() == "spirals-adam has no checkpoint to resume from"
    panel.select_runs([cell(panel, "sine-rmsprop", "Name").data(RUN_ID_ROLE)])
    assert panel.resume_action.toolTip() == "sine-rmsprop is still training"
    panel.select_runs([])
    assert panel.resume_action.toolTip() == "Select one run to resume"


def test_resume_emits_the_newest_checkpoint(panel, store, qtbot):
    from gradstudio.core.runs.checkpoints import save_checkpoint

    run_id = cell(panel, "spirals-adam", "Name").data(RUN_ID_ROLE)
    for step, epoch in ((100, 9), (200, 19)):
        newest = save_checkpoint(store, run_id, {"model": {}, "optimizer": {}, "step": step, "epoch": epoch,
                                                 "batch": 0})
    panel.select_runs([run_id])
    assert panel.resume_action.isEnabled()
    assert panel.resume_action.toolTip() == "Continue training from step-00000200.pt"
    with qtbot.waitSignal(panel.sig_resume_requested) as signal:
        panel.resume_action.trigger()
    assert signal.args == [run_id, newest.path]


def test_a_store_that_breaks_while_shown_says_so(panel, store):
    store.close()
    panel.refresh()
    assert "Cannot read the runs" in panel.error_text()
    assert len(shown(panel, "Name")) == 3  # what was listed stays listed


def test_odd_or_missing_config_values_show_a_dash():
    from gradstudio.core.runs import RunRecord

    odd = RunRecord(9, "odd", "failed", None, 0.0, None,
                    {"dataset": "spirals", "model": 42, "train": {"lr": "fast", "epochs": None}}, {})
    texts = {c.title: c.text(odd, None) for c in COLUMNS}
    for title in ("Dataset", "Model", "Optimizer", "lr", "Epochs", "Steps", "Best val acc / final loss",
                  "Duration", "Device"):
        assert texts[title] == "—", title
    assert {c.title: c.sort_key(odd, None) for c in COLUMNS}["lr"] == -math.inf
