"""A training run end to end: store, checkpoints, pause/step/stop, resume, and every way it can end."""

import os
import re
import threading

import pytest
import torch
from torch import nn

from gradstudio.core.data import LoaderSettings, make_loaders, sine, spirals
from gradstudio.core.runs import RunStore
from gradstudio.core.runs.checkpoints import list_checkpoints, load_checkpoint
from gradstudio.core.training import TrainConfig
from gradstudio.core.training.job import TrainingJob
from gradstudio.core.training.series import MetricSeries


def mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))


def loaders(validation=0.2, size=200):
    return make_loaders(spirals(size=size), LoaderSettings(batch_size=32, seed=0, validation_fraction=validation))


@pytest.fixture()
def store(tmp_path):
    with RunStore(tmp_path / "runs.sqlite") as s:
        yield s


def job(store, model=None, validation=0.2, **kwargs):
    train_loader, val_loader = loaders(validation)
    config = kwargs.pop("config", TrainConfig(epochs=2, lr=0.02, device="cpu"))
    return TrainingJob(model or mlp(), train_loader, val_loader, config, store=store, run_name="test run",
                       run_config={"dataset": {"kind": "spirals", "options": {"size": 200}}}, **kwargs)


def test_a_completed_run_is_stored_with_metrics_and_loadable_checkpoints(store):
    series = MetricSeries()
    j = job(store, series=series, grad_norms_every=1, checkpoint_every_s=0)  # a checkpoint every epoch
    result = j.run()
    assert result.status == "completed" and result.reason is None
    record = store.run(result.run_id)
    assert record.status == "completed" and record.name == "test run"
    assert record.config["train"]["lr"] == 0.02 and record.config["dataset"]["kind"] == "spirals"
    assert record.config["device"] == "cpu" and record.machine["torch"] == torch.__version__
    losses = store.metrics(result.run_id, "loss")
    assert [s for s, _ in losses] == list(range(result.steps)) and result.steps == 2 * 5  # 160 training samples, batches of 32
    assert len(store.metrics(result.run_id, "val_accuracy")) == 2  # once per epoch
    steps, values = series.arrays("loss")
    assert list(steps) == list(range(10)) and values[0] == pytest.approx(losses[0][1])
    assert set(series.names()) >= {"grad_norm/0", "grad_norm/2"}  # the two Linear layers
    checkpoints = list_checkpoints(store, result.run_id)
    assert [c.note for c in checkpoints] == ["end of epoch", "completed"]  # the last epoch's end is the final one
    state = load_checkpoint(checkpoints[-1].path)
    for name, value in j.model.state_dict().items():
        torch.testing.assert_close(state["model"][name], value)


def _run_in_thread(j):
    thread = threading.Thread(target=j.run, daemon=True)
    thread.start()
    return thread


def _wait_for(predicate, timeout=20):
    import time

    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


def test_pause_single_step_with_a_recorded_tape_and_stop(store):
    series = MetricSeries()
    states = []
    j = job(store, series=series, on_state=states.append)
    j.on_step = lambda m: j.pause() if m.step == 2 else None
    thread = _run_in_thread(j)
    _wait_for(lambda: j.state == "paused")
    assert len(series) == 3  # steps 0, 1, 2, then the pause
    j.step_once(record=True)
    _wait_for(lambda: j.state == "paused" and len(series) == 4 and j.last_tape is not None)
    tape = j.last_tape
    ops = [e.op for e in tape.events if e.kind == "call"]
    assert "linear" in ops and "cross_entropy" in ops
    assert any(e.kind == "backward_node" for e in tape.events)
    j.step_once(record=False)
    _wait_for(lambda: j.state == "paused" and len(series) == 5)
    j.stop()
    thread.join(10)
    assert j.result.status == "stopped" and "step 5" in j.result.reason
    assert store.run(j.run_id).status == "stopped"
    assert list_checkpoints(store, j.run_id)[-1].note == "stopped"
    assert "recorded" in states and states[-1] == "finished"


def test_resuming_from_a_mid_epoch_checkpoint_gives_the_uninterrupted_result(store):
    config = TrainConfig(epochs=3, lr=0.05, optimizer="SGD", momentum=0.9, scheduler_step=1)
    through = job(store, validation=0, config=config, series=MetricSeries())
    through.run()

    first = job(store, validation=0, config=config)
    first.on_step = lambda m: first.stop() if m.step == 9 else None  # mid epoch 2 (7 batches per epoch)
    assert first.run().status == "stopped"
    series = MetricSeries()
    resumed = job(store, validation=0, config=config, series=series, resume_from=first.last_checkpoint)
    assert resumed.run().status == "completed"
    assert store.run(resumed.run_id).config["resumed_from"] == first.last_checkpoint
    steps, losses = series.arrays("loss")
    assert steps[0] == 10
    torch.testing.assert_close(torch.tensor(losses), torch.tensor(through.series.arrays("loss")[1][10:]))
    for a, b in zip(through.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(a, b)


def test_a_diverging_run_stops_with_the_step_advice_and_the_last_good_weights(store):
    j = TrainingJob(nn.Linear(1, 1), *make_loaders(sine(size=200), LoaderSettings(batch_size=32)),
                    TrainConfig(epochs=50, optimizer="SGD", lr=1e3, loss="mse"), store=store)
    result = j.run()
    assert result.status == "diverged"
    assert "smaller learning rate" in result.reason and f"at step {result.steps}" in result.reason
    record = store.run(result.run_id)
    assert record.status == "diverged" and record.reason == result.reason
    state = load_checkpoint(result.checkpoint)
    assert all(torch.isfinite(v).all() for v in state["model"].values())


class _RunsOutOfMemory(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 2)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        if self.calls > 4:  # after the shape check and a few steps
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.linear(x)


def test_out_of_memory_stops_the_run_cleanly_with_advice(store):
    result = job(store, model=_RunsOutOfMemory()).run()
    assert result.status == "failed" and "out of memory" in result.reason and "smaller batch size" in result.reason
    assert store.run(result.run_id).status == "failed"
    assert len(store.metrics(result.run_id, "loss")) == 3


class _AsksForTooMuch(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 2)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        if self.calls == 3:  # the shape check, step 0, then step 1
            x.new_empty(2**60)  # 4 EiB, more than any address space: the allocator refuses at once
        return self.linear(x)


def test_the_cpu_allocator_refusing_is_reported_as_out_of_memory_with_the_line(store):
    result = job(store, model=_AsksForTooMuch()).run()
    assert result.status == "failed"
    assert re.match(r"out of memory on cpu at step 1 \(batch size 32\) \(at .*test_training_job\.py:\d+\): "
                    r"try a smaller batch size", result.reason), result.reason


def test_a_model_that_does_not_fit_the_targets_fails_before_a_record_exists(store):
    result = job(store, model=nn.Linear(2, 1)).run()
    assert result.status == "failed" and "does not fit the targets" in result.reason
    assert result.run_id is None and store.runs() == []


class _Broken(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 2)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        if self.calls == 3:
            raise ValueError("user bug")  # this line is named in the reason
        return self.linear(x)


def test_an_error_in_user_code_names_its_line(store):
    result = job(store, model=_Broken()).run()
    assert result.status == "failed"
    assert "ValueError at step 1: user bug" in result.reason and "test_training_job.py" in result.reason


def test_the_probe_sees_the_model_and_is_versioned(store):
    seen = []
    j = job(store, probe=lambda model: seen.append(model.training) or len(seen), probe_every_s=0)
    j.run()
    assert j.probe_version == len(seen) > 1 and j.latest_probe == len(seen)


def test_deleting_a_run_deletes_its_checkpoint_files(store):
    result = job(store).run()
    paths = [c.path for c in store.checkpoints(result.run_id)]
    assert paths and all(os.path.exists(p) for p in paths)
    store.delete(result.run_id)
    assert store.runs() == [] and not any(os.path.exists(p) for p in paths)
