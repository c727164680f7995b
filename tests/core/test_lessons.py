"""Every lesson script records without errors and draws a graph."""

import pytest

from gradstudio.assets.lessons import DEFAULT_LESSON, LESSONS
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
