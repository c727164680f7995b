"""A run in a separate training process, as the app makes it: the same record, the same
numbers as on a thread, control from the app, and every way the process can go away."""

import os
import signal
import sqlite3
import threading
import time
from functools import partial

import pytest
import torch
from torch import nn

from gradstudio.core.data import LoaderSettings, spirals
from gradstudio.core.runs import RunStore
from gradstudio.core.training import TrainConfig
from gradstudio.core.training.probe import Grid, data_bounds, decision_grid
from gradstudio.core.training.recipe import TrainingRecipe, pickle_recipe
from gradstudio.core.training.remote import RemoteJob, TrainingProcess
from gradstudio.core.training.series import MetricSeries
from gradstudio.core.training.worker import APP_GONE_REASON, compute_threads


def recipe(tmp_path, epochs=2, **kwargs):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
    data = spirals(size=200)
    return TrainingRecipe(model, data, LoaderSettings(batch_size=32, seed=0, validation_fraction=0.2),
                          TrainConfig(epochs=epochs, lr=0.02), store_path=str(tmp_path / "runs.sqlite"),
                          run_name="in a process", probe=partial(decision_grid, bounds=data_bounds(data.x), resolution=8),
                          **kwargs)


def start(r, **kwargs):
    states = []
    series = MetricSeries()
    job = RemoteJob(TrainingProcess(), pickle_recipe(r), series=series, on_state=states.append,
                    store_path=r.store_path, **kwargs)
    job.start()
    return job, series, states


def stored_steps(path, run_id) -> int:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return db.execute("SELECT COUNT(*) FROM metrics WHERE run_id=? AND name='loss'", (run_id,)).fetchone()[0]


def wait_for(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_run_in_a_process_stores_the_same_numbers_as_on_a_thread(tmp_path):
    r = recipe(tmp_path)
    job, series, states = start(r)
    job.join(120)
    assert job.result.status == "completed", job.result.reason
    assert states[0] == "running" and states[-1] == "finished" and job.state == "finished"
    with RunStore(r.store_path) as store:
        record = store.run(job.result.run_id)
        stored = store.metrics(record.id, "loss")
        assert record.status == "completed" and record.name == "in a process"
        assert job.result.checkpoint and os.path.exists(job.result.checkpoint)
    # the app's live series got every step the process trained, and the stored values
    steps, losses = series.arrays("loss")
    assert list(steps) == [s for s, _ in stored] == list(range(10))
    assert list(losses) == [v for _, v in stored]
    assert "val_accuracy" in series and "accuracy" in series
    assert isinstance(job.latest_probe, Grid) and job.probe_version >= 1
    p = job.progress()
    assert (p.step, p.epoch, p.epochs, p.total_steps) == (10, 2, 2, 10)
    # the same recipe on a thread: the same losses (one torch thread there, two here: close)
    local = MetricSeries()
    recipe(tmp_path).job(series=local).run()
    assert local.arrays("loss")[1] == pytest.approx(losses, rel=1e-5)


def test_paused_start_records_a_single_step_then_stops_on_request(tmp_path):
    job, series, states = start(recipe(tmp_path, epochs=50, start_paused=True))
    job.step_once(record=True)
    wait_for(lambda: job.last_tape is not None)
    tape = job.last_tape
    ops = {n.label for n in tape.graph().nodes.values()}
    assert "AddmmBackward0" in ops and any(e.__class__.__name__ == "LeafGradEvent" for e in tape.events)
    wait_for(lambda: job.state == "paused")
    assert len(series) == 1 and job.progress().step == 1
    job.resume()
    wait_for(lambda: len(series) > 3)
    job.stop()
    job.join(60)
    assert job.result.status == "stopped" and "stopped by the user" in job.result.reason
    assert "recorded" in states and states[-1] == "finished"
    with RunStore(job.store_path) as store:
        assert store.run(job.result.run_id).status == "stopped"


def test_a_killed_training_process_ends_the_run_as_failed_in_words_and_in_the_store(tmp_path):
    job, series, _ = start(recipe(tmp_path, epochs=5000))
    wait_for(lambda: job.run_id is not None and stored_steps(job.store_path, job.run_id) > 0)
    os.kill(job.process.popen.pid, signal.SIGKILL)
    job.join(60)
    assert job.result.status == "failed"
    assert "stopped unexpectedly" in job.result.reason and f"exit code {-signal.SIGKILL}" in job.result.reason
    with RunStore(job.store_path) as store:
        record = store.run(job.result.run_id)
        assert record.status == "failed" and "stopped unexpectedly" in record.reason
        assert store.metrics(record.id, "loss")  # what it had stored is kept


def test_when_the_app_goes_away_the_run_stops_and_is_stored_with_that_reason(tmp_path):
    job, series, _ = start(recipe(tmp_path, epochs=5000))
    wait_for(lambda: len(series) > 0 and job.run_id is not None)
    job.process.popen.stdin.close()  # what the app's death looks like from the process
    job.join(60)
    assert job.result.status == "stopped" and APP_GONE_REASON in job.result.reason
    with RunStore(job.store_path) as store:
        record = store.run(job.result.run_id)
        assert record.status == "stopped" and APP_GONE_REASON in record.reason


def test_a_run_the_process_cannot_set_up_fails_with_the_cause(tmp_path):
    r = recipe(tmp_path)
    r.loader = LoaderSettings(validation_fraction=1.5)
    job, _, states = start(r)
    job.join(120)
    assert job.result.status == "failed" and "could not set up the run" in job.result.reason
    assert "validation" in job.result.reason and states == ["finished"]


POWER_NET = """
import torch
from torch import nn

SCALE = 0.5


def squash(x):
    return torch.tanh(x) * SCALE


class Power(nn.Module):
    def __init__(self, exponent):
        super().__init__()
        self.exponent = exponent

    def forward(self, x):
        return x ** self.exponent


class PowerNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(2, 8)
        self.power = Power(2)
        self.out = nn.Linear(8, 2)

    def forward(self, x):
        h = self.inp(x)
        for _ in range(2):  # Python control flow, as in the seed's examples
            h = squash(self.power(h))
        return self.out(h)
"""


def test_a_model_typed_into_the_editor_trains_in_the_process_with_its_helpers(tmp_path):
    namespace = {"__name__": "__main__"}
    exec(compile(POWER_NET, "<editor>", "exec"), namespace)  # as the app runs the editor's script
    r = recipe(tmp_path)
    torch.manual_seed(0)
    r.model = namespace["PowerNet"]()
    job, series, _ = start(r)
    job.join(120)
    assert job.result.status == "completed", job.result.reason
    local = MetricSeries()
    torch.manual_seed(0)
    r.model = namespace["PowerNet"]()
    r.job(series=local).run()
    assert local.arrays("loss")[1] == pytest.approx(series.arrays("loss")[1], rel=1e-5)


def test_what_cannot_be_pickled_keeps_the_run_in_the_app_and_the_reason_names_the_part(tmp_path):
    r = recipe(tmp_path)
    r.model.lock = threading.Lock()  # a model holding a lock cannot go anywhere
    with pytest.raises(ValueError, match=r"the model \(Sequential\) cannot be pickled: .*lock"):
        pickle_recipe(r)


def test_the_training_process_leaves_a_core_to_the_app():
    assert compute_threads(1) == 1 and compute_threads(2) == 1 and compute_threads(16) == 15
