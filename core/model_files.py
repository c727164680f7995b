"""Finding models in a Python file without running it, then building one when asked.

`find_models` reads the file's syntax tree: classes that derive from `nn.Module` (directly,
through a torch.nn class, or through another class of the file) and functions that return
one of them, each with its constructor parameters. Nothing runs until `instantiate`, which
executes the file: the app asks the user first, since a file can contain any code.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import torch
from torch import nn

from .capture import register_source


@dataclass
class Parameter:
    name: str
    default: str | None  # source text of the default, None when required
    annotation: str | None = None


@dataclass
class ModelCandidate:
    name: str
    kind: str  # "class" or "function"
    lineno: int
    parameters: list[Parameter] = field(default_factory=list)
    doc: str = ""

    @property
    def required(self) -> list[str]:
        return [p.name for p in self.parameters if p.default is None]


_TORCH_MODULE_NAMES = {name for name in dir(nn) if isinstance(getattr(nn, name), type)
                       and issubclass(getattr(nn, name), nn.Module)}


def find_models(source: str) -> list[ModelCandidate]:
    """The nn.Module classes and model-building functions a file defines, in file order.

    Raises SyntaxError (with its line) when the file does not parse.
    """
    tree = ast.parse(source)
    modules: set[str] = set()
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    changed = True
    while changed:  # classes can derive from classes defined further down
        changed = False
        for c in classes:
            if c.name not in modules and any(_is_module_base(b, modules) for b in c.bases):
                modules.add(c.name)
                changed = True
    out = [
        ModelCandidate(c.name, "class", c.lineno, _parameters(_init_of(c), skip_self=True), ast.get_docstring(c) or "")
        for c in classes if c.name in modules
    ]
    for fn in tree.body:
        if isinstance(fn, ast.FunctionDef) and _returns_module(fn, modules):
            out.append(ModelCandidate(fn.name, "function", fn.lineno, _parameters(fn), ast.get_docstring(fn) or ""))
    return sorted(out, key=lambda c: c.lineno)


def _base_name(node) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _is_module_base(node, local: set[str]) -> bool:
    name = _base_name(node)
    return name is not None and (name in local or name in _TORCH_MODULE_NAMES)


def _init_of(cls: ast.ClassDef):
    return next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)


def _parameters(fn, skip_self: bool = False) -> list[Parameter]:
    if fn is None:
        return []
    args = fn.args
    positional = args.posonlyargs + args.args
    if skip_self and positional:
        positional = positional[1:]
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    out = [Parameter(a.arg, None if d is None else ast.unparse(d), ast.unparse(a.annotation) if a.annotation else None)
           for a, d in zip(positional, defaults)]
    for a, d in zip(args.kwonlyargs, args.kw_defaults):
        out.append(Parameter(a.arg, None if d is None else ast.unparse(d), ast.unparse(a.annotation) if a.annotation else None))
    return out


def _returns_module(fn: ast.FunctionDef, modules: set[str]) -> bool:
    ann = ast.unparse(fn.returns) if fn.returns else ""
    if "Module" in ann or any(m in ann for m in modules):
        return True
    for node in ast.walk(fn):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Call):
            name = _base_name(node.value.func)
            if name in modules or name in _TORCH_MODULE_NAMES:
                return True
    return False


def load_namespace(source: str, filename: str) -> dict:
    """Run the file (the caller has the user's consent); its globals."""
    register_source(filename, source)
    namespace = {"__name__": "gradstudio_model_file", "__file__": filename}
    exec(compile(source, filename, "exec"), namespace)
    return namespace


def instantiate(source: str, filename: str, name: str, kwargs: dict, namespace: dict | None = None) -> nn.Module:
    """Build `name(**kwargs)` from the file (run now unless its `namespace` is given)."""
    namespace = namespace if namespace is not None else load_namespace(source, filename)
    factory = namespace.get(name)
    if factory is None:
        raise LookupError(f"{filename} defines no {name!r}")
    model = factory(**kwargs)
    if not isinstance(model, nn.Module):
        raise TypeError(f"{name}(...) returned {type(model).__name__}, not an nn.Module")
    return model


def guess_input(model: nn.Module) -> torch.Tensor | None:
    """A plausible example input from the model's first layer, or None if it cannot tell
    (then the app asks for a shape)."""
    first = next((m for m in model.modules() if not list(m.children()) and list(m.parameters(recurse=False))), None)
    if isinstance(first, nn.Linear):
        return torch.randn(2, first.in_features)
    if isinstance(first, nn.Conv2d):
        return torch.randn(2, first.in_channels, 32, 32)
    if isinstance(first, nn.Conv1d):
        return torch.randn(2, first.in_channels, 32)
    if isinstance(first, nn.Embedding):
        return torch.randint(0, first.num_embeddings, (2, 8))
    if isinstance(first, (nn.RNN, nn.LSTM, nn.GRU)):
        shape = (2, 8, first.input_size) if first.batch_first else (8, 2, first.input_size)
        return torch.randn(shape)
    if isinstance(first, nn.RNNCellBase):
        return torch.randn(2, first.input_size)
    return None
