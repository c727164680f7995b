"""Exporting a stored run: the CSV a spreadsheet opens and the event file TensorBoard opens."""

from __future__ import annotations

import csv
import struct

import pytest

from gradstudio.core.runs import RunStore
from gradstudio.core.runs.crc32c import crc32c, masked_crc32c
from gradstudio.core.runs.export import export_csv, export_tensorboard
from gradstudio.core.runs.tfevents import TFEventsError, read_events

STEPS_PER_EPOCH = 4
EPOCHS = 3


def _train_run(store: RunStore) -> int:
    """Three epochs of four steps; validation metrics at each epoch's last step."""
    run = store.start_run("spirals / mlp #1", {"lr": 0.05, "optimizer": "Adam", "layers": [2, 16, 2]}, {})
    for step in range(STEPS_PER_EPOCH * EPOCHS):
        store.log(run, step, loss=1.0 / (step + 1), accuracy=0.4 + step * 0.05)
        if step % STEPS_PER_EPOCH == STEPS_PER_EPOCH - 1:
            store.log(run, step, val_loss=0.9 - step * 0.03, val_accuracy=0.5 + step * 0.02)
    store.finish(run, "completed")
    return run


@pytest.fixture
def store(tmp_path):
    with RunStore(tmp_path / "runs.sqlite") as s:
        yield s


def test_store_lists_names_and_every_metric_in_step_order(store):
    run = _train_run(store)
    assert store.metric_names(run) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    rows = store.all_metrics(run)
    assert len(rows) == 12 * 2 + 3 * 2
    assert [(s, n) for s, n, _, _ in rows[:2]] == [(0, "accuracy"), (0, "loss")]
    assert [(s, n) for s, n, _, _ in rows[4:10]] == [
        (2, "accuracy"), (2, "loss"), (3, "accuracy"), (3, "loss"), (3, "val_accuracy"), (3, "val_loss")]


def test_csv_has_one_row_per_step_and_empty_cells_where_validation_did_not_run(store, tmp_path):
    run = _train_run(store)
    path = export_csv(store, run, tmp_path / "run.csv")
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == ["step", "wall_time", "accuracy", "loss", "val_accuracy", "val_loss"]
        rows = list(reader)
    assert [int(r["step"]) for r in rows] == list(range(12))
    for r in rows:
        step = int(r["step"])
        assert float(r["loss"]) == 1.0 / (step + 1)
        assert float(r["accuracy"]) == 0.4 + step * 0.05
        assert float(r["wall_time"]) >= store.run(run).created
        if step in (3, 7, 11):
            assert float(r["val_loss"]) == 0.9 - step * 0.03
            assert float(r["val_accuracy"]) == 0.5 + step * 0.02
        else:
            assert (r["val_loss"], r["val_accuracy"]) == ("", "")


def test_csv_leaves_a_logged_none_empty_and_refuses_a_missing_folder(store, tmp_path):
    run = store.start_run("partial", {}, {})
    store.log(run, 0, loss=2.0, accuracy=None)
    store.finish(run, "stopped")
    rows = list(csv.reader(open(export_csv(store, run, tmp_path / "p.csv"), newline="")))
    assert rows == [["step", "wall_time", "accuracy", "loss"], ["0", rows[1][1], "", "2.0"]]
    with pytest.raises(FileNotFoundError, match="no_such_folder.*does not exist"):
        export_csv(store, run, tmp_path / "no_such_folder" / "p.csv")
    with pytest.raises(KeyError, match="no run 99"):
        export_csv(store, 99, tmp_path / "x.csv")


def test_tensorboard_file_holds_every_scalar_under_train_and_validation_tags(store, tmp_path):
    run = _train_run(store)
    path = export_tensorboard(store, run, tmp_path / "tb")
    assert path.parent == tmp_path / "tb" / f"spirals_mlp_1-{run}"
    assert path.name.startswith("events.out.tfevents.") and path.name.endswith(".gradstudio")

    events = read_events(path)
    assert events[0]["file_version"] == "brain.Event:2"
    assert events[0]["wall_time"] == store.run(run).created
    config = events[1]["summary"][0]
    assert config["tag"] == "config" and '"optimizer": "Adam"' in config["text"] and "completed" in config["text"]

    got = [(e["step"], v["tag"], v["simple_value"], e["wall_time"]) for e in events[2:] for v in e["summary"]]
    tags = {"loss": "loss/train", "accuracy": "accuracy/train",
            "val_loss": "loss/validation", "val_accuracy": "accuracy/validation"}
    expected = [(s, tags[n], v, w) for s, n, v, w in store.all_metrics(run)]
    assert len(got) == len(expected) == 30
    for (step, tag, value, wall), (e_step, e_tag, e_value, e_wall) in zip(got, expected):
        assert (step, tag, wall) == (e_step, e_tag, e_wall)
        assert value == pytest.approx(e_value, rel=1e-6)
    assert {t for _, t, _, _ in got} == set(tags.values())


def test_exporting_again_replaces_the_file_and_huge_values_become_infinities(store, tmp_path):
    run = store.start_run("diverged", {}, {})
    store.log(run, 0, loss=1e300, grad_norm=0.5, accuracy=None)
    store.log(run, 1, loss=-1e300)
    store.finish(run, "diverged", "loss became too large")
    first = export_tensorboard(store, run, tmp_path)
    second = export_tensorboard(store, run, tmp_path)
    assert first == second and [p.name for p in first.parent.iterdir()] == [first.name]
    scalars = [(e["step"], v["tag"], v["simple_value"]) for e in read_events(second)[2:] for v in e["summary"]]
    # beyond float32: infinities, as TensorBoard would show a diverged loss; other names kept as they are
    assert scalars == [(0, "grad_norm", 0.5), (0, "loss/train", float("inf")), (1, "loss/train", float("-inf"))]


def test_a_damaged_byte_is_reported_with_its_record_offset(store, tmp_path):
    run = _train_run(store)
    path = export_tensorboard(store, run, tmp_path)
    data = bytearray(path.read_bytes())
    first_len = struct.unpack("<Q", data[:8])[0]
    second = 8 + 4 + first_len + 4  # offset of the second record
    data[second + 12 + 3] ^= 0xFF  # a byte inside the second record's payload
    path.write_bytes(bytes(data))
    with pytest.raises(TFEventsError, match=rf"byte {second}: record payload fails its CRC check"):
        read_events(path)

    data = bytearray(path.read_bytes())
    data[second + 12 + 3] ^= 0xFF  # repaired
    data[second] ^= 0x01  # now the length of the second record
    path.write_bytes(bytes(data))
    with pytest.raises(TFEventsError, match=rf"byte {second}: record length fails its CRC check"):
        read_events(path)

    path.write_bytes(bytes(data[:second + 20]))
    with pytest.raises(TFEventsError, match=rf"byte {second}: .*"):
        read_events(path)


def test_crc32c_matches_known_vectors():
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"") == 0
    assert crc32c(bytes(32)) == 0x8A9136AA  # RFC 3720 B.4: 32 bytes of zeros
    assert crc32c(b"\xff" * 32) == 0x62A8AB43  # RFC 3720 B.4: 32 bytes of ones
    assert crc32c(bytes(range(32))) == 0x46DD794E  # RFC 3720 B.4: incrementing
    assert crc32c(b"56789", crc32c(b"1234")) == 0xE3069283  # continued over pieces
    assert masked_crc32c(b"123456789") == ((((0xE3069283 >> 15) | (0xE3069283 << 17)) + 0xA282EAD8) & 0xFFFFFFFF)


def test_tensorboard_itself_reads_the_scalars(store, tmp_path):
    event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    run = _train_run(store)
    path = export_tensorboard(store, run, tmp_path)
    acc = event_accumulator.EventAccumulator(str(path.parent))
    acc.Reload()
    assert sorted(acc.Tags()["scalars"]) == ["accuracy/train", "accuracy/validation", "loss/train", "loss/validation"]
    assert [(s.step, round(s.value, 5)) for s in acc.Scalars("loss/validation")] == [
        (3, round(0.9 - 3 * 0.03, 5)), (7, round(0.9 - 7 * 0.03, 5)), (11, round(0.9 - 11 * 0.03, 5))]
    assert [s.step for s in acc.Scalars("loss/train")] == list(range(12))
