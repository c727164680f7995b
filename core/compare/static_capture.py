"""One static graph from one example run: torch.export and torch.jit.trace, as plain data.

A tape records whatever the Python code did this time; a static capture records it once
and keeps it. Both captures run the model once on the example inputs (random draws and
buffer updates happen as in any call). Failures are results, not exceptions: a lesson
shows the real error message and the user's line it points at.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import torch

from ..capture.source import SourceLocation
from .op_names import PYTHON_LEVEL, export_op_name, op_key, trace_op_name
from .torch_messages import (
    clean_error,
    collect_messages,
    error_location,
    printed_text,
    user_frame_of_stack,
    user_frame_of_trace_range,
)

EXPORT = "torch.export"
TRACE = "torch.jit.trace"


@dataclass
class StaticOp:
    """One operation of a static graph.

    Attributes:
        op: readable name (`linear`, `relu`, `pow`).
        target: the name the static graph uses (`aten.linear.default`, `aten::linear`).
        module: dotted module path (`layer1.0.conv1`), "" for the model itself, None unknown.
        source: the user's line that made it, when the capture kept one.
        shapes: the shape of each tensor output (None where the capture does not know it).
    """

    index: int
    op: str
    target: str
    module: str | None = None
    source: SourceLocation | None = None
    shapes: list[tuple | None] = field(default_factory=list)

    @property
    def key(self) -> str:
        return op_key(self.op)


@dataclass
class StaticCapture:
    """What torch.export or torch.jit.trace made of one example run.

    Attributes:
        method: `EXPORT` or `TRACE`.
        ok: a graph was captured; when False, `error` says why.
        ops: the graph's computing operations in order (tuple indexing and size queries left out).
        warnings: warnings and torch log lines emitted during the capture, verbatim.
        guards: what the graph assumes about its inputs (shapes fixed, ranges, constants).
        error: `Type: message` of the real exception, debugging switches and links removed.
        error_type: the exception's class name.
        error_line: the user's line the error points at, when it can be found.
        partial_graph: what export had built when it failed, as torch prints it.
        seconds: how long the capture took.
        program: the ExportedProgram or traced ScriptModule (to run it on other inputs).
    """

    method: str
    ok: bool
    ops: list[StaticOp] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    guards: list[str] = field(default_factory=list)
    error: str | None = None
    error_type: str | None = None
    error_line: SourceLocation | None = None
    partial_graph: str | None = None
    seconds: float = 0.0
    program: object | None = field(default=None, repr=False)
    _runnable: object | None = field(default=None, repr=False, compare=False)

    def count(self, op: str) -> int:
        """How many ops of this name (or spelling of it) the graph holds."""
        key = op_key(op)
        return sum(1 for o in self.ops if o.key == key)

    def run(self, *inputs):
        """Run the captured graph (not the Python code) on other inputs."""
        if not self.ok or self.program is None:
            raise RuntimeError(f"{self.method} captured no graph: {self.error}")
        if self._runnable is None:
            module = getattr(self.program, "module", None)
            self._runnable = module() if self.method == EXPORT and callable(module) else self.program
        return self._runnable(*inputs)


def capture_export(model, example_inputs: tuple, *, dynamic_shapes=None, strict: bool = False) -> StaticCapture:
    """Export `model` with torch.export on `example_inputs`; never raises for the model's sake."""
    messages: list[str] = []
    start = time.perf_counter()
    try:
        with collect_messages(messages) as printed:
            program = torch.export.export(model, _as_args(example_inputs), dynamic_shapes=dynamic_shapes, strict=strict)
    except Exception as exc:
        return _failed(EXPORT, exc, messages, printed, time.perf_counter() - start)
    seconds = time.perf_counter() - start
    _note_printed(messages, printed)
    ops = []
    for node in program.graph.nodes:
        if node.op != "call_function":
            continue
        name = export_op_name(node.target)
        if name in PYTHON_LEVEL:
            continue
        ops.append(
            StaticOp(
                index=len(ops),
                op=name,
                target=str(node.target),
                module=_export_module(node.meta.get("nn_module_stack")),
                source=user_frame_of_stack(node.meta.get("stack_trace")),
                shapes=_shapes(node.meta.get("val")),
            )
        )
    return StaticCapture(EXPORT, True, ops, messages, _export_guards(program), seconds=seconds, program=program)


def capture_trace(model, example_inputs: tuple, *, check_trace: bool = False) -> StaticCapture:
    """Trace `model` with torch.jit.trace on `example_inputs`; never raises for the model's sake.

    `check_trace` (off by default) makes torch trace twice and compare; a model whose graph
    changes between calls then fails with "Graphs differed across invocations".
    """
    messages: list[str] = []
    if not hasattr(torch.jit, "trace"):
        return StaticCapture(TRACE, False, error=f"torch.jit.trace does not exist in torch {torch.__version__}")
    start = time.perf_counter()
    try:
        with collect_messages(messages) as printed:
            traced = torch.jit.trace(model, _as_args(example_inputs), check_trace=check_trace)
            graph = getattr(traced, "inlined_graph", None) or traced.graph
    except Exception as exc:
        return _failed(TRACE, exc, messages, printed, time.perf_counter() - start)
    seconds = time.perf_counter() - start
    _note_printed(messages, printed)
    ops = []
    for node in graph.nodes():
        kind = node.kind()
        if not kind.startswith("aten::"):  # prim:: constants, attribute reads, lists
            continue
        name = trace_op_name(kind)
        if name in PYTHON_LEVEL:
            continue
        ops.append(
            StaticOp(
                index=len(ops),
                op=name,
                target=kind,
                module=_trace_module(node.scopeName()),
                source=user_frame_of_trace_range(node.sourceRange()),
                shapes=[_trace_shape(out) for out in node.outputs()],
            )
        )
    return StaticCapture(TRACE, True, ops, messages, [], seconds=seconds, program=traced)


def _as_args(example_inputs) -> tuple:
    """The positional arguments: a lone tensor (or value) is the one argument, not a sequence."""
    return tuple(example_inputs) if isinstance(example_inputs, (tuple, list)) else (example_inputs,)


def _note_printed(messages: list[str], printed, exc: BaseException | None = None) -> None:
    text = printed_text(printed, exc)
    if text:
        messages.append(f"printed: {text}")


def _failed(method: str, exc: Exception, messages: list[str], printed, seconds: float) -> StaticCapture:
    _note_printed(messages, printed, exc)
    partial = getattr(exc, "partial_fx_graph", None)
    return StaticCapture(
        method,
        False,
        warnings=messages,
        error=clean_error(exc),
        error_type=type(exc).__name__,
        error_line=error_location(exc, exclude=(__file__,)),
        partial_graph=str(partial).strip() if partial else None,
        seconds=seconds,
    )


def dotted_module_path(path: str) -> str:
    """`stages.0.conv1` from any spelling export uses (`L['self'].stages[0].conv1`)."""
    p = re.sub(r"^L\['self'\]\.?", "", path)
    p = re.sub(r"\._modules\['([^']+)'\]", r".\1", p)
    p = re.sub(r"\[(\d+)\]", r".\1", p)
    p = re.sub(r"\['([^']+)'\]", r".\1", p)
    return p.strip(".")


def _export_module(stack) -> str | None:
    if not stack:
        return None
    path = list(stack.values())[-1][0]  # innermost module last: (path, class name)
    return dotted_module_path(str(path))


def _trace_module(scope: str) -> str:
    last = scope.rsplit("/", 1)[-1]  # `__module.a/__module.a.b`: innermost last
    if last.startswith("__module."):
        return last[len("__module.") :]
    return "" if last in ("", "__module") else last


def _dim(d) -> int | str:
    return int(d) if isinstance(d, int) else str(d)


def _shapes(val) -> list[tuple | None]:
    if isinstance(val, torch.Tensor):
        return [tuple(_dim(d) for d in val.shape)]
    if isinstance(val, (list, tuple)):
        return [tuple(_dim(d) for d in v.shape) if isinstance(v, torch.Tensor) else None for v in val]
    return []


def _trace_shape(value) -> tuple | None:
    try:
        sizes = value.type().sizes()
    except Exception:  # not a tensor, or a tensor of unknown shape
        return None
    return tuple(sizes) if sizes is not None else None


def _export_guards(program) -> list[str]:
    """Each user input's assumption, then each symbolic size's allowed range."""
    from torch.export.graph_signature import InputKind

    vals = {n.name: n.meta.get("val") for n in program.graph.nodes if n.op == "placeholder"}
    guards = []
    for spec in program.graph_signature.input_specs:
        if spec.kind != InputKind.USER_INPUT:
            continue
        name = getattr(spec.arg, "name", "?")
        if hasattr(spec.arg, "value"):
            guards.append(f"{name} = {spec.arg.value!r}: a Python value, baked into the graph as a constant")
            continue
        val = vals.get(name)
        if isinstance(val, torch.Tensor):
            shape = tuple(_dim(d) for d in val.shape)
            if all(isinstance(d, int) for d in shape):
                guards.append(f"{name}: shape {shape}, fixed to the example's shape")
            else:
                guards.append(f"{name}: shape {shape}, symbolic sizes within the ranges below")
        elif val is not None:
            guards.append(f"{name} = {val!r}: a Python value, baked into the graph as a constant")
    for sym, vr in program.range_constraints.items():
        upper = "∞" if "oo" in str(vr.upper) else str(vr.upper)
        guards.append(f"{sym} in [{vr.lower}, {upper}]")
    return guards
