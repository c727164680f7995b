"""`record()`: turn running PyTorch code into a tape.

A `TorchFunctionMode` sees every torch call at the level the user wrote it. After each call
the recorder walks from the results' `grad_fn` through `next_functions` and collects the
autograd nodes not seen before: the nodes this call created. `backward()` and
`torch.autograd.grad` are torch calls too; around them the recorder hooks every node of the
graph and every leaf, and removes the hooks however the pass ends.
"""

from __future__ import annotations

import inspect
import sys
import threading
from collections.abc import Mapping
from numbers import Integral

import torch
from torch.overrides import TorchFunctionMode

from ..gcpause import relax_gc, restore_gc
from . import autograd_nodes as an
from .backward_hooks import BackwardHooks
from .cancel import CancelTrap, RunCancelled
from .compiled import run_compiled_code_eagerly
from .events import BackwardEndEvent, BackwardStartEvent, CallEvent, ErrorEvent, InputRef
from .modules import ModuleTracker, find_variable_name, user_frames
from .snapshot import shape_of
from .source import SETUP, SourceLocation, _is_internal, user_location
from .tape import DEFAULT_MEMORY_BUDGET, LeafInfo, NodeInfo, OutputInfo, Tape

_SKIP, _CALL, _CONTROL, _BACKWARD = range(4)

# Metadata queries and printing: not computation, and far too many to show.
_SKIPPED_NAMES = frozenset(
    """__set__ __delete__ __repr__ __str__ __format__ __hash__ __reduce_ex__ __deepcopy__
    __getstate__ __setstate__ __array__ __dlpack__ __dlpack_device__ size dim ndimension numel
    nelement stride storage_offset is_contiguous data_ptr element_size get_device is_floating_point
    is_complex is_signed untyped_storage _typed_storage register_hook register_post_accumulate_grad_hook
    retain_grad requires_grad_ _is_view _base has_names""".split()
)
# Calls whose result steers Python control flow.
_CONTROL_NAMES = frozenset(
    "__bool__ __int__ __float__ __index__ __len__ __iter__ __contains__ item tolist equal is_nonzero allclose".split()
)
_BACKWARD_FUNCS = {torch.Tensor.backward, torch.autograd.backward, torch.autograd.grad}
# Tensor properties that compute a new tensor, like a method call; the others are metadata.
_COMPUTING_PROPERTIES = frozenset({"T", "mT", "H", "mH", "real", "imag"})


_INPLACE_DUNDERS = frozenset(
    "__setitem__ __iadd__ __isub__ __imul__ __itruediv__ __ifloordiv__ __imod__ __ipow__ __imatmul__ "
    "__iand__ __ior__ __ixor__ __ilshift__ __irshift__".split()
)


_FLAG_SETTERS = frozenset({"requires_grad_", "retain_grad_", "share_memory_", "rename_"})  # no data written


# Calls that hand out the tensor's memory under a version counter of its own (`.data`) or
# none (numpy, DLPack): writes through them cannot be seen, so what the tape keeps of that
# memory is copied from then on.
_ESCAPING = frozenset({"data", "numpy", "__array__", "__dlpack__"})


class _FuncInfo:
    __slots__ = ("kind", "op", "qualname", "signature", "inplace", "escapes", "private")

    def __init__(self, func):
        name = getattr(func, "__name__", None) or type(func).__name__
        self.op = name
        # writes into its first argument: snapshots of that storage must be copied first
        # (`torch.ops.aten.add_.Tensor` is named "add_.Tensor": the overload follows a dot)
        base = name.partition(".")[0]
        self.inplace = base in _INPLACE_DUNDERS or (
            base.endswith("_") and not base.endswith("__") and base not in _FLAG_SETTERS
        )
        try:
            self.qualname = torch.overrides.resolve_name(func) or name
        except Exception:
            self.qualname = name
        self.signature = None
        self.escapes = False
        self.private = name.startswith("_") and not name.startswith("__")
        if func in _BACKWARD_FUNCS:
            self.kind = _BACKWARD
            self.signature = inspect.signature(func)
        elif name == "__get__":  # a tensor property: metadata (`.grad`, `.shape`), or `w.T`
            prop = getattr(getattr(func, "__self__", None), "__name__", None)
            self.kind = _CALL if prop in _COMPUTING_PROPERTIES else _SKIP
            self.op = prop or name
            self.qualname = self.qualname.removesuffix(".__get__")
            self.escapes = prop in _ESCAPING
        elif name in _SKIPPED_NAMES or self.private:
            # private helpers (`_set_grad_enabled` from `with torch.no_grad()`) are plumbing,
            # unless they make autograd nodes (`torch._weight_norm`): see __torch_function__
            self.kind = _SKIP
        elif name in _CONTROL_NAMES:
            self.kind = _CONTROL
        else:
            self.kind = _CALL
        if name in _ESCAPING:
            self.escapes = True


_func_info: dict = {}

# The sequence number autograd gives the next node made on this thread (it numbers them in
# order of creation). Read before a call: the call's own nodes are numbered from there, and
# a node numbered below it was made since the last recorded call by code no torch call
# showed (a TorchScript module, a C++ extension, torch-function handling switched off).
_next_seq = getattr(torch._C._autograd, "_get_sequence_nr", None)
UNSEEN_OP = "(not seen)"
UNSEEN_QUALNAME = (
    "autograd nodes made where the recorder saw no torch call: TorchScript, a C++ extension, "
    "or code that switched torch-function handling off"
)


def _grad_fn(t: torch.Tensor):
    """`t.grad_fn`, or None where reading it raises (a view made under no_grad and then
    changed in place: PyTorch refuses to build its node, though the plain program runs)."""
    try:
        return t.grad_fn
    except RuntimeError:
        return None


_Tensor = torch.Tensor


def _tensors(obj, out: list, depth: int = 0) -> list:
    """The tensors in `obj`, also inside lists, tuples and dicts (3 levels deep)."""
    if isinstance(obj, _Tensor):
        out.append(obj)
    elif depth < 3 and isinstance(obj, (list, tuple)):
        for item in obj:
            if isinstance(item, _Tensor):  # the usual flat argument tuple, without recursing
                out.append(item)
            elif isinstance(item, (list, tuple, dict)):
                _tensors(item, out, depth + 1)
    elif depth < 3 and isinstance(obj, dict):
        for item in obj.values():
            _tensors(item, out, depth + 1)
    return out


class _Recorder(TorchFunctionMode):
    def __init__(self, tape: Tape, model, entry_frame, names: dict | None = None, cancel=None, model_path: str = ""):
        super().__init__()
        self.cancel = cancel  # a threading.Event: set means stop at the next torch call
        self._trap = CancelTrap()  # the user's code cannot swallow the stop
        self.tape = tape
        self.entry_frame = entry_frame
        self.extra_names = names  # e.g. a script's globals, searched for variable names
        self.tracker = ModuleTracker(tape, model, entry_frame, model_path)
        self._ids = an.NodeIds()  # autograd node -> node id, kept on the node itself
        self._leaf_ids: dict[int, str] = {}  # id(leaf tensor) -> leaf id
        self._leaf_tensors: dict[str, torch.Tensor] = {}
        self._leaf_storages: set = set()
        self._leaf_names: set[str] = set()
        self._inputs_named = 0
        self._last_outputs: list[tuple[str, tuple]] = []
        self._hooked_outputs: dict[str, set[int]] = {}  # node id -> outputs with a tensor hook
        self._start_seq = 0
        self._eager = None  # compiled code runs eagerly while recording
        self._seen_seq = 0  # autograd's next sequence number when the last recorded call ended
        self.thread = threading.get_ident()

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        with torch.enable_grad():
            probe = torch.zeros((), requires_grad=True) * 1
        self._start_seq = probe.grad_fn._sequence_nr()
        self._seen_seq = self._start_seq + 1
        self._eager = run_compiled_code_eagerly()
        self._eager.__enter__()
        self.tracker.install()
        _register_active(self)
        self.__enter__()

    def _end_eager(self) -> None:
        eager, self._eager = self._eager, None
        if eager is not None:
            eager.__exit__(None, None, None)

    def abort(self) -> None:
        """Undo whatever `start` got done."""
        self._trap.disarm()
        try:
            if torch._C._is_torch_function_mode_enabled() and torch.overrides._get_current_function_mode() is self:
                self.__exit__(None, None, None)
        finally:
            self.tracker.remove()
            _unregister_active(self)
            self._end_eager()

    def stop(self, exc: BaseException | None) -> None:
        self._trap.disarm()
        try:
            self.__exit__(None, None, None)
        finally:
            self.tracker.remove()
            _unregister_active(self)
            self._end_eager()
        try:
            self._finish(exc)
        except BaseException as late:  # e.g. a cancel delivered right now: the tape stays usable
            self.tape.failed = True
            self.tape.error = self.tape.error or late
            self._release()

    def _held_results(self) -> list[OutputInfo]:
        """Without a backward pass, the outputs are the results nothing recorded went on to
        use and the user's code still holds when the recording ends (`y = net(x)` and
        `reg = w.pow(2).sum()` both; not an intermediate that was dropped)."""
        tape = self.tape
        consumed = {src for info in tape.nodes.values() for src, *_ in info.inputs}
        found: list[OutputInfo] = []
        taken: set[str] = set()
        for ev in tape.events:
            if not isinstance(ev, CallEvent):
                continue
            for node_id, snap in zip(ev.output_nodes, ev.outputs):
                held = None if node_id is None or node_id in consumed or node_id in taken else snap.held()
                if held is None:
                    continue
                name = find_variable_name(held, [self.entry_frame], self.extra_names)
                found.append(OutputInfo(node=node_id, name=name or "output", shape=snap.shape))
                taken.add(node_id)
        return found

    def _release(self) -> None:
        self._ids.clear()
        self._leaf_tensors.clear()
        self._leaf_ids.clear()

    def _finish(self, exc: BaseException | None) -> None:
        tape = self.tape
        if exc is not None:
            tape.failed = True
            tape.error = exc
            tape.append(
                ErrorEvent,
                kind="error",
                exc_type=type(exc).__name__,
                message=str(exc),
                source=_exception_location(exc),
            )
        for leaf_id, t in self._leaf_tensors.items():
            if leaf_id in tape.leaves and tape.leaves[leaf_id].name is None:
                self._name_leaf(tape.leaves[leaf_id], t)
        if not tape.outputs:  # no backward named them: the results the user still holds
            tape.outputs.extend(self._held_results())
        if not tape.outputs:
            for node_id, shape in self._last_outputs:
                tape.outputs.append(OutputInfo(node=node_id, name="output", shape=shape))
        # The tape is plain data from here on: let the graph and its tensors go, then copy
        # the snapshots of tensors that someone else can still change.
        self._release()
        tape.store.settle()

    # -- forward -----------------------------------------------------------------------
    def __torch_function__(self, func, types, args=(), kwargs=None):
        if kwargs is None:
            kwargs = {}
        info = _func_info.get(func)
        if info is None:
            info = _func_info[func] = _FuncInfo(func)
        if threading.get_ident() != self.thread:
            return func(*args, **kwargs)
        if self.cancel is not None and self.cancel.is_set():
            self._trap.arm(sys._getframe(1))
            raise RunCancelled("run cancelled")
        if args and (info.inplace or (kwargs and ("out" in kwargs or kwargs.get("inplace") is True))):
            self._before_write(args[0], kwargs.get("out"))
        if info.kind == _BACKWARD:
            return self._backward(func, info, args, kwargs)
        if info.escapes and args and isinstance(args[0], torch.Tensor):
            self.tape.store.escape(args[0])
        writes_leaf = info.inplace and self._leaf_ids and args and self._written_leaves(args[0])
        if info.kind == _SKIP and not writes_leaf:
            if info.op == "register_hook" and args:
                self._note_tensor_hook(args[0])
            if not info.private or _next_seq is None:
                return func(*args, **kwargs)
            before = _next_seq()
            out = func(*args, **kwargs)
            if _next_seq() == before:  # made no autograd node: plumbing
                return out
            loc = user_location(2)  # a private op that computes (`torch._weight_norm`): a call
            if loc is not SETUP:
                self._record_call(info.op, info.qualname, False, args, kwargs, out, loc, before)
            return out
        loc = user_location(2)
        if loc is SETUP:  # nn.Linear(...) initialising its weights: set-up, not the user's ops
            return func(*args, **kwargs)
        before = _next_seq() if _next_seq is not None else None
        out = func(*args, **kwargs)
        self._record_call(info.op, info.qualname, info.kind == _CONTROL, args, kwargs, out, loc, before)
        if writes_leaf:  # e.g. optimizer.step(): the parameters' new values
            step = len(self.tape.events) - 1
            for leaf_id, t in writes_leaf:
                self.tape.leaves[leaf_id].updates.append((step, self.tape.store.snapshot(t)))
        return out

    def _note_tensor_hook(self, t) -> None:
        """A hook on a computed tensor may change the gradient its node receives: backward
        must then keep what the consumer sent apart from it. (Hooks on leaves are found on
        the leaf itself when backward starts.)"""
        f = _grad_fn(t) if isinstance(t, torch.Tensor) else None
        node_id = None if f is None else self._ids.get(f)
        if node_id is not None:
            self._hooked_outputs.setdefault(node_id, set()).add(t.output_nr)

    def _written_leaves(self, target) -> list:
        """Registered leaves among the tensors an in-place op writes, also through another
        tensor on their memory (`w.data -= lr * w.grad`)."""
        found = []
        for t in _tensors(target, []):
            leaf_id = self._leaf_ids.get(id(t))
            if leaf_id is not None:
                found.append((leaf_id, self._leaf_tensors[leaf_id]))
            elif self._leaf_storages:
                key = an.storage_key(t)
                for lid, leaf in self.tape.leaves.items():
                    if key is not None and leaf.storage_key == key and lid in self._leaf_tensors:
                        found.append((lid, self._leaf_tensors[lid]))
        return found

    def _before_write(self, target, out) -> None:
        store = self.tape.store
        for t in _tensors(target, _tensors(out, [])):
            store.before_write(t)

    def record_custom_function(self, cls, apply, args, kwargs):
        """A custom `torch.autograd.Function` is applied outside torch function handling."""
        loc = user_location(3)
        versions = [(a, a._version) for a in args if isinstance(a, torch.Tensor)]
        before = _next_seq() if _next_seq is not None else None
        out = apply(*args, **kwargs)
        # `ctx.mark_dirty(x)`: autograd moves x's version on after the forward, though the
        # data is as the forward's own (recorded) in-place ops left it
        outs = _tensors(out, [])
        for a, before in versions:
            if a._version > before and any(o is a for o in outs):
                self.tape.store.version_moved(a, a._version - 1, a._version)
        if loc is SETUP:
            return out
        name = f"{cls.__name__}.apply"
        # The mode is active here (not inside its own handler): the recorder's own tensor
        # calls (a snapshot's detach) must not become events of the user's.
        with torch._C.DisableTorchFunction():
            self._record_call(
                name, f"{cls.__module__}.{cls.__qualname__}.apply", False, args, kwargs, out, loc, before
            )
        return out

    def _record_call(self, op, qualname, control, args, kwargs, out, loc, before: int | None = None) -> None:
        """`before`: autograd's next sequence number just before the call ran."""
        tape = self.tape
        ins = _tensors(args, [])
        if kwargs:
            _tensors(kwargs, ins)
        outs = _tensors(out, [])
        # `t.grad_fn` makes a Python object for the node on first access: read each once
        try:
            out_fns = [t.grad_fn for t in outs]
            in_fns = [t.grad_fn for t in ins]
        except RuntimeError:
            out_fns = [_grad_fn(t) for t in outs]
            in_fns = [_grad_fn(t) for t in ins]
        roots = [f for f in out_fns if f is not None]
        roots.extend(f for f in in_fns if f is not None)
        ids = self._ids
        get = ids.get
        found = an.walk_new(roots, ids) if roots else []
        if found and before is not None and before > self._seen_seq:  # nodes made out of sight?
            found = self._take_unseen(found, before, loc)
        step = len(tape.events)
        new_ids = self._add_nodes(found, step) if found else []
        if _next_seq is not None:
            self._seen_seq = _next_seq()
        out_nodes = [None if f is None else get(f) for f in out_fns]
        if new_ids:
            self._last_outputs = [(nid, shape_of(t)) for nid, t in zip(out_nodes, outs) if nid is not None]
        leaf_ids = self._leaf_ids
        for t, f in zip(outs, out_fns):  # `torch.randn(3, requires_grad=True)`: a leaf from this step
            if f is None and t.requires_grad and id(t) not in leaf_ids:
                self._leaf_for(t, step, name_now=False)
        inputs = [
            InputRef(
                get(f) if f is not None else (leaf_ids.get(id(t)) if t.requires_grad else None),
                shape_of(t),
                t.requires_grad,
            )
            for t, f in zip(ins, in_fns)
        ]
        snap = tape.store.snapshot
        tracker = self.tracker
        tape.add(
            CallEvent(
                -1,
                "call",
                op,
                qualname,
                new_ids,
                inputs,
                [snap(t) for t in outs],
                out_nodes,
                tracker.current_path,
                tracker.current_calls,
                loc,
                control,
                torch.is_grad_enabled(),
            )
        )

    def _take_unseen(self, found: list[tuple], before: int, loc) -> list[tuple]:
        """Record the nodes among `found` that were made since the last recorded call but
        before this one (numbered below `before`) as an event of their own, "(not seen)",
        instead of crediting them to this call; return the rest. AccumulateGrad nodes (not
        numbered) go with the unseen nodes they feed."""
        start = self._start_seq
        unseen = {
            id(fn) for fn, _ in found
            if not an.is_accumulate(fn) and start <= an.sequence_nr(fn) < before
        }
        if not unseen:
            return found
        feeds = {id(nxt) for fn, nexts in found if id(fn) in unseen for nxt, _ in nexts if nxt is not None}
        theirs = [p for p in found if id(p[0]) in unseen or (id(p[0]) in feeds and an.is_accumulate(p[0]))]
        taken = {id(fn) for fn, _ in theirs}
        step = len(self.tape.events)
        ids = self._add_nodes(theirs, step)
        tracker = self.tracker
        self.tape.add(
            CallEvent(
                -1, "call", UNSEEN_OP, UNSEEN_QUALNAME, ids, [], [], [], tracker.current_path,
                tracker.current_calls, loc, False, torch.is_grad_enabled(),
            )
        )
        return [p for p in found if id(p[0]) not in taken]

    def _add_nodes(self, found: list[tuple], step: int) -> list[str]:
        """Give ids to newly found nodes (`walk_new`'s (node, next_functions) pairs) and note
        what each keeps for backward, now: the recorder keeps no node alive to read later."""
        tape = self.tape
        nodes = tape.nodes
        tracker = self.tracker
        module = tracker.current_path
        module_call = tracker.stack[-1].id if tracker.stack else None
        set_id = self._ids.set
        start_seq = self._start_seq
        leaf_storages = self._leaf_storages
        packed = an.saved_tensors_hooked()  # checked now, while the user's context is active
        ids = []
        for fn, _ in found:
            node_id = f"n{len(nodes)}"
            set_id(fn, node_id)
            seq = an.sequence_nr(fn)
            if an.is_accumulate(fn):
                var = fn.variable
                info = NodeInfo(  # saves nothing for backward
                    node_id, "AccumulateGrad", step, module, module_call, [], [shape_of(var)], None, [], seq
                )
                info.leaf = self._leaf_for(var, step)
            elif 0 <= seq < start_seq:  # made before the recording started
                info = NodeInfo(
                    node_id, an.type_name(fn), -1, None, None, [], an.output_shapes(fn), None,
                    an.inspect_saved(fn, leaf_storages, packed), seq,
                )
            else:
                info = NodeInfo(
                    node_id, an.type_name(fn), step, module, module_call, [], an.output_shapes(fn), None,
                    an.inspect_saved(fn, leaf_storages, packed), seq,
                )
            nodes[node_id] = info
            ids.append(node_id)
        get = self._ids.get
        for (fn, nexts), node_id in zip(found, ids):  # edges, once every new node has an id
            inputs = []
            for slot, (nxt, nr) in enumerate(nexts):
                if nxt is not None:
                    src = get(nxt)
                    shapes = nodes[src].output_shapes
                    inputs.append((src, shapes[nr] if nr < len(shapes) else None, slot, nr))
            nodes[node_id].inputs = inputs
        return [i for i in ids if nodes[i].step == step]

    def _leaf_for(self, t: torch.Tensor, step: int, name_now: bool = True) -> str:
        """The leaf id of `t`, registering it on first sight. A leaf made by the current
        call is named later (`x = torch.randn(...)` binds `x` only after the call returns)."""
        leaf_id = self._leaf_ids.get(id(t))
        tape = self.tape
        if leaf_id is not None:
            if name_now and tape.leaves[leaf_id].name is None:
                self._name_leaf(tape.leaves[leaf_id], t)
            return leaf_id
        leaf_id = f"l{len(tape.leaves)}"
        key = an.storage_key(t)
        if key is not None:
            self._leaf_storages.add(key)
        snap = tape.store.snapshot(t)
        leaf = LeafInfo(
            id=leaf_id,
            name=None,
            kind="parameter" if isinstance(t, torch.nn.Parameter) else "input",
            shape=shape_of(t),
            dtype=str(t.dtype).removeprefix("torch."),
            step=step,
            value=snap,
            storage_key=key,
        )
        tape.leaves[leaf_id] = leaf
        self._leaf_ids[id(t)] = leaf_id
        self._leaf_tensors[leaf_id] = t
        if name_now:
            self._name_leaf(leaf, t)
        return leaf_id

    def _name_leaf(self, leaf: LeafInfo, t: torch.Tensor) -> None:
        named = self.tracker.param_names.get(id(t))
        if named is not None:
            leaf.name, leaf.module, leaf.kind = named[0], named[1], "parameter"
        else:
            frames = user_frames(self.entry_frame, skip=3)
            name = find_variable_name(t, frames, self.extra_names)
            if name is None and isinstance(t, torch.nn.Parameter):
                name, leaf.module = _find_parameter_owner(t, frames, self.extra_names)
            leaf.name = name
        if leaf.name is None or leaf.name in self._leaf_names:
            if leaf.kind == "input":
                leaf.name = f"input{self._inputs_named}"
                self._inputs_named += 1
            else:
                leaf.name = f"param{len(self._leaf_names)}"
        self._leaf_names.add(leaf.name)

    # -- backward ----------------------------------------------------------------------
    def _backward(self, func, info: _FuncInfo, args, kwargs):
        tape = self.tape
        loc = user_location(3)
        if loc is SETUP:
            loc = None
        bound = info.signature.bind(*args, **kwargs)
        params = bound.arguments
        if func is torch.Tensor.backward:
            roots = [params["self"]]
        else:
            first = params.get("tensors", params.get("outputs"))
            roots = _tensors(first, [])
        create = bool(params.get("create_graph", False))
        retain = params.get("retain_graph")
        retain = create if retain is None else bool(retain)

        root_fns = [f for f in map(_grad_fn, roots) if f is not None]
        found = an.walk_new(root_fns, self._ids)
        if found and _next_seq is not None and _next_seq() > self._seen_seq:
            found = self._take_unseen(found, _next_seq(), loc)
        step = len(tape.events)
        self._add_nodes(found, step)
        reachable = _reachable(root_fns)  # (node, next_functions) pairs
        get = self._ids.get
        nodes = tape.nodes
        hook_nodes = {}
        hook_leaves = {}
        # Where the user's hooks may change a gradient between the node that sends it and the
        # node that receives it: whole nodes (id) and single outputs ((id, output nr)).
        rewritten_nodes, rewritten_outputs = set(), set()
        hooked = self._hooked_outputs
        for fn, _ in reachable:
            node_id = get(fn)
            hook_nodes[node_id] = fn
            node = nodes[node_id]
            if node.saved is None:  # look before backward frees them
                node.saved = an.inspect_saved(fn, self._leaf_storages)
            if node.leaf is not None:
                leaf_tensor = self._leaf_tensors[node.leaf]
                hook_leaves[node.leaf] = (leaf_tensor, node_id)
                if leaf_tensor.grad is not None:  # autograd will add into it in place
                    tape.store.before_write(leaf_tensor.grad)
                if getattr(leaf_tensor, "_backward_hooks", None):  # `x.register_hook(...)` on a leaf
                    rewritten_nodes.add(id(fn))
            elif node.name == "BackwardHookFunctionBackward":  # a module's full backward hooks
                rewritten_nodes.add(id(fn))
            if hooked and node_id in hooked:  # `h.register_hook(...)` while recording
                rewritten_outputs.update((id(fn), nr) for nr in hooked[node_id])

        names = user_frames(self.entry_frame, skip=2)
        for t in roots:
            if _grad_fn(t) is not None:
                node_id = get(t.grad_fn)
                if not any(o.node == node_id for o in tape.outputs):
                    name = find_variable_name(t, names) or "output"
                    tape.outputs.append(OutputInfo(node=node_id, name=name, shape=shape_of(t)))

        # A gradient sent along the only edge into a producer's output is exactly what that
        # producer receives: snapshot it once, on the receiving side. (Not with `inputs=`:
        # there the producer may never run; nor where a hook may change it on the way.)
        skip_sent: dict[str, frozenset] = {}
        if params.get("inputs") is None and func is not torch.autograd.grad:
            consumers: dict[tuple, int] = {}
            for t in roots:  # a root's seed gradient also flows into its node: one more input
                f = _grad_fn(t)
                if f is not None:
                    consumers[(id(f), t.output_nr)] = consumers.get((id(f), t.output_nr), 0) + 1
            for _, nexts in reachable:
                for nxt, nr in nexts:
                    if nxt is not None:
                        key = (id(nxt), nr)
                        consumers[key] = consumers.get(key, 0) + 1
            interned: dict[frozenset, frozenset] = {}  # the same few slot sets, kept once
            for fn, nexts in reachable:
                slots = frozenset(
                    i
                    for i, (nxt, nr) in enumerate(nexts)
                    if nxt is not None
                    and consumers[(id(nxt), nr)] == 1
                    and id(nxt) not in rewritten_nodes
                    and (id(nxt), nr) not in rewritten_outputs
                )
                if slots:
                    skip_sent[get(fn)] = interned.setdefault(slots, slots)

        pass_index = tape.backward_passes
        tape.backward_passes += 1
        api = {torch.Tensor.backward: "Tensor.backward", torch.autograd.backward: "torch.autograd.backward"}.get(
            func, "torch.autograd.grad"
        )
        tape.append(
            BackwardStartEvent,
            kind="backward_start",
            pass_index=pass_index,
            api=api,
            roots=[self._ids.get(f) for f in root_fns],
            retain_graph=retain,
            create_graph=create,
            source=loc,
        )
        try:
            with BackwardHooks(tape, pass_index, hook_nodes, hook_leaves, skip_sent) as hooks:
                result = func(*args, **kwargs)
        except BaseException as e:
            tape.append(
                BackwardEndEvent, kind="backward_end", pass_index=pass_index, ok=False, error=f"{type(e).__name__}: {e}"
            )
            if _next_seq is not None:
                self._seen_seq = _next_seq()
            raise
        returned = []
        if func is torch.autograd.grad and result is not None:
            with torch.no_grad():
                returned = [None if g is None else tape.store.snapshot(g) for g in _tensors_or_none(result)]
        for leaf_id, tensor in hooks.changed_leaves:  # a hook stepped an optimizer inside the pass
            tape.leaves[leaf_id].updates.append((len(tape.events), tape.store.snapshot(tensor)))
        if create:  # the pass built a graph of its own (double backward): its nodes are this pass's
            if func is torch.autograd.grad:
                grads = [g for g in _tensors_or_none(result) if g is not None]
            else:
                grads = [t.grad for t, _ in hook_leaves.values() if t.grad is not None]
            made = [f for f in map(_grad_fn, grads) if f is not None]
            if made:
                self._add_nodes(an.walk_new(made, self._ids), len(tape.events))  # the end event's index
        tape.append(
            BackwardEndEvent, kind="backward_end", pass_index=pass_index, ok=True, freed=not retain, returned=returned
        )
        if _next_seq is not None:  # the pass's own nodes (create_graph) are recorded above
            self._seen_seq = _next_seq()
        return result


def _tensors_or_none(result):
    if isinstance(result, dict):
        result = list(result.values())
    return list(result) if isinstance(result, (list, tuple)) else [result]


def _reachable(roots) -> list[tuple]:
    """(node, next_functions) for every node reachable from `roots`."""
    seen = set()
    order = []
    stack = list(roots)
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        nexts = fn.next_functions
        order.append((fn, nexts))
        stack.extend(n for n, _ in nexts if n is not None and id(n) not in seen)
    return order


def _exception_location(exc: BaseException) -> SourceLocation | None:
    if isinstance(exc, SyntaxError) and exc.filename:
        return SourceLocation(exc.filename, exc.lineno or 0, "<module>")
    tb = exc.__traceback__
    found = None
    while tb is not None:
        code = tb.tb_frame.f_code
        if not _is_internal(code.co_filename):
            found = SourceLocation(code.co_filename, tb.tb_lineno, code.co_name)
        tb = tb.tb_next
    return found


# -- custom autograd.Function ---------------------------------------------------------
# `Function.apply` does not go through torch function handling; while a recording runs,
# a thin wrapper reports it to the recorder of the calling thread.
_active: dict[int, _Recorder] = {}
_active_lock = threading.Lock()
_original_apply = torch.autograd.Function.__dict__["apply"]


def _patched_apply(cls, *args, **kwargs):
    apply = _original_apply.__get__(None, cls)
    rec = _active.get(threading.get_ident())
    if rec is None:
        return apply(*args, **kwargs)
    return rec.record_custom_function(cls, apply, args, kwargs)


def _register_active(rec: _Recorder) -> None:
    with _active_lock:
        if not _active:
            torch.autograd.Function.apply = classmethod(_patched_apply)
        _active[rec.thread] = rec


def _unregister_active(rec: _Recorder) -> None:
    with _active_lock:
        if _active.get(rec.thread) is rec:
            del _active[rec.thread]
        if not _active:
            torch.autograd.Function.apply = _original_apply


class record:
    """Record the torch calls and backward passes made inside a `with` block.

    Args:
        model: optional; names modules (`layer1.0.conv1`) and parameters (`fc.weight`).
        memory_budget: bytes the tape may spend on copies of tensor values (statistics are
            always kept). Default 256 MiB.
        names: a namespace (e.g. a script's globals) to search for variable names too.
        cancel: a `threading.Event`; once set, the next torch call raises `RunCancelled`.
        model_path: the name the model goes by (`net`: modules become `net.layers.0`); default
            "" names its sub-modules from the model itself (`layers.0`).

    Example::

        with record(model) as tape:
            loss = model(x).pow(2).mean()
            loss.backward()
        tape.events          # forward calls, then the backward pass node by node
        tape.graph(step=5)   # the graph as it was after event 5

    If the code inside raises, the recording stops cleanly (no mode or hook is left
    behind), the exception propagates, and the tape keeps the events up to the failure.
    """

    def __init__(
        self,
        model: torch.nn.Module | None = None,
        *,
        memory_budget: int = DEFAULT_MEMORY_BUDGET,
        names: dict | None = None,
        cancel=None,
        model_path: str = "",
    ):
        _check_arguments(model, memory_budget, names, cancel, model_path)
        self.model = model
        self.model_path = model_path
        self.memory_budget = memory_budget
        self.names = names
        self.cancel = cancel
        self.tape: Tape | None = None
        self._rec: _Recorder | None = None

    def __enter__(self) -> Tape:
        if threading.get_ident() in _active:
            raise RuntimeError("a recording is already running on this thread; nested record() is not supported")
        self.tape = Tape(self.memory_budget)
        rec = _Recorder(self.tape, self.model, sys._getframe(1), self.names, self.cancel, self.model_path)
        try:
            rec.start()
        except BaseException:  # half started (e.g. cancelled right then): undo what was done
            rec.abort()
            raise
        self._rec = rec
        relax_gc()  # the tape's many objects all stay alive: scanning them finds nothing
        return self.tape

    def __exit__(self, exc_type, exc, tb) -> bool:
        rec, self._rec = self._rec, None
        if isinstance(exc, SystemExit) and exc.code in (None, 0):
            exc = None  # a script that ends with sys.exit(0) finished normally
        if rec is not None:
            try:
                rec.stop(exc)
            finally:
                restore_gc()
        return False  # never swallow the user's exception


def _check_arguments(model, memory_budget, names, cancel, model_path) -> None:
    """Misuse fails here, in words, before anything is installed."""
    if model is not None and not isinstance(model, torch.nn.Module):
        raise TypeError(f"record(model=...) takes a torch.nn.Module or None, not {type(model).__name__}")
    if isinstance(memory_budget, bool) or not isinstance(memory_budget, Integral):
        raise TypeError(f"record(memory_budget=...) takes a number of bytes (int), not {type(memory_budget).__name__}")
    if memory_budget < 0:
        raise ValueError(f"record(memory_budget=...) must be 0 or more bytes, not {memory_budget}")
    if names is not None and not isinstance(names, Mapping):
        raise TypeError(f"record(names=...) takes a namespace such as a script's globals(), not {type(names).__name__}")
    if cancel is not None and not callable(getattr(cancel, "is_set", None)):
        raise TypeError(f"record(cancel=...) takes a threading.Event (anything with is_set()), not {type(cancel).__name__}")
    if not isinstance(model_path, str):
        raise TypeError(f"record(model_path=...) takes a str, not {type(model_path).__name__}")


def _find_parameter_owner(p, frames, extra: dict | None) -> tuple[str | None, str | None]:
    """`net.0.weight` for a parameter of a module held in a user variable `net`."""
    spaces = [f.f_locals for f in reversed(frames)] + ([extra] if extra else [])
    for space in spaces:
        for var, value in list(space.items()):
            if isinstance(value, torch.nn.Module) and not var.startswith("_"):
                for name, q in value.named_parameters():
                    if q is p:
                        full = f"{var}.{name}"
                        return full, full.rpartition(".")[0]
    return None, None
