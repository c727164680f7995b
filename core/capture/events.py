"""The events a tape holds, forward calls first, then backward passes.

Events are plain data: they reference autograd nodes and leaves by stable string ids
(`n12`, `l3`), never by Python object, so a tape outlives the graph it recorded.

The recorder builds call and backward events with positional arguments (hundreds per step,
and keywords cost more): add new fields at the end of a class.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .snapshot import TensorSnapshot
from .source import SourceLocation


@dataclass
class InputRef:
    """A tensor argument of a call: where it came from (node or leaf id, or None) and its shape."""

    source: str | None
    shape: tuple
    requires_grad: bool


@dataclass
class Event:
    index: int
    kind: str  # "call", "backward_start", "backward_node", "leaf_grad", "backward_end", "error"

    @property
    def is_backward(self) -> bool:
        return self.kind.startswith("backward") or self.kind == "leaf_grad"


@dataclass
class CallEvent(Event):
    """One torch call made by the user's code, and the autograd nodes it created."""

    op: str = ""
    qualname: str = ""
    nodes: list[str] = field(default_factory=list)
    inputs: list[InputRef] = field(default_factory=list)
    outputs: list[TensorSnapshot] = field(default_factory=list)
    output_nodes: list[str | None] = field(default_factory=list)  # grad_fn of each output
    module: str | None = None  # module path, "" for the recorded model itself, None outside modules
    module_calls: tuple[int, ...] = ()  # ids into Tape.module_calls, outermost first
    source: SourceLocation | None = None
    control_flow: bool = False  # the result steered Python (`if t:`, `t.item()`, `len(t)`)
    grad_enabled: bool = True


@dataclass
class BackwardStartEvent(Event):
    pass_index: int = 0
    api: str = ""  # "Tensor.backward", "torch.autograd.backward", "torch.autograd.grad"
    roots: list[str] = field(default_factory=list)
    retain_graph: bool = False
    create_graph: bool = False
    source: SourceLocation | None = None


@dataclass
class BackwardNodeEvent(Event):
    """Autograd ran one node: the gradients it received (w.r.t. its forward outputs) and sent on."""

    pass_index: int = 0
    node: str = ""
    grads_received: list[TensorSnapshot | None] = field(default_factory=list)
    grads_sent: list[TensorSnapshot | None] = field(default_factory=list)
    # slots whose sent gradient is not stored here: it is the producer's grads_received
    sent_as_received: frozenset = frozenset()


@dataclass
class LeafGradEvent(Event):
    """A leaf's `.grad` right after autograd accumulated into it."""

    pass_index: int = 0
    leaf: str = ""
    node: str | None = None  # the AccumulateGrad node
    grad: TensorSnapshot | None = None


@dataclass
class BackwardEndEvent(Event):
    pass_index: int = 0
    ok: bool = True
    error: str | None = None
    freed: bool = False  # saved tensors released (no retain_graph)
    returned: list[TensorSnapshot | None] = field(default_factory=list)  # torch.autograd.grad results


@dataclass
class ErrorEvent(Event):
    """The user's code raised; the tape ends here."""

    exc_type: str = ""
    message: str = ""
    source: SourceLocation | None = None


@dataclass
class ModuleCall:
    """One invocation of an nn.Module's forward."""

    id: int
    path: str
    class_name: str
    parent: int | None
    start_event: int  # index of the first event inside the call
    end_event: int | None = None  # index of the first event after it returned
