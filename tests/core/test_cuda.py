"""The CUDA paths: device selection; recording CUDA tensors (values the optimizer changes
afterwards, statistics past the budget, a pickled tape); training on a GPU on a thread and in
the training process; running out of GPU memory; a class index the model has no output for.
Skipped where torch sees no GPU."""

import gc
import os
import pickle
import re
import subprocess
import sys
import time
from functools import partial

import numpy as np
import pytest
import torch
from torch import nn

from gradstudio.core import record
from gradstudio.core.capture import TensorStats
from gradstudio.core.capture.events import BackwardNodeEvent, CallEvent, LeafGradEvent
from gradstudio.core.data import LoaderSettings, make_loaders, spirals
from gradstudio.core.runs import RunStore
from gradstudio.core.runs.checkpoints import list_checkpoints, load_checkpoint
from gradstudio.core.training import TrainConfig
from gradstudio.core.training.config import available_devices, resolve_device
from gradstudio.core.training.job import TrainingJob
from gradstudio.core.training.probe import Grid, data_bounds, decision_grid
from gradstudio.core.training.recipe import TrainingRecipe, pickle_recipe
from gradstudio.core.training.remote import RemoteJob, TrainingProcess
from gradstudio.core.training.series import MetricSeries

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))


class GreedyNet(nn.Module):
    """Asks for far more memory than any machine has, on its second batch (the first call is
    the run's shape check)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        if self.calls == 3:
            x.new_empty(2**42)  # 16 TiB of float32: this line is named in the reason
        return self.fc(x)


def thread_job(store, model, device="cuda", epochs=2, series=None):
    train_loader, val_loader = make_loaders(spirals(size=200), LoaderSettings(batch_size=32, seed=0, validation_fraction=0.2))
    return TrainingJob(model, train_loader, val_loader, TrainConfig(epochs=epochs, lr=0.02, device=device),
                       store=store, run_name="on the GPU", grad_norms_every=1, checkpoint_every_s=0,
                       series=series)


def test_device_selection_prefers_the_gpu_and_names_the_missing_one():
    assert resolve_device("auto") == torch.device("cuda", 0)
    assert resolve_device("cuda:0") == torch.device("cuda", 0)
    devices = available_devices()
    assert devices[0] == ("cuda:0", torch.cuda.get_device_name(0)) and devices[-1] == ("cpu", "CPU")
    missing = f"cuda:{torch.cuda.device_count()}"
    with pytest.raises(ValueError, match=rf"device: {missing} is not available here \(torch sees "):
        resolve_device(missing)


def test_listing_the_gpus_does_not_start_cuda():
    # the app lists devices while building the Training tab; CUDA starts in the training process
    code = ("import torch\nfrom gradstudio.core.training import available_devices\n"
            "devices = available_devices()\nprint(torch.cuda.is_initialized())\nprint(devices[0][1])\n")
    started, name = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                   check=True).stdout.splitlines()
    assert started == "False" and name == torch.cuda.get_device_name(0)


def test_a_recorded_cuda_step_names_the_device_and_matches_torch_autograd():
    model = mlp().cuda()
    x = torch.randn(8, 2, device="cuda")
    with record(model) as tape:
        loss = nn.functional.cross_entropy(model(x), torch.zeros(8, dtype=torch.long, device="cuda"))
        loss.backward()
    outputs = [o for e in tape.events if isinstance(e, CallEvent) for o in e.outputs]
    assert outputs and all(o.device.startswith("cuda") for o in outputs)
    grads = {tape.leaves[e.leaf].name: e.grad for e in tape.events if isinstance(e, LeafGradEvent)}
    for name, p in model.named_parameters():
        assert grads[name].values.device.type == "cpu"  # snapshots never hold GPU memory
        torch.testing.assert_close(grads[name].values, p.grad.cpu())
    # a plain step afterwards is unaffected by the recording
    model.zero_grad()
    model(x).sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def _snapshots(tape) -> list:
    found = []
    for e in tape.events:
        if isinstance(e, CallEvent):
            found += e.outputs
        elif isinstance(e, BackwardNodeEvent):
            found += [s for s in (*e.grads_received, *e.grads_sent) if s is not None]
        elif isinstance(e, LeafGradEvent) and e.grad is not None:
            found.append(e.grad)
    for leaf in tape.leaves.values():
        found += [leaf.value, *(snap for _, snap in leaf.updates)]
    return [s for s in found if s is not None]


def test_a_finished_tape_holds_no_gpu_memory():
    model = mlp().cuda()
    with record(model) as tape:
        h = model(torch.randn(256, 2, device="cuda"))
        h.sum().backward()
    del h
    model.zero_grad(set_to_none=True)
    torch.cuda.synchronize()
    snaps = _snapshots(tape)
    assert snaps and all(s.device.startswith("cuda") for s in snaps)  # what was recorded
    assert all(s.values is not None and s.values.device.type == "cpu" for s in snaps)
    gc.collect()  # whatever else was garbage goes first: only the tape's share is compared
    held = torch.cuda.memory_allocated()
    del tape, snaps
    gc.collect()
    assert torch.cuda.memory_allocated() == held  # the tape kept CPU copies only


def test_training_on_the_gpu_in_a_thread_stores_the_gpu_and_a_checkpoint_that_loads_on_the_cpu(tmp_path):
    with RunStore(tmp_path / "runs.sqlite") as store:
        series = MetricSeries()
        job = thread_job(store, mlp(), series=series)
        result = job.run()
        assert result.status == "completed", result.reason
        assert set(series.names()) >= {"loss", "grad_norm/0", "grad_norm/2"}
        record_ = store.run(result.run_id)
        assert record_.config["device"] == "cuda:0"
        assert record_.machine["gpus"][0]["name"] == torch.cuda.get_device_name(0)
        assert record_.machine["cuda"] == torch.version.cuda
        assert len(store.metrics(result.run_id, "loss")) == 10
        state = load_checkpoint(list_checkpoints(store, result.run_id)[-1].path, map_location="cpu")
        assert all(v.device.type == "cpu" for v in state["model"].values())
        assert next(job.model.parameters()).device.type == "cuda"


def test_running_out_of_gpu_memory_fails_the_run_in_words_and_the_gpu_trains_again(tmp_path):
    with RunStore(tmp_path / "runs.sqlite") as store:
        result = thread_job(store, GreedyNet()).run()
        assert result.status == "failed"
        assert result.reason.startswith("out of memory on cuda:0 at step 1 (batch size 32) (at ")
        assert re.search(r"test_cuda\.py:\d+\): try a smaller batch size", result.reason)
        assert store.run(result.run_id).status == "failed"
        assert thread_job(store, mlp()).run().status == "completed"


def test_a_class_index_out_of_range_in_a_later_batch_fails_the_run_in_words_and_the_gpu_trains_again(tmp_path):
    data = spirals(size=200)
    data.y[150:] = 7  # two classes, then a label no output stands for: late enough to pass the shape check
    train_loader, _ = make_loaders(data, LoaderSettings(batch_size=32, seed=0, validation_fraction=0, shuffle=False))
    with RunStore(tmp_path / "runs.sqlite") as store:
        result = TrainingJob(mlp(), train_loader, None, TrainConfig(epochs=1, device="cuda"), store=store).run()
        assert result.status == "failed"
        assert result.reason == ("ValueError at step 4: target class 7 in the training data is out of range "
                                 "for the model's 2 outputs (classes 0 to 1)")
        assert thread_job(store, mlp()).run().status == "completed"  # CUDA still works in this process


def test_training_on_the_gpu_in_the_training_process_with_a_recorded_single_step(tmp_path):
    data = spirals(size=200)
    recipe = TrainingRecipe(mlp(), data, LoaderSettings(batch_size=32, seed=0, validation_fraction=0.2),
                            TrainConfig(epochs=3, lr=0.02, device="cuda"), store_path=str(tmp_path / "runs.sqlite"),
                            run_name="GPU process", probe=partial(decision_grid, bounds=data_bounds(data.x), resolution=8),
                            start_paused=True)
    series = MetricSeries()
    job = RemoteJob(TrainingProcess(), pickle_recipe(recipe), series=series, store_path=recipe.store_path)
    job.start()
    job.step_once(record=True)
    t0 = time.monotonic()
    while job.last_tape is None:
        assert time.monotonic() - t0 < 120, "no tape came back"
        time.sleep(0.05)
    tape = job.last_tape
    assert any(o.device.startswith("cuda") for e in tape.events if isinstance(e, CallEvent) for o in e.outputs)
    assert "AddmmBackward0" in {n.label for n in tape.graph().nodes.values()}
    job.resume()
    job.join(120)
    assert job.result.status == "completed", job.result.reason
    assert job.progress().device == "cuda:0"
    assert isinstance(job.latest_probe, Grid)
    with RunStore(recipe.store_path) as store:
        stored = store.run(job.result.run_id)
        assert stored.config["device"] == "cuda:0" and stored.status == "completed"
        assert os.path.exists(job.result.checkpoint)
    steps, losses = series.arrays("loss")
    assert list(steps) == list(range(15)) and np.isfinite(losses).all()


def test_recorded_values_survive_the_optimizer_changing_the_weights_on_the_gpu():
    model = mlp().cuda()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    x = torch.randn(16, 2, device="cuda")
    with record(model) as tape:
        model(x).pow(2).mean().backward()
    before = {name: p.detach().cpu().clone() for name, p in model.named_parameters()}
    grads = {name: p.grad.detach().cpu().clone() for name, p in model.named_parameters()}
    optimizer.step()  # in place on the GPU, after the recording
    model.zero_grad(set_to_none=False)  # zeroes the .grad tensors in place
    for leaf in tape.leaves.values():
        torch.testing.assert_close(leaf.value.values, before[leaf.name])
    recorded = {tape.leaves[e.leaf].name: e.grad.values for e in tape.events if isinstance(e, LeafGradEvent)}
    for name, grad in grads.items():
        torch.testing.assert_close(recorded[name], grad)
        assert recorded[name].device.type == "cpu"


def test_statistics_over_the_memory_budget_match_the_cpu_figures():
    model = mlp().cuda()
    x = torch.randn(64, 2, device="cuda")
    with record(model, memory_budget=1) as tape:  # no values: statistics only, fetched on first read
        h = model(x)
        h.pow(2).mean().backward()
    last = [e for e in tape.events if isinstance(e, CallEvent) and e.op == "linear"][-1].outputs[0]
    assert last.values is None
    expected = TensorStats.of(h.detach().cpu())
    assert last.stats.mean == pytest.approx(expected.mean, rel=1e-5, abs=1e-7)
    assert last.stats.norm == pytest.approx(expected.norm, rel=1e-5)
    assert (last.stats.min, last.stats.max) == pytest.approx((expected.min, expected.max))
    g = tape.graph()
    assert all(p.grad.stats.norm > 0 for p in g.by_kind("parameter"))
    pickled = pickle.loads(pickle.dumps(tape))  # as a recorded step travels from the training process
    assert pickled.graph().by_kind("parameter")[0].grad.stats.norm > 0


def test_gradstudio_train_on_the_gpu_from_a_terminal(tmp_path):
    from gradstudio.core.training.headless import main

    from .test_headless_training import project_file

    db = tmp_path / "runs.sqlite"
    assert main([str(project_file(tmp_path)), "--runs-db", str(db), "--device", "cuda", "--quiet"]) == 0
    with RunStore(db) as store:
        (run,) = store.runs()
        assert run.status == "completed" and run.config["device"] == "cuda:0"
        assert run.machine["gpus"][0]["name"] == torch.cuda.get_device_name(0)
