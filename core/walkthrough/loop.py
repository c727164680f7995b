"""The seed's training loop, advanced one line at a time on a real model and real data.

Each call to `advance()` runs the next of the five lines for real and says what changed:
`.grad` cleared, autograd nodes created, the loss, the backward pass and the graph it
freed, the weights the step moved. The lines of one iteration are recorded on one tape
(see `RecordingThread`): the graph view shows nodes appearing at `outputs = net(images)`,
the backward pass at `loss.backward()`, and the saved tensors freed after it.

Example::

    walk = TrainingWalkthrough(net, [(images, labels)], nn.CrossEntropyLoss(), lr=0.1)
    for _ in walk.lines:
        print(walk.advance().change)
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from ..capture import Tape
from ..training.config import LOSSES, OPTIMIZERS, TrainConfig
from ..training.engine import make_optimizer
from .batches import BatchSource
from .describe import created_nodes, format_bytes, nodes_ran, saved_bytes, shape_text
from .recording_thread import LineError, RecordingThread
from .seed_lines import (
    BACKWARD,
    FORWARD,
    LINES,
    LOSS,
    STEP,
    ZERO_GRAD,
    backward_line,
    forward_line,
    loss_line,
    step_line,
    zero_grad_line,
)
from .updates import ParamUpdate, parameter_updates, update_rule

SECOND_BACKWARD_FREED = (
    "The first loss.backward() ran without retain_graph=True, so PyTorch freed what every node "
    "had saved for computing gradients (the inputs of each matrix multiply, the outputs of "
    "tanh...) as soon as it used them. A second backward through the same graph would need "
    "them again, so PyTorch refuses. Turn on retain_graph to keep them (at the cost of "
    "memory), or run the forward pass again to build a fresh graph."
)
SECOND_BACKWARD_RETAINED = (
    "retain_graph=True kept every node's saved tensors, so the same graph ran a second time. "
    "backward() adds into .grad instead of replacing it, so each gradient is now the sum of "
    "both passes: twice the first."
)
SKIPPED_ZERO_GRAD = (
    "skip_zero_grad is on. backward() adds into .grad instead of replacing it, so this "
    "iteration's gradients will be added to the ones already there."
)
ACCUMULATED = (
    ".grad was not cleared before this backward, so the new gradients were added to the old "
    "ones: .grad now holds their sum."
)
_FAILURE_HINTS = {
    ZERO_GRAD: "The optimizer could not clear the gradients.",
    FORWARD: "The model could not run on this batch. Most often its first layer's input size "
             "does not match the number of features in the data.",
    LOSS: "The loss function could not compare the outputs with the labels: their shapes or "
          "types do not fit this loss (cross-entropy wants class indices, MSE wants targets "
          "shaped like the outputs).",
    BACKWARD: "backward() needs a loss that is a single number and depends on trainable parameters.",
    STEP: "The optimizer could not update the parameters.",
}
_STAYS = " The walkthrough stays on this line; reset to start over."


class Position(NamedTuple):
    iteration: int  # counted from 1
    line: int  # index into `lines` of the line `advance()` runs next


@dataclass
class LineResult:
    """What one line did, and the state right after it."""

    index: int  # into `lines`
    text: str  # the code that ran (`loss.backward(retain_graph=True)` when retained)
    iteration: int
    change: str  # in words: "cleared .grad of 4 parameters", "loss = 0.6931"
    tape: Tape | None  # the iteration's tape: still growing until optimizer.step()
    steps: range  # this line's events on the tape
    grads: dict[str, torch.Tensor | None]  # copies, after the line
    params: dict[str, torch.Tensor]  # copies, after the line
    error: str | None = None  # the exception's message, exactly as PyTorch wrote it
    error_type: str | None = None
    explanation: str | None = None  # plain words, for errors and surprises
    loss: float | None = None  # on the loss line
    updates: list[ParamUpdate] | None = None  # on the step line

    @property
    def ok(self) -> bool:
        return self.error is None


def _resolve_loss(loss_fn):
    if isinstance(loss_fn, str):
        if loss_fn not in LOSSES:
            raise ValueError(f"loss_fn: expected one of {', '.join(LOSSES)} or a callable, got {loss_fn!r}")
        return LOSSES[loss_fn]()
    if not callable(loss_fn):
        raise ValueError(f"loss_fn: a {type(loss_fn).__name__} is not callable")
    return loss_fn


def _check_settings(model, optimizer_name: str, lr, momentum) -> None:
    if not isinstance(model, nn.Module):
        raise ValueError(f"model: expected a torch.nn.Module, got a {type(model).__name__}")
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError("model: has no trainable parameters (every parameter has requires_grad=False)")
    if optimizer_name not in OPTIMIZERS:
        raise ValueError(f"optimizer_name: expected one of {', '.join(OPTIMIZERS)}, got {optimizer_name!r}")
    for field, value in (("lr", lr), ("momentum", momentum)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise ValueError(f"{field}: expected a number >= 0, got {value!r}")
    if momentum and optimizer_name not in ("SGD", "RMSprop"):
        raise ValueError(f"momentum: {optimizer_name} has no momentum setting (its running moments do that job); use 0")


class TrainingWalkthrough:
    """A state machine over the five lines of the training loop.

    `lr=0` is allowed: the weights then stay put, so with `skip_zero_grad` and
    `repeat_batch` the second iteration's gradients are exactly twice the first's.
    `reset()` puts the model's weights and `.grad` back as they were at the start.
    """

    def __init__(self, model: nn.Module, batches, loss_fn, optimizer_name: str = "SGD", lr: float = 0.1,
                 momentum: float = 0.0, skip_zero_grad: bool = False, retain_graph: bool = False,
                 repeat_batch: bool = False, *, model_path: str = ""):
        _check_settings(model, optimizer_name, lr, momentum)
        self.model = model
        self.loss_fn = _resolve_loss(loss_fn)
        self.optimizer_name = optimizer_name
        self.lr = float(lr)
        self.momentum = float(momentum)
        self.lines: list[str] = list(LINES)
        self._model_path = model_path
        self._batches = BatchSource(batches)
        self._skip_zero_grad = bool(skip_zero_grad)
        self._retain_graph = bool(retain_graph)
        self._repeat_batch = bool(repeat_batch)
        self._initial_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self._initial_grads = self._grad_copies()
        self._optimizer = self._new_optimizer()
        self._iteration, self._line = 1, ZERO_GRAD
        self._recording: RecordingThread | None = None
        self._finalizer = None
        self._tape: Tape | None = None
        self._batch: tuple[torch.Tensor, torch.Tensor] | None = None
        self._outputs = None
        self._loss = None

    # -- state ---------------------------------------------------------------------------
    @property
    def position(self) -> Position:
        return Position(self._iteration, self._line)

    @property
    def tape(self) -> Tape | None:
        """The tape of the iteration in progress, else of the last one; None after reset."""
        return self._tape

    @property
    def batch(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """This iteration's (images, labels)."""
        return self._batch

    @property
    def optimizer(self) -> torch.optim.Optimizer:
        return self._optimizer

    @property
    def between_iterations(self) -> bool:
        """The toggles can change now (the next line is zero_grad)."""
        return self._line == ZERO_GRAD

    @property
    def can_backward_again(self) -> bool:
        """After loss.backward() and before optimizer.step()."""
        return self._line == STEP and self._loss is not None

    def _set_toggle(self, field: str, value) -> None:
        value = bool(value)
        if value == getattr(self, f"_{field}"):
            return
        if not self.between_iterations:
            raise ValueError(f"{field}: can change only between iterations; iteration {self._iteration} "
                             f"is at line {self._line + 1} ({self.lines[self._line]})")
        setattr(self, f"_{field}", value)

    @property
    def skip_zero_grad(self) -> bool:
        return self._skip_zero_grad

    @skip_zero_grad.setter
    def skip_zero_grad(self, value: bool) -> None:
        self._set_toggle("skip_zero_grad", value)

    @property
    def retain_graph(self) -> bool:
        return self._retain_graph

    @retain_graph.setter
    def retain_graph(self, value: bool) -> None:
        self._set_toggle("retain_graph", value)

    @property
    def repeat_batch(self) -> bool:
        return self._repeat_batch

    @repeat_batch.setter
    def repeat_batch(self, value: bool) -> None:
        self._set_toggle("repeat_batch", value)

    # -- moving on -------------------------------------------------------------------------
    def advance(self) -> LineResult:
        """Run the next line for real. A line that raises is reported in the result (the
        position stays), never raised."""
        k = self._line
        run = (self._zero_grad, self._forward, self._compute_loss, self._backward, self._step)[k]
        try:
            return run()
        except LineError as err:
            return self._result(k, f"{self.lines[k]} raised {err.kind}; nothing moved on",
                                getattr(err, "steps", None), error=err.message, error_type=err.kind,
                                explanation=_FAILURE_HINTS[k] + _STAYS)

    def backward_again(self) -> LineResult:
        """Call loss.backward() a second time on this iteration's graph: PyTorch's own error
        when the graph was freed, doubled gradients when it was retained."""
        if not self.can_backward_again:
            raise RuntimeError("backward_again: only between loss.backward() and optimizer.step(); "
                               f"iteration {self._iteration} is before line {self._line + 1} "
                               f"({self.lines[self._line]})")
        try:
            _, steps = self._run(backward_line, self._loss, self._retain_graph)
        except LineError as err:
            freed = "second time" in err.message
            return self._result(BACKWARD, "backward again: refused by PyTorch; .grad unchanged",
                                getattr(err, "steps", None), error=err.message, error_type=err.kind,
                                explanation=SECOND_BACKWARD_FREED if freed else _FAILURE_HINTS[BACKWARD])
        change = "backward again: " + self._backward_change(steps, accumulated=True)
        return self._result(BACKWARD, change, steps, explanation=SECOND_BACKWARD_RETAINED)

    def close(self) -> None:
        """Abandon the iteration in progress: its tape ends as it stands and its graph is let
        go. The model keeps its weights; the next `advance()` starts the iteration again."""
        self._stop_recording()
        self._outputs = self._loss = None
        self._line = ZERO_GRAD

    def reset(self) -> None:
        """Back to iteration 1, line 1, with the weights, `.grad` and optimizer state as they
        were when the walkthrough began. No autograd graph stays alive."""
        self.close()
        self.model.load_state_dict(self._initial_state)
        for name, p in self.model.named_parameters():
            g = self._initial_grads.get(name)
            p.grad = None if g is None else g.clone()
        self._optimizer = self._new_optimizer()
        self._batches.restart()
        self._batch = None
        self._tape = None
        self._iteration = 1

    # -- the five lines --------------------------------------------------------------------
    def _zero_grad(self) -> LineResult:
        if self._recording is None:
            if not (self._repeat_batch and self._batch is not None):
                try:
                    images, labels = self._batches.next()
                except ValueError as exc:
                    return self._result(ZERO_GRAD, "no batch to train on", None, error=str(exc),
                                        error_type="ValueError", explanation="The data ran out or is malformed.")
                device = next(self.model.parameters()).device
                self._batch = (images.to(device), labels.to(device))
            self._start_recording()
        had = sum(p.grad is not None for p in self._trainable())
        if self._skip_zero_grad:
            steps = range(len(self._tape.events), len(self._tape.events))
            change = (f"skipped: .grad of {had} parameters kept; the next backward adds to them" if had
                      else "skipped: no parameter has a .grad yet")
            explanation = SKIPPED_ZERO_GRAD
        else:
            _, steps = self._run(zero_grad_line, self._optimizer)
            change = f"cleared .grad of {had} parameters" if had else "nothing to clear: no parameter has a .grad yet"
            explanation = None
        self._line = FORWARD
        return self._result(ZERO_GRAD, change, steps, explanation=explanation)

    def _forward(self) -> LineResult:
        outputs, steps = self._run(forward_line, self.model, self._batch[0])
        self._outputs = outputs
        ops, accumulate = created_nodes(self._tape, steps)
        change = f"forward: {ops} autograd nodes created"
        if accumulate:
            change += f" (+{accumulate} AccumulateGrad for parameters)"
        if isinstance(outputs, torch.Tensor):
            change += f"; outputs {shape_text(outputs.shape)}"
        self._line = LOSS
        return self._result(FORWARD, change, steps)

    def _compute_loss(self) -> LineResult:
        loss, steps = self._run(loss_line, self.loss_fn, self._outputs, self._batch[1])
        self._loss = loss
        value = None
        if isinstance(loss, torch.Tensor) and loss.numel() == 1:
            value = float(loss.detach())
            change = f"loss = {value:.4f}"
        elif isinstance(loss, torch.Tensor):
            change = f"loss: a tensor of shape {shape_text(loss.shape)}, not one number (backward needs one)"
        else:
            change = f"loss: a {type(loss).__name__}, not a tensor"
        ops, _ = created_nodes(self._tape, steps)
        change += f" ({ops} autograd nodes created)"
        self._line = BACKWARD
        return self._result(LOSS, change, steps, loss=value)

    def _backward(self) -> LineResult:
        accumulated = any(p.grad is not None for p in self._trainable())
        _, steps = self._run(backward_line, self._loss, self._retain_graph)
        change = "backward: " + self._backward_change(steps, accumulated)
        self._line = STEP
        return self._result(BACKWARD, change, steps, explanation=ACCUMULATED if accumulated else None)

    def _step(self) -> LineResult:
        trainable = {n for n, p in self.model.named_parameters() if p.requires_grad}
        before = {n: t for n, t in self._param_copies().items() if n in trainable}
        grads = {n: g for n, g in self._grad_copies().items() if n in trainable}
        _, steps = self._run(step_line, self._optimizer)
        self._stop_recording()
        after = {n: t for n, t in self._param_copies().items() if n in trainable}
        updates = parameter_updates(before, grads, after, self.optimizer_name, self.lr, self.momentum)
        moved = sum(u.max_abs_delta > 0 for u in updates)
        count = f"{moved}" if moved == len(updates) else f"{moved} of {len(updates)}"
        change = f"step: {count} parameters updated"
        if moved:
            change += f"; largest change {max(u.max_abs_delta for u in updates):.3g}"
        if self.optimizer_name == "SGD" and self.momentum == 0:
            change += f" ({update_rule('SGD', self.lr)})"
        result = self._result(STEP, change, steps, updates=updates)
        self._outputs = self._loss = None
        self._iteration += 1
        self._line = ZERO_GRAD
        return result

    # -- helpers -----------------------------------------------------------------------------
    def _backward_change(self, steps: range, accumulated: bool) -> str:
        ran = nodes_ran(self._tape, steps)
        filled = sum(p.grad is not None for p in self._trainable())
        grads = (f".grad accumulated for {filled} parameters (added to the old values)" if accumulated
                 else f".grad filled for {filled} parameters")
        if self._retain_graph:
            graph = "graph kept (retain_graph=True: saved tensors stay for another backward)"
        else:
            graph = f"graph freed (saved tensors released: {format_bytes(saved_bytes(self._tape, ran))})"
        return f"{len(ran)} nodes ran; {grads}; {graph}"

    def _run(self, fn, *args):
        """fn(*args) on the recording thread; the events it made, as a range."""
        tape = self._tape
        start = len(tape.events)
        try:
            value = self._recording.call(fn, *args)
        except LineError as err:
            err.steps = range(start, len(tape.events))
            raise
        return value, range(start, len(tape.events))

    def _start_recording(self) -> None:
        rec = RecordingThread(self.model, self._model_path)
        self._recording = rec
        self._finalizer = weakref.finalize(self, rec.close)  # a dropped walkthrough ends its recording
        self._tape = rec.tape

    def _stop_recording(self) -> None:
        rec, self._recording = self._recording, None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if rec is not None:
            rec.close()

    def _new_optimizer(self) -> torch.optim.Optimizer:
        config = TrainConfig(optimizer=self.optimizer_name, lr=self.lr, momentum=self.momentum)
        return make_optimizer(self._trainable(), config)

    def _trainable(self) -> list[torch.nn.Parameter]:
        return [p for p in self.model.parameters() if p.requires_grad]

    def _param_copies(self) -> dict[str, torch.Tensor]:
        return {n: p.detach().clone() for n, p in self.model.named_parameters()}

    def _grad_copies(self) -> dict[str, torch.Tensor | None]:
        return {n: None if p.grad is None else p.grad.detach().clone() for n, p in self.model.named_parameters()}

    def _result(self, index: int, change: str, steps: range | None, **extra) -> LineResult:
        text = self.lines[index]
        if index == BACKWARD and self._retain_graph:
            text = "loss.backward(retain_graph=True)"
        if steps is None:
            n = len(self._tape.events) if self._tape is not None else 0
            steps = range(n, n)
        return LineResult(index=index, text=text, iteration=self._iteration, change=change, tape=self._tape,
                          steps=steps, grads=self._grad_copies(), params=self._param_copies(), **extra)
