"""The Qt-free session: stepping commands and runs, as the app's buttons use them."""

from gradstudio.assets.lessons import lesson
from gradstudio.core.runner import run_script
from gradstudio.core.session import Session


def session_with(key: str) -> Session:
    s = Session()
    src = lesson(key)
    s.set_source(src.source, src.filename)
    assert s.apply_result(run_script(src.source, src.filename))
    return s


def test_new_tape_shorter_than_current_step_is_safe():
    s = session_with("03_submodules")
    s.last()
    seen = []
    s.sig_tape_changed.connect(lambda tape: seen.append(s.current_event))
    short = run_script("import torch\nx = torch.ones(2, requires_grad=True)\n(x * 2).sum().backward()\n")
    s.apply_result(short, step="end")
    assert seen and seen[0] is s.tape.events[-1]


def test_step_over_skips_a_module_call_and_step_out_leaves_one():
    s = session_with("03_submodules")
    tape = s.tape
    # the call of net(...) in the script: step over it lands on the last event inside it
    first_in_net = next(e.index for e in tape.forward_events if (e.module or "").startswith("net"))
    call = tape.module_calls[tape.events[first_in_net].module_calls[0]]
    assert call.path == "net"
    s.set_step(first_in_net - 1)
    s.step_over()
    assert s.step == call.end_event - 1
    # step out of a conv inside a residual block: lands on the event after that conv returned
    conv = next(e for e in tape.forward_events if e.module == "net.stage1.blocks.0.conv1")
    s.set_step(conv.index)
    s.step_out()
    assert tape.events[s.step].module != "net.stage1.blocks.0.conv1"
    assert s.step > conv.index


def test_run_to_line_finds_the_next_event_of_that_line():
    s = session_with("02_power")
    s.first()
    pow_line = next(e.source.lineno for e in s.tape.forward_events if e.op == "pow")
    assert s.run_to_line(pow_line)
    assert s.current_event.op == "pow"
    assert not s.run_to_line(1)  # a comment line made no event


def test_failed_run_keeps_the_graph_and_reports_the_line():
    s = session_with("02_power")
    graph = s.graph
    errors = []
    s.sig_error_changed.connect(errors.append)
    assert not s.apply_result(run_script("x = 1\ny = undefined_name\n"))
    assert s.graph is graph
    assert errors[-1].lineno == 2 and "undefined_name" in errors[-1].message


def test_run_again_compares_runs_of_one_script_but_not_two_different_scripts():
    session = Session()
    for key in ("05_random_depth", "05_random_depth"):
        item = lesson(key)
        session.set_source(item.source, item.filename)
        assert session.apply_result(run_script(item.source, item.filename))
    assert session.last_diff is not None  # the same script, run again
    other = lesson("02_power")
    session.set_source(other.source, other.filename)
    assert session.apply_result(run_script(other.source, other.filename))
    assert session.last_diff is None and session.previous_graph is None
