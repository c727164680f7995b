"""What recording costs before any bookkeeping: the floor under `record()`'s ratio.

    python benchmarks/capture_floor.py [--repeat 30] [--batch 8] [--only gpt]

Recording op by op and node by node needs, at the least, a torch-function mode that every
torch call passes through, and a Python hook on every autograd node that keeps the
gradients it sees. This script times those bare parts against the plain step and against
`record()`, alternating in one run (medians), so the part of the ratio that is gradstudio's
own bookkeeping (events, nodes, snapshots, names, copies at the end) reads as a difference:

- plain:        forward + backward
- mode:         under a mode that only calls through, keeping every result
- mode + hooks: also a hook per backward node keeping its gradients (registered and
                removed around backward, as `record()` does)
- record():     the real recording

Keeping every gradient alive makes glibc's allocator return freed memory to the system and
fault it in again, by amounts that depend on its history: the same bare hooks measured
1.14x or 1.45x from one run to the next. So that all variants see the same steady
allocator, the script first raises glibc's trim and mmap thresholds (`--default-malloc`
leaves them), and prints the minor page faults per step.
"""

from __future__ import annotations

import argparse
import ctypes
import resource
import statistics
import time

import torch
from torch.overrides import TorchFunctionMode

from gradstudio.core import record

try:
    from models import cases
except ImportError:  # run as `python -m benchmarks.capture_floor`
    from benchmarks.models import cases


class _KeepResults(TorchFunctionMode):
    """Calls through and keeps every result alive, as a recording must."""

    def __init__(self):
        super().__init__()
        self.kept = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        self.kept.append(out)
        return out


def _nodes(root) -> list:
    seen, stack, found = set(), [root], []
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        found.append(fn)
        stack.extend(n for n, _ in fn.next_functions)
    return found


def plain(model, x, loss_fn):
    model.zero_grad(set_to_none=True)
    loss_fn(model(x)).backward()


def mode_only(model, x, loss_fn):
    model.zero_grad(set_to_none=True)
    with _KeepResults():
        loss_fn(model(x)).backward()


def backward_with_python_hooks(loss, kept: list) -> None:
    """`loss.backward()` with a Python hook on every node appending what it sees to `kept`,
    registered and removed around the pass as `record()` does."""
    handles = [fn.register_hook(lambda gi, go: kept.append((gi, go))) for fn in _nodes(loss.grad_fn)]
    try:
        loss.backward()
    finally:
        for h in handles:
            h.remove()


def mode_and_hooks(model, x, loss_fn):
    model.zero_grad(set_to_none=True)
    with _KeepResults() as mode:
        backward_with_python_hooks(loss_fn(model(x)), mode.kept)


def recorded(model, x, loss_fn):
    model.zero_grad(set_to_none=True)
    with record(model):
        loss_fn(model(x)).backward()


VARIANTS = {"plain": plain, "mode": mode_only, "mode + hooks": mode_and_hooks, "record()": recorded}


def _steady_malloc() -> str:
    """Keep freed memory in the process (glibc only): no trimming, no mmap below 32 MiB."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        ok = libc.mallopt(m_trim_threshold, 1 << 30) == 1 and libc.mallopt(m_mmap_threshold, 32 << 20) == 1
    except (OSError, AttributeError):
        ok = False
    return "steady glibc malloc" if ok else "default malloc (not glibc)"


def _faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--only", default="", help="run the models whose name contains this")
    ap.add_argument("--default-malloc", action="store_true", help="leave the allocator's thresholds as they are")
    args = ap.parse_args()
    allocator = "default malloc" if args.default_malloc else _steady_malloc()
    print(f"torch {torch.__version__}, cpu ({torch.get_num_threads()} threads), batch {args.batch}, "
          f"median of {args.repeat}, {allocator}")
    for name, model, x, loss_fn in cases(args.batch, "cpu"):
        if args.only not in name:
            continue
        times = {k: [] for k in VARIANTS}
        faults = {k: [] for k in VARIANTS}
        for _ in range(2):  # warm up
            for fn in VARIANTS.values():
                fn(model, x, loss_fn)
        for _ in range(args.repeat):
            for key, fn in VARIANTS.items():
                f0 = _faults()
                t0 = time.perf_counter()
                fn(model, x, loss_fn)
                times[key].append(time.perf_counter() - t0)
                faults[key].append(_faults() - f0)
        base = statistics.median(times["plain"])
        print(f"\n{name}")
        print(f"  {'variant':<14}{'ms':>9}{'ratio':>8}{'faults/step':>13}")
        for key in VARIANTS:
            ms = statistics.median(times[key])
            print(f"  {key:<14}{ms * 1e3:>9.2f}{ms / base:>8.2f}{statistics.median(faults[key]):>13.0f}")
        floor = statistics.median(times["mode + hooks"])
        own = statistics.median(times["record()"]) - floor
        print(f"  record()'s own bookkeeping: {own * 1e3:.1f} ms = {own / base:.2f} of the plain step")


if __name__ == "__main__":
    main()
