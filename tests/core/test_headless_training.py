"""`gradstudio train project.gradstudio`: the same records as the app, from a terminal, also
under torchrun with two processes, and a run killed outright is found interrupted."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from gradstudio.core.builder import ModuleSpec as M
from gradstudio.core.project import Project, Script, save_project
from gradstudio.core.runs import RunStore
from gradstudio.core.training.headless import main

MLP = M.of("Sequential", M.of("Linear", in_features=2, out_features=16), M.of("Tanh"),
           M.of("Linear", in_features=16, out_features=2))


def project_file(tmp_path, epochs=2, size=200, model=MLP, scripts=(), **train):
    training = {"dataset": {"kind": "moons", "options": {"size": size}},
                "loader": {"batch_size": 32, "validation_fraction": 0.25},
                "train": {"epochs": epochs, "lr": 0.02, "device": "cpu", **train}}
    path = tmp_path / "moons.gradstudio"
    save_project(Project(model=model, scripts=list(scripts), training=training), path)
    return path


def test_trains_a_builder_model_and_writes_the_run_record(tmp_path, capsys):
    db = tmp_path / "runs.sqlite"
    assert main([str(project_file(tmp_path)), "--runs-db", str(db), "--name", "cli run"]) == 0
    with RunStore(db) as store:
        (run,) = store.runs()
        assert run.name == "cli run" and run.status == "completed"
        assert run.config["model"]["source"] == "builder" and run.config["train"]["epochs"] == 2
        assert run.config["dataset"] == {"kind": "moons", "options": {"size": 200, "noise": 0.1, "seed": 0}}
        assert len(store.metrics(run.id, "loss")) == 2 * 5 and len(store.metrics(run.id, "val_loss")) == 2
        assert store.checkpoints(run.id)
    err = capsys.readouterr().err
    assert "epoch 2/2" in err and "completed (run 1 in" in err  # one line per epoch when not a terminal


def test_overrides_and_a_model_defined_in_code_with_consent(tmp_path):
    code = Script("model.py", "from torch import nn\n\nclass Net(nn.Module):\n    def __init__(self):\n"
                              "        super().__init__()\n        self.fc = nn.Linear(2, 2)\n\n"
                              "    def forward(self, x):\n        return self.fc(x)\n")
    path = project_file(tmp_path, model=None, scripts=[code])
    db = tmp_path / "runs.sqlite"
    assert main([str(path), "--runs-db", str(db), "--quiet"]) == 2  # code needs consent
    assert main([str(path), "--runs-db", str(db), "--trust-code", "--epochs", "1", "--quiet"]) == 0
    with RunStore(db) as store:
        (run,) = store.runs()
        assert run.config["model"]["class"] == "Net" and run.config["train"]["epochs"] == 1


@pytest.mark.parametrize("change, message", [
    ({"lr": -1}, "training.train.lr: expected a positive number"),
    ({"optimizer": "Adamax"}, "training.train.optimizer: expected one of SGD, Adam, AdamW, RMSprop"),
    ({"epochs": "ten"}, "training.train.epochs: expected a whole number"),
])
def test_bad_settings_are_named_by_their_path(tmp_path, capsys, change, message):
    db = tmp_path / "runs.sqlite"
    assert main([str(project_file(tmp_path, **change)), "--runs-db", str(db)]) == 2
    assert message in capsys.readouterr().err
    with RunStore(db) as store:
        assert store.runs() == []


def test_a_foreign_database_is_refused_and_left_alone(tmp_path, capsys):
    db = tmp_path / "other.sqlite"
    import sqlite3

    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE notes (text TEXT)")
    before = db.read_bytes()
    assert main([str(project_file(tmp_path)), "--runs-db", str(db)]) == 2
    assert "not a gradstudio run database" in capsys.readouterr().err and db.read_bytes() == before


def _env():
    env = dict(os.environ)
    env.pop("GRADSTUDIO_RUNS_DB", None)
    env["OMP_NUM_THREADS"] = "1"
    return env


def test_torchrun_with_two_processes_trains_with_ddp_and_rank_0_writes_the_record(tmp_path):
    db = tmp_path / "runs.sqlite"
    weights = tmp_path / "weights-{rank}.pt"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "gradstudio.cli", "train", str(project_file(tmp_path, size=256)),
           "--runs-db", str(db), "--weights-out", str(weights), "--quiet"]
    done = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    with RunStore(db) as store:
        (run,) = store.runs()  # one record, from rank 0
        assert run.status == "completed" and run.config["distributed"] == {"world_size": 2, "backend": "gloo"}
        # 192 training samples: each rank trains 96 per epoch, 3 batches of 32
        assert len(store.metrics(run.id, "loss")) == 2 * 3
    a, b = (torch.load(str(weights).format(rank=r), weights_only=True) for r in (0, 1))
    for name in a:
        assert torch.equal(a[name], b[name]), name


def test_a_killed_training_process_is_found_interrupted_with_its_metrics(tmp_path):
    db = tmp_path / "runs.sqlite"
    path = project_file(tmp_path, epochs=100_000, size=2000)
    proc = subprocess.Popen([sys.executable, "-m", "gradstudio.cli", "train", str(path), "--runs-db", str(db), "--quiet"],
                            env=_env(), stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while True:  # until at least two flushes have landed
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline
            if db.exists():
                with RunStore(db) as peek:
                    runs = peek.runs()
                    if runs and len(peek.metrics(runs[0].id, "loss")) > 50:
                        break
            time.sleep(0.3)
        time.sleep(1.5)
        proc.send_signal(signal.SIGKILL)
        killed = time.time()
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    with RunStore(db) as store:
        (run,) = store.runs()
        assert run.status == "interrupted"
        last_wall = max(wall for _, _, _, wall in store.all_metrics(run.id))
        assert killed - last_wall < 1.5  # flushed at least once a second (+ scheduling slack)


def test_the_apps_choice_of_a_small_mlp_for_the_data_trains_headless(tmp_path):
    db = tmp_path / "runs.sqlite"
    path = project_file(tmp_path, model=None, extra={"model": "mlp"})
    assert main([str(path), "--runs-db", str(db), "--quiet"]) == 0
    with RunStore(db) as store:
        (run,) = store.runs()
        assert run.config["model"]["note"] == "small MLP for the data" and run.status == "completed"
