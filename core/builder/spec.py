"""A model as data: a tree of module specs that validates, builds and round-trips as JSON.

Errors name the field by its path, e.g. `model.children[3].out_features: expected a
positive integer`, so a bad project file or a bad edit points at its cause.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

from .palette import KINDS


class SpecError(ValueError):
    """A spec field is wrong; `path` says which."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass
class ModuleSpec:
    kind: str
    args: dict = field(default_factory=dict)
    children: list["ModuleSpec"] = field(default_factory=list)
    name: str | None = None  # attribute name in the generated code (default: its position)

    @classmethod
    def of(cls, kind: str, *children: "ModuleSpec", name: str | None = None, **args) -> "ModuleSpec":
        """`ModuleSpec.of("Linear", in_features=4, out_features=2)`; omitted args take defaults."""
        if kind not in KINDS:
            raise SpecError("kind", f"unknown module {kind!r}")
        full = KINDS[kind].default_args() | args
        return cls(kind, full, list(children), name)

    # -- validation ------------------------------------------------------------------
    def validate(self, path: str = "model") -> None:
        kind = KINDS.get(self.kind) if isinstance(self.kind, str) else None
        if kind is None:
            raise SpecError(f"{path}.kind", f"unknown module {self.kind!r}")
        known = {a.name: a for a in kind.args}
        for name in self.args:
            if name not in known:
                raise SpecError(f"{path}.{name}", f"{self.kind} has no argument {name!r}")
        for arg in kind.args:
            problem = arg.check(self.args.get(arg.name, arg.default))
            if problem:
                raise SpecError(f"{path}.{arg.name}", problem)
        if self.children and not kind.container:
            raise SpecError(f"{path}.children", f"{self.kind} cannot hold other modules")
        if kind.container and self.kind != "Sequential" and len(self.children) != 1:
            raise SpecError(f"{path}.children", f"{self.kind} holds exactly one body (a Sequential for several)")
        if self.name is not None and not (isinstance(self.name, str) and self.name.isidentifier()):
            raise SpecError(f"{path}.name", "expected a Python identifier")
        for i, child in enumerate(self.children):
            if not isinstance(child, ModuleSpec):
                raise SpecError(f"{path}.children[{i}]", "expected a module")
            child.validate(f"{path}.children[{i}]")

    # -- building --------------------------------------------------------------------
    def build(self) -> nn.Module:
        """The nn.Module this spec describes (validated first)."""
        self.validate()
        return self._build(top=True)

    def top_names(self) -> list[str]:
        """Attribute names of a top-level Sequential's children, as the generated `class Net`
        has them: a child's own name, else its kind numbered (`linear1`, `relu1`, `linear2`)."""
        taken = {c.name for c in self.children if c.name}
        counts: dict[str, int] = {}
        names = []
        for child in self.children:
            if child.name:
                names.append(child.name)
                continue
            base = child.kind.lower()
            while True:
                counts[base] = counts.get(base, 0) + 1
                name = f"{base}{counts[base]}"
                if name not in taken:
                    break
            taken.add(name)
            names.append(name)
        return names

    def _build(self, top: bool = False) -> nn.Module:
        kind = KINDS[self.kind]
        args = kind.default_args() | self.args
        args = {k: tuple(v) if isinstance(v, list) else v for k, v in args.items()}
        if self.kind == "Sequential":
            seq = nn.Sequential()
            names = self.top_names() if top else [str(i) for i in range(len(self.children))]
            for name, child in zip(names, self.children):
                seq.add_module(name, child._build())
            return seq
        if kind.container:
            return kind.make(self.children[0]._build(), **args)
        return kind.make(**args)

    # -- files -----------------------------------------------------------------------
    def to_dict(self) -> dict:
        out: dict = {"kind": self.kind, "args": dict(self.args)}
        if self.children:
            out["children"] = [c.to_dict() for c in self.children]
        if self.name:
            out["name"] = self.name
        return out

    @classmethod
    def from_dict(cls, data, path: str = "model") -> "ModuleSpec":
        """Parse and validate; the first bad field raises SpecError naming it."""
        spec = cls._parse(data, path)
        spec.validate(path)
        return spec

    @classmethod
    def _parse(cls, data, path: str) -> "ModuleSpec":
        if not isinstance(data, dict):
            raise SpecError(path, "expected an object with a 'kind'")
        unknown = set(data) - {"kind", "args", "children", "name"}
        if unknown:
            raise SpecError(f"{path}.{sorted(unknown)[0]}", "unknown field")
        kind = data.get("kind")
        if not isinstance(kind, str) or kind not in KINDS:
            raise SpecError(f"{path}.kind", f"unknown module {kind!r}")
        args = data.get("args", {})
        if not isinstance(args, dict):
            raise SpecError(f"{path}.args", "expected an object of argument values")
        children = data.get("children", [])
        if not isinstance(children, list):
            raise SpecError(f"{path}.children", "expected a list of modules")
        kids = [cls._parse(c, f"{path}.children[{i}]") for i, c in enumerate(children)]
        return cls(kind, dict(args), kids, data.get("name"))
