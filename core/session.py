"""The app's state without Qt: script, tape, graph, current step, selection, collapsed modules.

Widgets observe it through psygnal signals and change it through its methods, so everything
a user can do is reachable from a plain test.
"""

from __future__ import annotations

from psygnal import Signal

from . import stepping
from .capture import Tape
from .graph import Graph, GraphDiff, diff
from .live_model import LiveModel, models_in
from .runner import RunResult, ScriptError


class Session:
    """One document: its source, its latest successful tape and where the user is in it."""

    sig_source_changed = Signal(str)
    """The script text (or its file name) changed."""
    sig_tape_changed = Signal(object)
    """A new tape was recorded (the graph, diff and step are reset)."""
    sig_step_changed = Signal(int)
    """The current step moved."""
    sig_selection_changed = Signal(object)
    """The selected node id (or None) changed."""
    sig_error_changed = Signal(object)
    """A run failed (ScriptError) or the error was cleared (None)."""
    sig_notice = Signal(str)
    """Something the user should read in the status bar."""
    sig_collapsed_changed = Signal(object)
    """The set of collapsed module paths changed."""

    def __init__(self, source: str = "", filename: str = "<editor>"):
        self.source = source
        self.filename = filename
        self.tape: Tape | None = None
        self.graph: Graph | None = None
        self.previous_graph: Graph | None = None
        self.last_diff: GraphDiff | None = None
        self.step = 0
        self.selected: str | None = None
        self.error: ScriptError | None = None
        self.collapsed: frozenset[str] = frozenset()
        self.run_count = 0
        self._tape_filename: str | None = None  # the script the current tape came from
        self.live_model = None  # a LiveModel when gradstudio holds the model (show, Open model)
        self.script_models: dict = {}  # the models the latest script run left in its globals
        self.script_namespace: dict = {}  # its globals: Dataset classes for training come from here

    # -- document --------------------------------------------------------------------
    def set_source(self, source: str, filename: str | None = None) -> None:
        self.source = source
        if filename is not None:
            self.filename = filename
        self.sig_source_changed.emit(source)

    # -- results of runs -------------------------------------------------------------
    def apply_result(
        self, result: RunResult, *, step: int | str = "end", compared: tuple[Graph, GraphDiff] | None = None
    ) -> bool:
        """Take a finished run. A failed run keeps the previous graph and reports the error.
        `compared`: the run's graph already diffed against this graph (see `set_tape`)."""
        if not result.ok:
            self.error = result.error
            self.sig_error_changed.emit(result.error)
            return False
        if result.notice and (result.tape is None or not result.tape.nodes):
            self.error = None
            self.sig_error_changed.emit(None)
            self.sig_notice.emit(result.notice)
            return False
        self.error = None
        self.sig_error_changed.emit(None)
        self.script_models = models_in(result.namespace)
        self.script_namespace = result.namespace
        # a script's model can be recorded again (e.g. after freezing part of it) on the
        # arguments the script first called it with
        self.live_model = next(
            (LiveModel(m, result.first_inputs[id(m)], origin=f"the script's {name!r}", from_script=True, name=name)
             for name, m in self.script_models.items() if id(m) in result.first_inputs),
            None,
        )
        self.set_tape(result.tape, step=step, compared=compared)
        return True

    def comparison_base(self, filename: str | None) -> Graph | None:
        """The graph a new tape of `filename` is compared with: "Run again" compares runs of
        one script, and another script's graph is no "before"."""
        return self.graph if self._tape_filename == filename else None

    def set_tape(
        self, tape: Tape, *, step: int | str = "end", compared: tuple[Graph, GraphDiff] | None = None
    ) -> None:
        """`compared`: (graph, diff of it against `tape.graph()`), worked out where the tape
        was recorded (a diff of large graphs takes a while); used if that graph is still the
        comparison base, else the diff is made here."""
        self.previous_graph = self.comparison_base(self.filename)
        self._tape_filename = self.filename
        self.tape = tape
        self.graph = tape.graph()
        self.run_count += 1
        if self.previous_graph is None:
            self.last_diff = None
        elif compared is not None and compared[0] is self.previous_graph:
            self.last_diff = compared[1]
        else:
            self.last_diff = diff(self.previous_graph, self.graph)
        had_selection = self.selected is not None
        self.selected = None
        self.step = stepping.clamp(tape, self._resolve_step(step))  # valid before anyone looks
        self.sig_tape_changed.emit(tape)
        if had_selection:
            self.sig_selection_changed.emit(None)
        self.sig_step_changed.emit(self.step)

    def _resolve_step(self, step: int | str) -> int:
        if step == "end":
            return len(self.tape.events) - 1
        if step == "forward-end":
            first = stepping.first_backward(self.tape)
            return max(first - 1, 0) if first is not None else len(self.tape.events) - 1
        return int(step)

    # -- stepping --------------------------------------------------------------------
    @property
    def n_events(self) -> int:
        return len(self.tape.events) if self.tape is not None else 0

    def set_step(self, step: int) -> None:
        if self.tape is None:
            return
        self.step = stepping.clamp(self.tape, step)
        self.sig_step_changed.emit(self.step)

    def next(self) -> None:
        self.set_step(self.step + 1)

    def previous(self) -> None:
        self.set_step(self.step - 1)

    def first(self) -> None:
        self.set_step(0)

    def last(self) -> None:
        self.set_step(self.n_events - 1)

    def step_over(self) -> None:
        if self.tape is not None:
            self.set_step(stepping.step_over(self.tape, self.step))

    def step_out(self) -> None:
        if self.tape is not None:
            self.set_step(stepping.step_out(self.tape, self.step))

    def run_to_line(self, lineno: int) -> bool:
        if self.tape is None:
            return False
        target = stepping.run_to_line(self.tape, self.step, self.filename, lineno)
        if target is None:
            self.sig_notice.emit(f"No event comes from line {lineno}.")
            return False
        self.set_step(target)
        return True

    @property
    def current_event(self):
        return self.tape.events[self.step] if self.tape is not None and self.tape.events else None

    # -- selection and modules -----------------------------------------------------------
    def select(self, node_id: str | None) -> None:
        if node_id != self.selected:
            self.selected = node_id
            self.sig_selection_changed.emit(node_id)

    def set_collapsed(self, paths) -> None:
        paths = frozenset(paths)
        if paths != self.collapsed:
            self.collapsed = paths
            self.sig_collapsed_changed.emit(paths)

    def toggle_collapsed(self, path: str) -> None:
        self.set_collapsed(self.collapsed ^ {path})
