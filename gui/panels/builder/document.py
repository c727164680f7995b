"""The model being built, as plain Python (no Qt): a spec tree and an input shape that
change only through a few operations, each returning how to undo it, so the panel's
undo stack and the tests drive the same code.

Modules are addressed by paths of child indices: the root is `[]`, the third child of
the root `[2]`, its first child `[2, 0]`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from psygnal import Signal

from gradstudio.core.builder import KINDS, ModuleSpec, ShapeMismatch, ShapeReport, SpecError, infer_shapes, python_source

DEFAULT_INPUT_SHAPE = (8, 4)


def default_spec() -> ModuleSpec:
    return ModuleSpec.of("Sequential", ModuleSpec.of("Linear", in_features=4, out_features=16), ModuleSpec.of("ReLU"),
                         ModuleSpec.of("Linear", in_features=16, out_features=2))


def new_spec(kind: str) -> ModuleSpec:
    """A palette entry as it is dropped: defaults, and an empty body for Residual and Repeat
    (they hold exactly one), so that it is valid at once."""
    spec = ModuleSpec.of(kind)
    if KINDS[kind].container and kind != "Sequential":
        spec.children.append(ModuleSpec.of("Sequential"))
    return spec


def path_text(path) -> str:
    """[2, 0] -> "model.children[2].children[0]", the paths of SpecError and ShapeReport."""
    return "model" + "".join(f".children[{i}]" for i in path)


def parse_path(text: str) -> list[int]:
    """The inverse of path_text."""
    return [int(part[len("children["):-1]) for part in text.split(".")[1:]]


@dataclass(frozen=True)
class Edit:
    """What one operation did: a label for the undo menu, the path it leaves selected
    (None: nothing), and the operation that reverts it, as (method name, arguments)."""

    text: str
    path: list | None
    inverse: tuple[str, tuple]


class BuilderDocument:
    """The root spec and the input shape; every change goes through an operation."""

    changed = Signal()
    """The spec or the input shape changed."""

    def __init__(self, root: ModuleSpec | None = None, input_shape: tuple = DEFAULT_INPUT_SHAPE):
        self._root = root if root is not None else default_spec()
        self._root.validate()
        self._input_shape = tuple(input_shape)
        self._shapes: ShapeReport | None = None
        self._code: str | None = None

    # -- reading -----------------------------------------------------------------------
    @property
    def root(self) -> ModuleSpec:
        return self._root

    @property
    def input_shape(self) -> tuple:
        return self._input_shape

    def at(self, path) -> ModuleSpec:
        spec = self._root
        for i in path:
            if not 0 <= i < len(spec.children):
                raise SpecError(path_text(path), "no such module")
            spec = spec.children[i]
        return spec

    def is_container(self, path) -> bool:
        return KINDS[self.at(path).kind].container

    def insertion_point(self, path) -> tuple[list, int]:
        """Where "add here" puts a module for a selected `path` (None: nothing selected):
        at the end of a Sequential, into the Sequential body of a Residual or Repeat, else
        right after the module."""
        if path is None:
            return [], len(self._root.children)
        path = list(path)
        spec = self.at(path)
        if spec.kind == "Sequential":
            return path, len(spec.children)
        if KINDS[spec.kind].container and spec.children and spec.children[0].kind == "Sequential":
            return [*path, 0], len(spec.children[0].children)
        if not path:
            return [], len(self._root.children)
        return path[:-1], path[-1] + 1

    def shapes(self) -> ShapeReport:
        """Every module's output shape and parameters for the input shape (cached)."""
        if self._shapes is None:
            try:
                self._shapes = infer_shapes(self._root, self._input_shape)
            except SpecError as exc:
                self._shapes = ShapeReport(error=ShapeMismatch(exc.path, "", exc.message))
            except Exception as exc:  # noqa: BLE001 - a shape torch refuses outright
                self._shapes = ShapeReport(error=ShapeMismatch("model", self._root.kind, str(exc)))
        return self._shapes

    def code(self) -> str:
        """The model as Python source defining `class Net`."""
        if self._code is None:
            self._code = python_source(self._root)
        return self._code

    # -- operations --------------------------------------------------------------------
    def apply(self, name: str, args: tuple) -> Edit:
        """Run an operation by name: how Edit.inverse (and the undo stack) replays one."""
        if name not in ("insert", "remove", "move", "duplicate", "set_arg", "set_input_shape", "replace_root"):
            raise ValueError(f"unknown operation {name!r}")
        return getattr(self, name)(*args)

    def insert(self, parent_path, index: int, spec: ModuleSpec) -> Edit:
        """Put a copy of `spec` at `index` among the children of the container at `parent_path`."""
        parent_path = list(parent_path)
        parent = self._container(parent_path)
        if parent.kind != "Sequential" and parent.children:
            raise SpecError(path_text(parent_path), f"{parent.kind} holds exactly one body: drop into that body")
        spec = copy.deepcopy(spec)
        spec.validate(path_text([*parent_path, index]))
        index = max(0, min(index, len(parent.children)))
        parent.children.insert(index, spec)
        path = [*parent_path, index]
        return self._done(f"Add {spec.kind}", path, ("remove", (path,)))

    def remove(self, path) -> Edit:
        path = list(path)
        parent_path, index = self._split(path)
        parent = self.at(parent_path)
        if parent.kind != "Sequential":
            raise SpecError(path_text(path), f"the body of {parent.kind} cannot be removed; remove the {parent.kind}")
        spec = parent.children.pop(index)
        left = [*parent_path, min(index, len(parent.children) - 1)] if parent.children else parent_path
        return self._done(f"Remove {spec.kind}", left, ("insert", (parent_path, index, spec)))

    def move(self, path, new_parent_path, index: int) -> Edit:
        """Move a module to `index` among the children of `new_parent_path` (an index in the
        list as it is before the move, as a drop indicator shows it)."""
        path, new_parent_path = list(path), list(new_parent_path)
        parent_path, old_index = self._split(path)
        if new_parent_path[: len(path)] == path:
            raise SpecError(path_text(path), "a module cannot move into itself")
        parent, target = self.at(parent_path), self._container(new_parent_path)
        if parent.kind != "Sequential":
            raise SpecError(path_text(path), f"the body of {parent.kind} cannot be moved out")
        if target.kind != "Sequential" and target is not parent:
            raise SpecError(path_text(new_parent_path), f"{target.kind} holds exactly one body: drop into that body")
        spec = parent.children.pop(old_index)
        # the removal shifts later siblings and any path running through them
        if new_parent_path == parent_path and index > old_index:
            index -= 1
        elif new_parent_path[: len(parent_path)] == parent_path and len(new_parent_path) > len(parent_path) \
                and new_parent_path[len(parent_path)] > old_index:
            new_parent_path[len(parent_path)] -= 1
        target = self.at(new_parent_path)
        index = max(0, min(index, len(target.children)))
        target.children.insert(index, spec)
        new_path = [*new_parent_path, index]
        # undoing: from new_path back to where it was; the index counts in the list as it will be
        back_parent = list(parent_path)
        back_index = old_index
        if new_parent_path == back_parent:
            back_index = old_index + (1 if index < old_index else 0)
        elif back_parent[: len(new_parent_path)] == new_parent_path and len(back_parent) > len(new_parent_path) \
                and back_parent[len(new_parent_path)] >= index:
            back_parent[len(new_parent_path)] += 1
        return self._done(f"Move {spec.kind}", new_path, ("move", (new_path, back_parent, back_index)))

    def duplicate(self, path) -> Edit:
        """A copy of the module right after it."""
        path = list(path)
        parent_path, index = self._split(path)
        if self.at(parent_path).kind != "Sequential":
            raise SpecError(path_text(path), f"{self.at(parent_path).kind} holds exactly one body")
        edit = self.insert(parent_path, index + 1, self.at(path))
        return Edit(f"Duplicate {self.at(edit.path).kind}", edit.path, edit.inverse)

    def set_arg(self, path, name: str, value) -> Edit:
        """Set one constructor argument; a bad value raises SpecError naming the field."""
        path = list(path)
        spec = self.at(path)
        field = f"{path_text(path)}.{name}"
        arg = next((a for a in KINDS[spec.kind].args if a.name == name), None)
        if arg is None:
            raise SpecError(field, f"{spec.kind} has no argument {name!r}")
        problem = arg.check(value)
        if problem:
            raise SpecError(field, problem)
        old = spec.args.get(name, arg.default)
        spec.args[name] = value
        return self._done(f"Set {spec.kind}.{name}", path, ("set_arg", (path, name, old)))

    def set_input_shape(self, shape) -> Edit:
        shape = tuple(shape)
        if not shape or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in shape):
            raise SpecError("input_shape", "expected positive integers, e.g. 8, 4")
        old, self._input_shape = self._input_shape, shape
        return self._done("Set input shape", None, ("set_input_shape", (old,)))

    def replace_root(self, root: ModuleSpec) -> Edit:
        """A whole new model (loading an example)."""
        root.validate()
        old, self._root = self._root, copy.deepcopy(root)
        return self._done("Replace model", [], ("replace_root", (old,)))

    # -- helpers -----------------------------------------------------------------------
    def _container(self, path) -> ModuleSpec:
        spec = self.at(path)
        if not KINDS[spec.kind].container:
            raise SpecError(path_text(path), f"{spec.kind} cannot hold other modules")
        return spec

    def _split(self, path) -> tuple[list, int]:
        if not path:
            raise SpecError("model", "the model itself cannot be removed or moved")
        self.at(path)
        return list(path[:-1]), path[-1]

    def _done(self, text: str, path, inverse) -> Edit:
        self._shapes = self._code = None
        self.changed.emit()
        return Edit(text, path, inverse)
