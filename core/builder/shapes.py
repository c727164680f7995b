"""Shapes as you build: run a dummy input through the model on the meta device (no memory,
no compute) and report each module's output shape and parameters, or say in words which
layer does not fit and why."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from .layers import count_parameters
from .spec import ModuleSpec


@dataclass
class NodeShape:
    path: str  # "model", "model.children[2]"…
    kind: str
    input_shape: tuple | None = None
    output_shape: tuple | None = None
    trainable: int = 0
    frozen: int = 0


@dataclass
class ShapeReport:
    nodes: dict[str, NodeShape] = field(default_factory=dict)
    error: "ShapeMismatch | None" = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class ShapeMismatch:
    path: str
    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def batch_shape(shape) -> str:
    """[N, 32]: the batch dimension as N, as people write it."""
    dims = ["N", *map(str, shape[1:])] if shape else []
    return "[" + ", ".join(dims) + "]"


def infer_shapes(spec: ModuleSpec, input_shape: tuple, dtype: torch.dtype | None = None) -> ShapeReport:
    """Output shape and parameter count of every module in `spec` for an input of `input_shape`."""
    spec.validate()
    report = ShapeReport()
    try:
        with torch.device("meta"):
            model = spec._build(top=True)
    except Exception as exc:  # arguments valid one by one, refused together (embed_dim % num_heads)
        path, kind = _unbuildable(spec)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        report.error = ShapeMismatch(path, kind, f"{kind} cannot be made with these arguments: {first}")
        return report
    paths = _paths(spec, model)
    for module, (path, kind) in paths.items():
        trainable, frozen = count_parameters(module)
        report.nodes[path] = NodeShape(path, kind, trainable=trainable, frozen=frozen)
    stack: list[nn.Module] = []
    previous: list[tuple] = []  # output shapes in the order modules finished

    def pre(module, args):
        if module in paths and args and isinstance(args[0], torch.Tensor):
            report.nodes[paths[module][0]].input_shape = tuple(args[0].shape)
        stack.append(module)

    def post(module, args, output):
        stack.pop()
        if module in paths and isinstance(output, torch.Tensor):
            report.nodes[paths[module][0]].output_shape = tuple(output.shape)
            previous.append(tuple(output.shape))

    handles = []
    for module in paths:
        handles.append(module.register_forward_pre_hook(pre))
        handles.append(module.register_forward_hook(post))
    if dtype is None:
        dtype = torch.long if _first_leaf(spec).kind == "Embedding" else torch.float32
    x = torch.empty(input_shape, device="meta", dtype=dtype)
    try:
        with torch.no_grad():
            model(x)
    except Exception as exc:  # the culprit is the innermost module still running
        culprit = next((m for m in reversed(stack) if m in paths and not _is_container(paths[m][1])), None)
        culprit = culprit or (stack[-1] if stack else model)
        path, kind = paths.get(culprit, ("model", spec.kind))
        got = report.nodes[path].input_shape if path in report.nodes else None
        report.error = ShapeMismatch(path, kind, _explain(culprit, kind, got, previous, exc))
    finally:
        for h in handles:
            h.remove()
    return report


def _unbuildable(spec: ModuleSpec, path: str = "model") -> tuple[str, str]:
    """The first module in the tree that cannot be constructed on its own."""
    for i, child in enumerate(spec.children):
        try:
            with torch.device("meta"):
                child._build()
        except Exception:
            return _unbuildable(child, f"{path}.children[{i}]")
    return path, spec.kind


def _paths(spec: ModuleSpec, module: nn.Module, path: str = "model") -> dict:
    out = {module: (path, spec.kind)}
    if spec.kind == "Sequential":
        for i, (child_spec, child) in enumerate(zip(spec.children, module.children())):
            out |= _paths(child_spec, child, f"{path}.children[{i}]")
    elif spec.children:
        body = module.body if hasattr(module, "body") else module.blocks[0]
        out |= _paths(spec.children[0], body, f"{path}.children[0]")
    return out


def _is_container(kind: str) -> bool:
    return kind in ("Sequential", "Residual", "Repeat")


def _first_leaf(spec: ModuleSpec) -> ModuleSpec:
    while spec.children:
        spec = spec.children[0]
    return spec


def _explain(module: nn.Module, kind: str, got: tuple | None, previous: list, exc: Exception) -> str:
    before = f" — the previous layer outputs {batch_shape(previous[-1])}" if previous else (
        f" — the model's input is {batch_shape(got)}" if got else "")
    if kind == "Residual" and got is not None and previous and previous[-1] != got:
        return (f"Residual adds its input {batch_shape(got)} to its body's output {batch_shape(previous[-1])}: "
                "the body must keep the shape")
    inner = getattr(module, "bilinear", None) or getattr(module, "rnn", None) or module
    if got is not None and len(got) >= 1:
        if isinstance(inner, (nn.Linear, nn.Bilinear)):
            want = inner.in_features if isinstance(inner, nn.Linear) else inner.in1_features
            if got[-1] != want:
                return f"{kind}(in_features={want}) got an input with {got[-1]} features{before}"
        if isinstance(inner, nn.modules.conv._ConvNd) and len(got) >= 2 and got[1] != inner.in_channels:
            return f"{kind}(in_channels={inner.in_channels}) got an input with {got[1]} channels{before}"
        if isinstance(inner, nn.modules.batchnorm._BatchNorm) and len(got) >= 2 and got[1] != inner.num_features:
            return f"{kind}(num_features={inner.num_features}) got an input with {got[1]} channels{before}"
        if isinstance(inner, nn.RNNBase) and got[-1] != inner.input_size:
            return f"{kind}(input_size={inner.input_size}) got an input with {got[-1]} features{before}"
        if isinstance(inner, nn.LayerNorm) and tuple(got[-len(inner.normalized_shape):]) != inner.normalized_shape:
            return f"{kind}(normalized_shape={list(inner.normalized_shape)}) got an input of shape {batch_shape(got)}"
    shape = f" of shape {batch_shape(got)}" if got else ""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{kind} cannot take an input{shape}: {first}"
