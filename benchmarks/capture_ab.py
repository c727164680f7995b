"""Recording overhead of this checkout against another version of gradstudio, in one process.

    git worktree add /tmp/before <commit>
    python benchmarks/capture_ab.py --against /tmp/before [--model gpt] [--repeat 40]

The machines are noisy: the plain step of the same model moves by half between runs, and a
ratio measured in one run cannot be compared with one measured in another. Here the plain
step, the other version's `record()` and this one's alternate in one process (the other
version is imported under another package name), and the medians are compared. glibc's
allocator is held steady as in `capture_floor.py`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import tempfile
import time

import torch

import gradstudio.core as this

try:
    from capture_floor import _steady_malloc
    from models import cases
except ImportError:  # run as `python -m benchmarks.capture_ab`
    from benchmarks.capture_floor import _steady_malloc
    from benchmarks.models import cases


def _import_other(root: str):
    """`gradstudio.core` of the checkout at `root`, as a package of another name."""
    if not os.path.isfile(os.path.join(root, "core", "capture", "recorder.py")):
        sys.exit(f"--against {root}: not a gradstudio checkout (no core/capture/recorder.py there)")
    top = tempfile.mkdtemp(prefix="gradstudio-ab-")
    package = os.path.join(top, "gradstudio_other")
    os.mkdir(package)
    with open(os.path.join(package, "__init__.py"), "w") as f:
        f.write('"""Another checkout of gradstudio, for comparison."""\n')
    os.symlink(os.path.abspath(os.path.join(root, "core")), os.path.join(package, "core"))
    sys.path.insert(0, top)
    return importlib.import_module("gradstudio_other.core")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--against", required=True, help="root of the other checkout (has core/)")
    ap.add_argument("--model", default="gpt", help="the model whose name contains this")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=40)
    args = ap.parse_args()
    other = _import_other(args.against)
    print(f"torch {torch.__version__}, cpu ({torch.get_num_threads()} threads), batch {args.batch}, "
          f"median of {args.repeat}, {_steady_malloc()}")
    name, model, x, loss_fn = next(c for c in cases(args.batch, "cpu") if args.model in c[0])

    def step(record=None):
        model.zero_grad(set_to_none=True)
        if record is None:
            loss_fn(model(x)).backward()
            return
        with record(model):
            loss_fn(model(x)).backward()

    variants = {"plain": lambda: step(), "other": lambda: step(other.record), "this": lambda: step(this.record)}
    for _ in range(3):
        for run in variants.values():
            run()
    times = {k: [] for k in variants}
    for _ in range(args.repeat):
        for key, run in variants.items():
            t0 = time.perf_counter()
            run()
            times[key].append(time.perf_counter() - t0)
    ms = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    plain = ms["plain"]
    print(f"\n{name}: plain {plain:.2f} ms")
    for key in ("other", "this"):
        print(f"  {key:6s} record() {ms[key]:8.2f} ms  ratio {ms[key] / plain:5.3f}  overhead {ms[key] - plain:6.2f} ms")
    before, after = ms["other"] - plain, ms["this"] - plain
    print(f"  this checkout's overhead is {after / before:.2f} of the other's ({after - before:+.2f} ms)")


if __name__ == "__main__":
    main()
