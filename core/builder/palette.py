"""The builder's palette: which torch.nn modules it offers, grouped by kind, with typed
constructor arguments (defaults chosen so every entry builds as it is)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

from torch import nn

from ..examples import Power
from .layers import BilinearSelf, Repeat, Residual, SelfAttention, SequenceOutput


@dataclass(frozen=True)
class ArgSpec:
    """One constructor argument: its type decides the editor and the validation."""

    name: str
    type: str  # "int", "float", "bool", "str", "ints" (an int or a tuple of ints), "choice"
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple = ()
    optional: bool = False  # None allowed

    def check(self, value) -> str | None:
        """Why `value` is not acceptable, or None."""
        if value is None:
            return None if self.optional else "expected a value, got nothing"
        if self.type == "bool":
            return None if isinstance(value, bool) else "expected true or false"
        if self.type == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                return "expected an integer"
            return self._range(value, "integer")
        if self.type == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return "expected a number"
            return self._range(value, "number")
        if self.type == "ints":
            items = value if isinstance(value, (list, tuple)) else [value]
            if not items or any(isinstance(v, bool) or not isinstance(v, int) for v in items):
                return "expected an integer or a list of integers"
            return next((self._range(v, "integer") for v in items if self._range(v, "integer")), None)
        if self.type == "choice":
            return None if value in self.choices else f"expected one of {', '.join(map(str, self.choices))}"
        if self.type == "str":
            return None if isinstance(value, str) else "expected text"
        return f"unknown argument type {self.type!r}"

    def _range(self, value, what: str) -> str | None:
        if self.minimum is not None and value < self.minimum:
            if self.minimum == 1 and what == "integer":
                return "expected a positive integer"
            return f"expected a {what} >= {self.minimum:g}"
        if self.maximum is not None and value > self.maximum:
            return f"expected a {what} <= {self.maximum:g}"
        return None


@dataclass(frozen=True)
class ModuleKind:
    name: str
    group: str
    make: Callable[..., nn.Module]
    args: tuple[ArgSpec, ...] = ()
    container: bool = False  # holds child specs: Sequential, Residual, Repeat
    doc: str = ""
    example_input: tuple = (2, 16)  # an input shape the default arguments accept
    definition: str = ""  # for the user's own modules: the source that defines them (for codegen)

    def default_args(self) -> dict:
        return {a.name: a.default for a in self.args}


def _int(name, default, minimum=1, **kw):
    return ArgSpec(name, "int", default, minimum=minimum, **kw)


def _rnn(cls):
    def make(input_size, hidden_size, num_layers, bidirectional):
        return SequenceOutput(cls(input_size, hidden_size, num_layers, batch_first=True, bidirectional=bidirectional))

    return make


_RNN_ARGS = (_int("input_size", 16), _int("hidden_size", 16), _int("num_layers", 1),
             ArgSpec("bidirectional", "bool", False))
_ACTIVATION_INPLACE = (ArgSpec("inplace", "bool", False),)

KINDS: dict[str, ModuleKind] = {k.name: k for k in [
    ModuleKind("Linear", "Linear", nn.Linear, (_int("in_features", 16), _int("out_features", 16), ArgSpec("bias", "bool", True))),
    ModuleKind("Bilinear", "Linear", lambda in_features, out_features, bias: BilinearSelf(
        nn.Bilinear(in_features, in_features, out_features, bias)),
        (_int("in_features", 16), _int("out_features", 16), ArgSpec("bias", "bool", True)),
        doc="Bilinear(x, x)"),
    ModuleKind("Conv1d", "Convolution", nn.Conv1d, (_int("in_channels", 3), _int("out_channels", 8),
               ArgSpec("kernel_size", "ints", 3, minimum=1), ArgSpec("stride", "ints", 1, minimum=1),
               ArgSpec("padding", "ints", 1, minimum=0), ArgSpec("bias", "bool", True))),
    ModuleKind("Conv2d", "Convolution", nn.Conv2d, (_int("in_channels", 3), _int("out_channels", 8),
               ArgSpec("kernel_size", "ints", 3, minimum=1), ArgSpec("stride", "ints", 1, minimum=1),
               ArgSpec("padding", "ints", 1, minimum=0), ArgSpec("bias", "bool", True))),
    ModuleKind("ConvTranspose2d", "Convolution", nn.ConvTranspose2d, (_int("in_channels", 8), _int("out_channels", 3),
               ArgSpec("kernel_size", "ints", 2, minimum=1), ArgSpec("stride", "ints", 2, minimum=1),
               ArgSpec("padding", "ints", 0, minimum=0))),
    ModuleKind("MaxPool2d", "Pooling", nn.MaxPool2d, (ArgSpec("kernel_size", "ints", 2, minimum=1),
               ArgSpec("stride", "ints", None, minimum=1, optional=True))),
    ModuleKind("AvgPool2d", "Pooling", nn.AvgPool2d, (ArgSpec("kernel_size", "ints", 2, minimum=1),
               ArgSpec("stride", "ints", None, minimum=1, optional=True))),
    ModuleKind("AdaptiveAvgPool2d", "Pooling", nn.AdaptiveAvgPool2d, (ArgSpec("output_size", "ints", 1, minimum=1),)),
    ModuleKind("BatchNorm1d", "Normalization", nn.BatchNorm1d, (_int("num_features", 16),)),
    ModuleKind("BatchNorm2d", "Normalization", nn.BatchNorm2d, (_int("num_features", 8),)),
    ModuleKind("LayerNorm", "Normalization", nn.LayerNorm, (ArgSpec("normalized_shape", "ints", 16, minimum=1),)),
    ModuleKind("Dropout", "Dropout", nn.Dropout, (ArgSpec("p", "float", 0.5, minimum=0.0, maximum=1.0),)),
    ModuleKind("Embedding", "Embedding", nn.Embedding, (_int("num_embeddings", 100), _int("embedding_dim", 16))),
    ModuleKind("RNN", "Recurrent", _rnn(nn.RNN), _RNN_ARGS, doc="batch first; returns the output sequence"),
    ModuleKind("LSTM", "Recurrent", _rnn(nn.LSTM), _RNN_ARGS, doc="batch first; returns the output sequence"),
    ModuleKind("GRU", "Recurrent", _rnn(nn.GRU), _RNN_ARGS, doc="batch first; returns the output sequence"),
    ModuleKind("MultiheadAttention", "Attention", lambda embed_dim, num_heads: SelfAttention(
        nn.MultiheadAttention(embed_dim, num_heads, batch_first=True)),
        (_int("embed_dim", 16), _int("num_heads", 2)), doc="self-attention, batch first"),
    ModuleKind("Flatten", "Reshape", nn.Flatten, (_int("start_dim", 1, minimum=None), _int("end_dim", -1, minimum=None))),
    ModuleKind("Unflatten", "Reshape", nn.Unflatten, (_int("dim", 1, minimum=None),
               ArgSpec("unflattened_size", "ints", (4, 4), minimum=1))),
    ModuleKind("ReLU", "Activation", nn.ReLU, _ACTIVATION_INPLACE),
    ModuleKind("LeakyReLU", "Activation", nn.LeakyReLU, (ArgSpec("negative_slope", "float", 0.01),) + _ACTIVATION_INPLACE),
    ModuleKind("GELU", "Activation", nn.GELU, (ArgSpec("approximate", "choice", "none", choices=("none", "tanh")),)),
    ModuleKind("Tanh", "Activation", nn.Tanh),
    ModuleKind("Sigmoid", "Activation", nn.Sigmoid),
    ModuleKind("Softmax", "Activation", nn.Softmax, (_int("dim", -1, minimum=None),)),
    ModuleKind("Power", "Seed examples", Power, (ArgSpec("exponent", "float", 3),), doc="input ** exponent"),
    ModuleKind("Sequential", "Containers", nn.Sequential, container=True),
    ModuleKind("Residual", "Containers", Residual, container=True, doc="x + body(x)"),
    ModuleKind("Repeat", "Containers", Repeat, (_int("times", 2), ArgSpec("shared", "bool", False)), container=True,
               doc="the body N times; shared weights or copies"),
]}

_EXAMPLE_INPUTS = {
    "Conv1d": (2, 3, 10), "Conv2d": (2, 3, 8, 8), "ConvTranspose2d": (2, 8, 4, 4), "MaxPool2d": (2, 3, 8, 8),
    "AvgPool2d": (2, 3, 8, 8), "AdaptiveAvgPool2d": (2, 3, 8, 8), "BatchNorm2d": (2, 8, 4, 4),
    "Embedding": (2, 5), "RNN": (2, 5, 16), "LSTM": (2, 5, 16), "GRU": (2, 5, 16), "MultiheadAttention": (2, 5, 16),
    "Flatten": (2, 3, 4), "Power": (3,),
}
KINDS = {name: replace(kind, example_input=_EXAMPLE_INPUTS.get(name, kind.example_input)) for name, kind in KINDS.items()}

GROUPS: dict[str, list[str]] = {}
USER_GROUP = "Your modules"


def _regroup() -> None:
    GROUPS.clear()
    for kind in KINDS.values():
        GROUPS.setdefault(kind.group, []).append(kind.name)


def set_user_kinds(kinds: list[ModuleKind]) -> None:
    """Replace the palette's "Your modules" group (the classes of the latest script or
    model file). Built-in names are never shadowed."""
    for name in [n for n, k in KINDS.items() if k.group == USER_GROUP]:
        del KINDS[name]
    for kind in kinds:
        if kind.name not in KINDS:
            KINDS[kind.name] = replace(kind, group=USER_GROUP)
    _regroup()


_regroup()
