"""Cost of recording: plain forward+backward against the same under `record()`, in one run.

    python benchmarks/capture.py [--repeat 15] [--batch 8] [--only gpt] [--device cuda]

Plain and recorded runs alternate, and medians are compared, so machine noise hits both.
Prints per model: plain ms, recorded ms, ratio, events, nodes, overhead per event in µs.
Target (issue 2): ratio <= 1.5 for the ResNet and the transformer on a 2-core CPU.
On a GPU each timed step ends with a device synchronize, so queued kernels are counted.
`capture_floor.py` splits the ratio: what any op-by-op recording pays, and the rest.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from gradstudio.core import record

try:
    from models import cases
except ImportError:  # run as `python -m benchmarks.capture`
    from benchmarks.models import cases


def sync(x):
    if x.device.type == "cuda":
        torch.cuda.synchronize(x.device)


def plain_step(model, x, loss_fn):
    model.zero_grad(set_to_none=True)
    loss_fn(model(x)).backward()
    sync(x)


def recorded_step(model, x, loss_fn):
    model.zero_grad(set_to_none=True)
    with record(model) as tape:
        loss_fn(model(x)).backward()
    sync(x)
    return tape


def measure(model, x, loss_fn, repeat):
    for _ in range(2):  # warm up allocator and kernels
        plain_step(model, x, loss_fn)
        recorded_step(model, x, loss_fn)
    plain, recorded, graph_ms = [], [], []
    tape = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        plain_step(model, x, loss_fn)
        t1 = time.perf_counter()
        tape = recorded_step(model, x, loss_fn)
        t2 = time.perf_counter()
        g = tape.graph()
        t3 = time.perf_counter()
        plain.append(t1 - t0)
        recorded.append(t2 - t1)
        graph_ms.append(t3 - t2)
    return statistics.median(plain), statistics.median(recorded), statistics.median(graph_ms), tape, g


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--only", default="", help="run the models whose name contains this")
    ap.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1")
    args = ap.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    where = torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else f"{torch.get_num_threads()} threads"
    print(f"torch {torch.__version__}, {args.device} ({where}), batch {args.batch}, median of {args.repeat}")
    header = f"{'model':<28}{'plain ms':>10}{'recorded ms':>13}{'ratio':>8}{'events':>8}{'nodes':>7}{'µs/event':>10}{'graph ms':>10}"
    print(header)
    print("-" * len(header))
    for name, model, x, loss_fn in cases(args.batch, args.device):
        if args.only not in name:
            continue
        plain, rec, graph_s, tape, g = measure(model, x, loss_fn, args.repeat)
        n_events = len(tape.events)
        per_event = (rec - plain) / n_events * 1e6
        print(
            f"{name:<28}{plain * 1e3:>10.2f}{rec * 1e3:>13.2f}{rec / plain:>8.2f}"
            f"{n_events:>8}{len(tape.nodes):>7}{per_event:>10.1f}{graph_s * 1e3:>10.2f}"
        )


if __name__ == "__main__":
    main()
