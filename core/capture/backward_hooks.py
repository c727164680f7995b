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
        return self

    def __exit__(self, *exc):
        for h in self.handles:
            h.remove()
        self.handles.clear()
        self._fill_leaf_grads()
        return False

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
                grad = tensor.grad
                if grad is None:
                    continue
                if received is not None and received.stands_for(grad):
                    ev.grad = received
                else:
                    ev.grad = store.snapshot(grad)
        self.leaf_events.clear()
