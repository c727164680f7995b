"""The run store: what a run leaves on disk, also after the process is killed."""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from gradstudio.core.runs import RunStore, RunStoreError, machine_info


def test_a_run_is_kept_with_config_machine_metrics_and_status(tmp_path):
    path = tmp_path / "runs.sqlite"
    with RunStore(path) as store:
        run = store.start_run("spirals mlp", {"lr": 0.1, "optimizer": "SGD"}, machine_info())
        for step in range(5):
            store.log(run, step, loss=1.0 / (step + 1), accuracy=None)
        store.finish(run, "completed")
    with RunStore(path) as again:
        (record,) = again.runs()
        assert (record.name, record.status, record.config["lr"]) == ("spirals mlp", "completed", 0.1)
        assert record.machine["torch"] and record.machine["cpu_count"] >= 1
        assert [v for _, v in again.metrics(run, "loss")] == [1.0, 0.5, 1 / 3, 0.25, 0.2]
        assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_killed_training_process_leaves_an_interrupted_run_with_its_metrics(tmp_path):
    path = tmp_path / "runs.sqlite"
    script = textwrap.dedent(f"""
        import time
        from gradstudio.core.runs import RunStore
        store = RunStore({str(path)!r}, flush_seconds=0.2)
        run = store.start_run("killed", {{}}, {{}})
        step = 0
        while True:
            store.log(run, step, loss=1.0)
            step += 1
            print(step, flush=True) if step % 50 == 0 else None
            time.sleep(0.002)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        for _ in range(4):  # a few hundred steps in
            proc.stdout.readline()
        time.sleep(0.5)
        os.kill(proc.pid, signal.SIGKILL)
        killed_at = time.time()
    finally:
        proc.wait(10)
    with RunStore(path) as store:
        (record,) = store.runs()
        assert record.status == "interrupted"
        rows = store.db.execute("SELECT MAX(wall), COUNT(*) FROM metrics").fetchone()
        assert rows[1] >= 150
        assert killed_at - rows[0] < 1.0  # at most about a second lost


@pytest.mark.parametrize("content", [b"not a database at all, just text\n" * 20, None], ids=["garbage", "foreign"])
def test_foreign_or_damaged_files_are_refused_and_left_alone(tmp_path, content):
    path = tmp_path / "other.sqlite"
    if content is None:
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE customers (name TEXT)")
        db.commit()
        db.close()
    else:
        path.write_bytes(content)
    before = path.read_bytes()
    with pytest.raises(RunStoreError, match="not a gradstudio run database"):
        RunStore(path)
    assert path.read_bytes() == before
