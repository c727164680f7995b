"""Where `record()`'s own time goes: each part of its bookkeeping switched off in turn.

    python benchmarks/capture_parts.py [--repeat 40] [--batch 8] [--model gpt]

A diagnostic, not a usable recorder: each variant replaces one internal part with a no-op
(the tape it leaves is incomplete), then times the step against the full recording,
alternating in one run (medians). "saves" is how much the step got faster without that
part. The parts overlap a little (the forward's per-call work includes reading saved
tensors and output shapes), so they do not add up exactly. glibc's allocator is held
steady as in `capture_floor.py`.

The last variant switches off everything about autograd nodes at once (finding them, what
they save, hooking backward): what a compiled core that did that work could at best take
away. Its "ratio" is a bound from below for such a core, which would still have to hand
Python its nodes, saved tensors, gradients and events.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from gradstudio.core import record
from gradstudio.core.capture import autograd_nodes, backward_hooks, modules, recorder, snapshot

try:
    from capture_floor import _steady_malloc
    from models import cases
except ImportError:  # run as `python -m benchmarks.capture_parts`
    from benchmarks.capture_floor import _steady_malloc
    from benchmarks.models import cases


def _silent_node_hook(self, node_id, skip):
    def hook(grad_inputs, grad_outputs):
        return None

    return hook


def _no_hooks_enter(self):
    return self


def _no_hooks_exit(self, *exc):
    return False


# (label, object, attribute, stand-in); parts with the same label are switched off together
PARTS = [
    ("forward per-call work", recorder._Recorder, "_record_call", lambda *a: None),
    ("  reading saved tensors", autograd_nodes, "inspect_saved", lambda fn, leaf_storages, packed=False: []),
    ("  output shapes", autograd_nodes, "output_shapes", lambda fn: []),
    ("copies at the end", snapshot.SnapshotStore, "settle", lambda self: None),
    ("backward hook bodies", backward_hooks.BackwardHooks, "_node_hook", _silent_node_hook),
    ("module hooks (pre)", modules.ModuleTracker, "_pre", lambda self, mod, args: None),
    ("module hooks (post)", modules.ModuleTracker, "_post", lambda self, mod, args, out: None),
    # What a compiled core that walks the graph and hooks backward could at best remove: the
    # tape then has no nodes and no backward events, so this bounds any such core from below.
    (_ALL_NODE_WORK := "no nodes, no backward hooks", autograd_nodes, "walk_new", lambda roots, ids: []),
    (_ALL_NODE_WORK, recorder._Recorder, "_add_nodes", lambda self, found, step: []),
    (_ALL_NODE_WORK, recorder, "_reachable", lambda roots: []),
    (_ALL_NODE_WORK, backward_hooks.BackwardHooks, "__enter__", _no_hooks_enter),
    (_ALL_NODE_WORK, backward_hooks.BackwardHooks, "__exit__", _no_hooks_exit),
]
_FIXED_LINE = None


def _fixed_line(skip=2):
    return _FIXED_LINE


def main() -> None:
    global _FIXED_LINE
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=40)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--model", default="gpt", help="the model whose name contains this")
    args = ap.parse_args()
    print(f"torch {torch.__version__}, cpu ({torch.get_num_threads()} threads), batch {args.batch}, "
          f"median of {args.repeat}, {_steady_malloc()}")
    name, model, x, loss_fn = next(c for c in cases(args.batch, "cpu") if args.model in c[0])
    _FIXED_LINE = recorder.SourceLocation(__file__, 1, "main")
    parts = PARTS + [("finding the user's line", recorder, "user_location", _fixed_line)]
    originals = {(obj, attr): getattr(obj, attr) for _, obj, attr, _ in parts}

    def plain():
        model.zero_grad(set_to_none=True)
        loss_fn(model(x)).backward()

    def recorded():
        model.zero_grad(set_to_none=True)
        with record(model):
            loss_fn(model(x)).backward()

    variants = ["plain", "record()"] + list(dict.fromkeys(label for label, *_ in parts))
    times = {v: [] for v in variants}
    for round_ in range(args.repeat + 2):
        for v in variants:
            for (obj, attr), fn in originals.items():
                setattr(obj, attr, fn)
            for label, obj, attr, stand_in in parts:
                if label == v:
                    setattr(obj, attr, stand_in)
            t0 = time.perf_counter()
            plain() if v == "plain" else recorded()
            if round_ >= 2:  # the first two rounds warm up
                times[v].append(time.perf_counter() - t0)
    for (obj, attr), fn in originals.items():
        setattr(obj, attr, fn)
    base = statistics.median(times["plain"])
    full = statistics.median(times["record()"])
    print(f"\n{name}: plain {base * 1e3:.2f} ms, record() {full * 1e3:.2f} ms ({full / base:.2f}x)")
    print(f"  {'without':<28}{'ms':>9}{'saves ms':>10}{'of plain':>10}{'ratio':>8}")
    for label in variants[2:]:
        ms = statistics.median(times[label])
        print(f"  {label:<28}{ms * 1e3:>9.2f}{(full - ms) * 1e3:>10.2f}{(full - ms) / base:>10.2f}{ms / base:>8.2f}")


if __name__ == "__main__":
    main()
