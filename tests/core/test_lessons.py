"""Every lesson script records without errors and draws a graph."""

import re

import pytest

from gradstudio.assets.lessons import DEFAULT_LESSON, LESSONS, VIEWS, Lesson, lesson, lesson_for_filename
from gradstudio.core.data import DATASET_KINDS
from gradstudio.core.runner import run_script


@pytest.mark.parametrize("lesson", LESSONS, ids=[item.key for item in LESSONS])
def test_lesson_records(lesson):
    result = run_script(lesson.source, lesson.filename)
    assert result.ok, result.error and result.error.traceback
    assert result.notice is None
    g = result.tape.graph()
    assert g.by_kind("op"), "a lesson must build a graph"
    assert any(e.kind == "backward_end" and e.ok for e in result.tape.events)


def test_default_lesson_is_the_power_module_from_the_slides():
    result = run_script(DEFAULT_LESSON.source, DEFAULT_LESSON.filename)
    g = result.tape.graph()
    assert g.by_label("PowBackward0") and g.by_label("inp")
    pow_event = next(e for e in result.tape.events if getattr(e, "op", "") == "pow")
    assert pow_event.module == "cube"
    assert pow_event.source.text.strip() == "return input**self.exponent"


SEED_SECTIONS = ["Basics", "Modules", "Sub-modules", "Data", "Training", "Dynamic graphs", "Some problems",
                 "Tracking runs"]


def test_lessons_follow_the_seed_slides_in_order():
    sections = list(dict.fromkeys(item.section for item in LESSONS))
    assert sections == SEED_SECTIONS


def test_every_script_is_a_lesson_and_keys_are_unique():
    from importlib import resources

    stems = {p.name[:-3] for p in resources.files("gradstudio.assets.lessons").iterdir()
             if p.name.endswith(".py") and p.name != "__init__.py"}
    keys = [item.key for item in LESSONS]
    assert len(keys) == len(set(keys)) and set(keys) == stems
    assert lesson("02_power") is DEFAULT_LESSON  # the CLI's and tests' keys stay as published


@pytest.mark.parametrize("item", LESSONS, ids=[item.key for item in LESSONS])
def test_lesson_explanations_are_short_and_point_at_valid_views(item):
    text = re.sub(r"<[^>]+>", "", item.explanation)
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]
    assert 3 <= len(sentences) <= 6, sentences
    assert item.view in VIEWS
    assert item.dataset is None or item.dataset in DATASET_KINDS


def test_a_lesson_with_a_bad_view_is_refused_naming_it():
    with pytest.raises(ValueError, match="lesson x: view 'slides'"):
        Lesson("x", "X", "x", view="slides")


def test_unknown_lesson_names_the_known_ones():
    with pytest.raises(KeyError, match="02_power"):
        lesson("99_nope")
    assert lesson_for_filename("<lesson 04_rnn>").key == "04_rnn"
    assert lesson_for_filename("<editor>") is None


def test_data_lesson_calls_getitem_once_per_sample_of_a_batch():
    result = run_script(lesson("07_data").source, lesson("07_data").filename)
    assert sum(1 for e in result.tape.events if getattr(e, "op", "") == "__getitem__") >= 16
    assert result.tape.graph().by_label("NllLossBackward0")


def test_static_graphs_lesson_records_both_branches():
    result = run_script(lesson("08_static_graphs").source, lesson("08_static_graphs").filename)
    g = result.tape.graph()
    assert g.by_label("ReluBackward0") and g.by_label("TanhBackward0")
    assert sum(1 for e in result.tape.events if e.kind == "backward_end" and e.ok) == 2


def test_tracking_runs_lesson_stores_a_run_with_one_loss_per_step(tmp_path, monkeypatch):
    from gradstudio.core.runs import RunStore

    monkeypatch.setenv("GRADSTUDIO_RUNS_DB", str(tmp_path / "lesson-runs.sqlite"))
    result = run_script(lesson("09_tracking_runs").source, lesson("09_tracking_runs").filename)
    assert result.ok, result.error and result.error.traceback
    assert sum(1 for e in result.tape.events if e.kind == "backward_end" and e.ok) == 3
    with RunStore(tmp_path / "lesson-runs.sqlite") as store:
        (run,) = store.runs()
        assert run.status == "completed" and run.config["train"]["lr"] in (0.1, 0.5, 1.0)
        assert [step for step, _ in store.metrics(run.id, "loss")] == [0, 1, 2]
