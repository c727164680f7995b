"""Recording a backward pass: hooks on every node, removed however it ends.

Autograd may run hooks on its own device threads (CUDA), so the hooks touch nothing but
the tape (which locks) and the snapshots they make. A hook runs for every node of the pass,
so its body is kept to the minimum: snapshot the gradients, append the event.

A leaf's `.grad` is read once the pass is over rather than by a hook of its own: autograd
runs a leaf's AccumulateGrad once per pass, so `.grad` then holds exactly what that node
wrote. Its event is put in place (right after the AccumulateGrad event) by the node's hook
and filled in afterwards.
"""

from __future__ import annotations

import torch

from .events import BackwardNodeEvent, LeafGradEvent
from .snapshot import TensorSnapshot
from .tape import Tape

_NO_SLOTS: frozenset = frozenset()


class BackwardHooks:
    """Installs hooks for one backward pass; use as a context manager."""

    def __init__(self, tape: Tape, pass_index: int, nodes: dict, leaves: dict, skip_sent: dict | None = None):
        """nodes: node id -> autograd node; leaves: leaf id -> (tensor, AccumulateGrad node id);
        skip_sent: node id -> slots whose sent gradient equals what the producer receives."""
        self.tape = tape
        self.pass_index = pass_index
        self.nodes = nodes
        self.skip_sent = skip_sent or {}
        self.accumulators = {node_id for _, node_id in leaves.values()}
        # AccumulateGrad node id -> (leaf id, tensor), for leaves whose .grad autograd writes
        self.leaf_of = {
            node_id: (leaf_id, tensor)
            for leaf_id, (tensor, node_id) in leaves.items()
            if tensor.requires_grad and tensor.is_leaf
        }
        self.leaf_events: list[tuple[LeafGradEvent, torch.Tensor, object]] = []
        self.handles = []
        self._snap = tape.store.snapshot
        self._add = tape.add
        # Leaves with the user's post-accumulate-grad hooks (the optimizer-in-backward
        # pattern: step and clear `.grad` as soon as it is ready). Their writes happen inside
        # the pass, where the recorder sees no calls: leaf id -> version before the pass.
        self.hooked_leaves: dict[str, tuple[torch.Tensor, int]] = {}
        self.changed_leaves: list[tuple[str, torch.Tensor]] = []  # their values changed in the pass
        self._early_grads: dict[str, TensorSnapshot] = {}  # `.grad` read before those hooks

    def __enter__(self):
        handles = self.handles
        skip_sent = self.skip_sent
        accumulators = self.accumulators
        for node_id, fn in self.nodes.items():
            if node_id in accumulators:
                # before it writes .grad, so the timeline reads "AccumulateGrad, then x.grad"
                handles.append(fn.register_prehook(self._accumulate_hook(node_id)))
            else:
                handles.append(fn.register_hook(self._node_hook(node_id, skip_sent.get(node_id, _NO_SLOTS))))
        for leaf_id, tensor in self.leaf_of.values():
            if getattr(tensor, "_post_accumulate_grad_hooks", None):
                self._read_grad_first(leaf_id, tensor)
        return self

    def __exit__(self, *exc):
        for h in self.handles:
            h.remove()
        self.handles.clear()
        self._fill_leaf_grads()
        for leaf_id, (tensor, version) in self.hooked_leaves.items():
            if tensor._version != version:
                self.changed_leaves.append((leaf_id, tensor))
        return False

    def _read_grad_first(self, leaf_id: str, tensor: torch.Tensor) -> None:
        """Read the leaf's `.grad` in a hook that runs before the user's (which may step an
        optimizer and clear it), and copy the leaf's recorded values now (the step writes
        them where the recorder cannot see)."""
        self.tape.store.before_write(tensor)
        self.hooked_leaves[leaf_id] = (tensor, tensor._version)
        budget, early = self.tape.store.budget, self._early_grads

        def first(t):
            if t.grad is not None:
                with torch.no_grad():
                    early[leaf_id] = TensorSnapshot(t.grad, budget)  # a copy: it is about to change

        handle = tensor.register_post_accumulate_grad_hook(first)
        # PyTorch calls them in the order of the dict's storage: put ours first by
        # re-inserting the others (their handles find them by id, as before)
        hooks = tensor._post_accumulate_grad_hooks
        others = [(k, v) for k, v in hooks.items() if k != handle.id]
        for k, _ in others:
            del hooks[k]
        hooks.update(others)
        self.handles.append(handle)

    def _node_hook(self, node_id: str, skip: frozenset):
        # Runs once per node: everything it needs is bound here, and snapshots only take
        # references (copy-on-write), so no torch op runs inside.
        snap, add, pass_index = self._snap, self._add, self.pass_index

        def hook(grad_inputs, grad_outputs):
            add(
                BackwardNodeEvent(
                    -1,
                    "backward_node",
                    pass_index,
                    node_id,
                    [None if g is None else snap(g) for g in grad_outputs],
                    [None if g is None or i in skip else snap(g) for i, g in enumerate(grad_inputs)],
                    skip,
                )
            )
            # returning None keeps the gradients as they are

        return hook

    def _accumulate_hook(self, node_id: str):
        snap, add, pass_index = self._snap, self._add, self.pass_index
        leaf = self.leaf_of.get(node_id)
        leaf_events = self.leaf_events

        def prehook(grad_outputs):
            received = [None if g is None else snap(g) for g in grad_outputs]
            add(BackwardNodeEvent(-1, "backward_node", pass_index, node_id, received, [], _NO_SLOTS))
            if leaf is not None:
                ev = add(LeafGradEvent(-1, "leaf_grad", pass_index, leaf[0], node_id, None))
                leaf_events.append((ev, leaf[1], received[0] if received else None))

        return prehook

    def _fill_leaf_grads(self) -> None:
        """Each leaf's `.grad` as its AccumulateGrad left it; when autograd stored the
        received gradient itself as `.grad`, one snapshot serves both events."""
        store = self.tape.store
        with torch.no_grad():
            for ev, tensor, received in self.leaf_events:
                early = self._early_grads.pop(ev.leaf, None)
                if early is not None:
                    ev.grad = early
                    continue
                grad = tensor.grad
                if grad is None:
                    continue
                if received is not None and received.stands_for(grad):
                    ev.grad = received
                else:
                    ev.grad = store.snapshot(grad)
        self.leaf_events.clear()
