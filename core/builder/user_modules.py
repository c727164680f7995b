"""The user's own nn.Module classes as palette entries.

After a script ran (or a model file was opened), its classes are live objects; their
constructor parameters become typed arguments (from defaults and annotations), and the
source that defines them travels with the generated code.
"""

from __future__ import annotations

import ast
import inspect

from torch import nn

from .palette import ArgSpec, ModuleKind, set_user_kinds

_GUESS = 16  # a required argument without a default or annotation: a plausible width


def _arg_from_parameter(p: inspect.Parameter) -> ArgSpec | None:
    default = p.default
    annotation = p.annotation if p.annotation is not inspect.Parameter.empty else None
    if default is inspect.Parameter.empty:
        name = getattr(annotation, "__name__", str(annotation) if annotation is not None else "")
        kind = {"bool": "bool", "float": "float", "str": "str"}.get(name, "int")
        value = {"bool": False, "float": 1.0, "str": "", "int": _GUESS}[kind]
        return ArgSpec(p.name, kind, value, minimum=1 if kind == "int" else None)
    if isinstance(default, bool):
        return ArgSpec(p.name, "bool", default)
    if isinstance(default, int):
        return ArgSpec(p.name, "int", default)
    if isinstance(default, float):
        return ArgSpec(p.name, "float", default)
    if isinstance(default, str):
        return ArgSpec(p.name, "str", default)
    if isinstance(default, (tuple, list)) and default and all(isinstance(v, int) for v in default):
        return ArgSpec(p.name, "ints", tuple(default))
    if default is None:
        return ArgSpec(p.name, "ints", None, optional=True)
    return None  # a default the builder cannot edit: the class's own default applies


def _definitions(source: str, names: set[str]) -> str:
    """Imports and the given classes (with the classes they derive from), in file order."""
    tree = ast.parse(source)
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    wanted, stack = set(), list(names)
    while stack:  # bring along local base classes
        name = stack.pop()
        if name in classes and name not in wanted:
            wanted.add(name)
            stack += [b.id for b in classes[name].bases if isinstance(b, ast.Name)]
    parts = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)) or (isinstance(node, ast.ClassDef) and node.name in wanted):
            parts.append(ast.get_source_segment(source, node))
    return "\n\n".join(p for p in parts if p)


def user_kinds(namespace: dict, source: str) -> list[ModuleKind]:
    """Palette entries for the nn.Module classes a script defined (its namespace after a run)."""
    classes = {
        name: obj for name, obj in namespace.items()
        if isinstance(obj, type) and issubclass(obj, nn.Module) and obj.__module__ == namespace.get("__name__")
    }
    if not classes:
        return []
    try:
        definition = _definitions(source, set(classes))
    except SyntaxError:
        return []
    kinds = []
    for name, cls in classes.items():
        try:
            params = list(inspect.signature(cls.__init__).parameters.values())[1:]
        except (TypeError, ValueError):
            continue
        params = [p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        args = tuple(a for a in map(_arg_from_parameter, params) if a is not None)
        kinds.append(ModuleKind(name, "", cls, args, doc=(cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else "",
                                definition=definition))
    return kinds


def register_user_modules(namespace: dict, source: str) -> list[str]:
    """Put the script's classes in the palette (replacing the previous script's); their names."""
    kinds = user_kinds(namespace, source)
    set_user_kinds(kinds)
    return [k.name for k in kinds]
