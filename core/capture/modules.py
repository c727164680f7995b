"""Which module a torch call ran in, and names for modules, parameters and inputs.

Global forward pre/post hooks keep a stack of running module calls. Modules are named by
`named_modules()` of the recorded model; a module the model does not contain is named by
the user variable that holds it (`cube = Power(3)` -> `cube`), else by its class.
"""

from __future__ import annotations

import sys
import threading
from types import FrameType

import torch
from torch import nn
from torch.nn.modules import module as module_mod

from .compiled import WRAPPED, has_compiled_wrapper, is_compiled_wrapper, without_wrappers
from .events import ModuleCall
from .source import _is_internal
from .tape import Tape


def find_variable_name(obj, frames: list[FrameType], extra: dict | None = None) -> str | None:
    """The name a user variable holding `obj` has: frames from outermost inwards, then `extra`.
    A variable holding `torch.compile(obj)` names `obj` too."""
    spaces = []
    for frame in reversed(frames):
        try:
            spaces.append(frame.f_locals)
        except Exception:  # exotic frames (e.g. proxies) must never break recording
            continue
    if extra:
        spaces.append(extra)
    for space in spaces:
        for name, value in list(space.items()):
            if _holds(value, obj) and not name.startswith("_") and name.isidentifier():
                return name
    return None


def _holds(value, obj) -> bool:
    """`value` is `obj`, or `torch.compile(obj)`."""
    return value is obj or (
        isinstance(value, nn.Module) and is_compiled_wrapper(value) and getattr(value, WRAPPED, None) is obj
    )


def user_frames(stop: FrameType | None, skip: int = 1) -> list[FrameType]:
    """User frames from the innermost outwards, up to and including `stop`."""
    frames = []
    f = sys._getframe(skip)
    while f is not None:
        if not _is_internal(f.f_code.co_filename):
            frames.append(f)
        if f is stop:
            break
        f = f.f_back
    return frames


class ModuleTracker:
    """Keeps the stack of running module calls on the recording thread."""

    def __init__(self, tape: Tape, model: nn.Module | None, entry_frame: FrameType | None, model_path: str = ""):
        self.tape = tape
        self.entry_frame = entry_frame
        self._thread = threading.get_ident()
        self._names: dict[int, str] = {}
        self._other_paths: dict[int, list[str]] = {}  # id(module) -> all its paths, when several
        self._keep: list[nn.Module] = []  # keeps ids valid while recording
        self.param_names: dict[int, tuple[str, str]] = {}  # id(param) -> (name, module path)
        self._keep_params: list[torch.Tensor] = []
        self._taken: set[str] = set()
        self.stack: list[ModuleCall] = []
        self._calls: tuple[int, ...] = ()  # ids of the calls on the stack, kept with it
        self._handles = []
        if model is not None:
            self._register(model, model_path)

    # -- naming ----------------------------------------------------------------------
    def _register(self, root: nn.Module, prefix: str) -> None:
        # `torch.compile(net)` wraps net as `_orig_mod`: names leave the wrapper out, and the
        # wrapper shares its module's name (its calls are not counted, see `_pre`)
        strip = without_wrappers if has_compiled_wrapper(root) else None
        for name, mod in root.named_modules(prefix=prefix, remove_duplicate=False):
            if strip is not None:
                name = strip(name)
            if id(mod) not in self._names:
                self._names[id(mod)] = name
                self._keep.append(mod)
                self.tape.module_classes[name] = type(mod).__name__
            elif name != self._names[id(mod)] and name not in self.tape.module_classes:
                # one module held at two places (`enc.0` and `dec.1`): each call is named
                # by the place it was called from
                self._other_paths.setdefault(id(mod), [self._names[id(mod)]]).append(name)
                self.tape.module_classes[name] = type(mod).__name__
        for name, p in root.named_parameters(prefix=prefix, remove_duplicate=True):
            if strip is not None:
                name = strip(name)
            if id(p) not in self.param_names:
                mod_path = name.rpartition(".")[0]
                self.param_names[id(p)] = (name, mod_path)
                self._keep_params.append(p)
        self._taken.add(prefix)

    def _name_unknown(self, mod: nn.Module) -> str:
        if self.stack:  # a submodule the model did not list (e.g. created inside forward)
            parent = self.stack[-1]
            parent_mod = self._modules_by_call.get(parent.id)
            attr = None
            if parent_mod is not None:
                attr = next((a for a, c in parent_mod._modules.items() if c is mod), None)
            if attr is None:  # not the parent's sub-module: a variable (`helper`, a local made in forward)
                attr = find_variable_name(mod, user_frames(self.entry_frame, skip=4))
            leaf = attr or type(mod).__name__
            base = f"{parent.path}.{leaf}" if parent.path else leaf
        else:
            base = find_variable_name(mod, user_frames(self.entry_frame, skip=3)) or type(mod).__name__
        name, k = base, 1
        while name in self._taken or name in self.tape.module_classes:
            name = f"{base}_{k}"
            k += 1
        return name

    # -- hooks -----------------------------------------------------------------------
    def install(self) -> None:
        self._modules_by_call: dict[int, nn.Module] = {}
        self._handles.append(module_mod.register_module_forward_pre_hook(self._pre))
        self._handles.append(module_mod.register_module_forward_hook(self._post, always_call=True))

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()
        for call in self.stack:
            if call.end_event is None:
                call.end_event = len(self.tape.events)
        self.stack.clear()
        self._calls = ()

    def _pre(self, mod: nn.Module, args) -> None:
        if threading.get_ident() != self._thread or is_compiled_wrapper(mod):
            return None  # a compiled wrapper's call: the module it wraps is called right inside
        path = self._names.get(id(mod))
        if path is None:
            path = self._name_unknown(mod)
            self._register(mod, path)
        elif self.stack and id(mod) in self._other_paths:
            caller = self.stack[-1].path
            path = next((p for p in self._other_paths[id(mod)] if p.rpartition(".")[0] == caller), path)
        call = ModuleCall(
            id=len(self.tape.module_calls),
            path=path,
            class_name=type(mod).__name__,
            parent=self.stack[-1].id if self.stack else None,
            start_event=len(self.tape.events),
        )
        self.tape.module_calls.append(call)
        self._modules_by_call[call.id] = mod
        self.stack.append(call)
        self._calls = (*self._calls, call.id)
        return None

    def _post(self, mod: nn.Module, args, output) -> None:
        if threading.get_ident() != self._thread or is_compiled_wrapper(mod):
            return None
        # Pop to this module's call, also when an inner forward raised and skipped its hook.
        for i in range(len(self.stack) - 1, -1, -1):
            if self._modules_by_call.get(self.stack[i].id) is mod:
                for call in self.stack[i:]:
                    call.end_event = len(self.tape.events)
                del self.stack[i:]
                self._calls = self._calls[:i]
                break
        return None  # returning a value would replace the module's output

    # -- current position --------------------------------------------------------------
    @property
    def current_path(self) -> str | None:
        return self.stack[-1].path if self.stack else None

    @property
    def current_calls(self) -> tuple[int, ...]:
        return self._calls
