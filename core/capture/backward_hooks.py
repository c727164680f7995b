"""Recording a backward pass: hooks on every node and leaf, removed however it ends.

Autograd may run hooks on its own device threads (CUDA), so the hooks touch nothing but
the tape (which locks) and the snapshots they make.
"""

from __future__ import annotations

import torch

from .events import BackwardNodeEvent, LeafGradEvent
from .snapshot import TensorSnapshot
from .tape import Tape


def _snap(t, tape: Tape) -> TensorSnapshot | None:
    return None if t is None else tape.store.snapshot(t)


class BackwardHooks:
    """Installs hooks for one backward pass; use as a context manager."""

    def __init__(self, tape: Tape, pass_index: int, nodes: dict, leaves: dict, skip_sent: dict | None = None):
        """nodes: node id -> autograd node; leaves: leaf id -> (tensor, AccumulateGrad node id);
        skip_sent: node id -> slots whose sent gradient equals what the producer receives."""
        self.tape = tape
        self.pass_index = pass_index
        self.nodes = nodes
        self.leaves = leaves
        self.skip_sent = skip_sent or {}
        self.accumulators = {node_id for _, node_id in leaves.values()}
        self.handles = []

    def __enter__(self):
        for node_id, fn in self.nodes.items():
            if node_id in self.accumulators:
                # before it writes .grad, so the timeline reads "AccumulateGrad, then x.grad"
                self.handles.append(fn.register_prehook(self._accumulate_hook(node_id)))
            else:
                self.handles.append(fn.register_hook(self._node_hook(node_id)))
        for leaf_id, (tensor, node_id) in self.leaves.items():
            if tensor.requires_grad and tensor.is_leaf:
                hook = self._leaf_hook(leaf_id, node_id)
                self.handles.append(tensor.register_post_accumulate_grad_hook(hook))
        return self

    def __exit__(self, *exc):
        for h in self.handles:
            h.remove()
        self.handles.clear()
        return False

    def _record(self, node_id: str, received, sent, skip: frozenset) -> None:
        # Snapshots only take references here (copy-on-write): no torch op runs.
        snap = self.tape.store.snapshot
        self.tape.append(
            BackwardNodeEvent,
            kind="backward_node",
            pass_index=self.pass_index,
            node=node_id,
            grads_received=[None if g is None else snap(g) for g in received],
            grads_sent=[None if g is None or i in skip else snap(g) for i, g in enumerate(sent)],
            sent_as_received=skip,
        )

    def _node_hook(self, node_id: str):
        skip = self.skip_sent.get(node_id, frozenset())

        def hook(grad_inputs, grad_outputs):
            self._record(node_id, grad_outputs, grad_inputs, skip)
            return None  # returning a value would replace the gradients

        return hook

    def _accumulate_hook(self, node_id: str):
        def prehook(grad_outputs):
            self._record(node_id, grad_outputs, (), frozenset())
            return None

        return prehook

    def _leaf_hook(self, leaf_id: str, node_id: str | None):
        tape, pass_index = self.tape, self.pass_index

        def hook(tensor):
            with torch.no_grad():
                tape.append(
                    LeafGradEvent,
                    kind="leaf_grad",
                    pass_index=pass_index,
                    leaf=leaf_id,
                    node=node_id,
                    grad=_snap(tensor.grad, tape),
                )

        return hook
