"""What hooking every backward node costs from C++ instead of Python: the part of the
backward pass a compiled recording core could save.

    python benchmarks/native_hooks.py [--repeat 40] [--batch 8]

Needs a C++ compiler and ninja (the extension is built with `torch.utils.cpp_extension`,
~20 s the first time, cached after). Times the GPT's backward pass alone, alternating in
one run (medians), four ways:
- plain: `loss.backward()`;
- Python hooks: a Python hook on every node keeping the gradients it sees (registered and
  removed around the pass, as `record()` does);
- C++ hooks: a C++ post-hook (AccumulateGrad: pre-hook) on every node keeping them, found
  and removed from C++, and the kept gradients handed to Python as tensors after the pass;
- `record()`'s backward: the whole recorded pass (preparation, hooks, events, snapshots).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.utils.cpp_extension import load_inline

try:
    from capture_floor import _nodes, _steady_malloc, backward_with_python_hooks
    from models import cases
except ImportError:  # run as `python -m benchmarks.native_hooks`
    from benchmarks.capture_floor import _nodes, _steady_malloc, backward_with_python_hooks
    from benchmarks.models import cases

CPP = r"""
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/python_variable.h>
#include <torch/csrc/utils/pybind.h>
#include <mutex>
#include <unordered_set>

using torch::autograd::Node;
using torch::autograd::variable_list;

struct Kept { int64_t node; variable_list sent; variable_list received; };

struct Collector {
  std::mutex mu;
  std::vector<Kept> kept;
  std::vector<std::pair<c10::intrusive_ptr<Node>, uintptr_t>> post;
  std::vector<std::pair<c10::intrusive_ptr<Node>, torch::autograd::FunctionPreHook*>> pre;
};

struct PostHook : torch::autograd::FunctionPostHook {
  Collector* c; int64_t node;
  PostHook(Collector* c, int64_t node) : c(c), node(node) {}
  variable_list operator()(const variable_list& sent, const variable_list& received) override {
    std::lock_guard<std::mutex> g(c->mu);
    c->kept.push_back(Kept{node, sent, received});
    return sent;
  }
};

struct PreHook : torch::autograd::FunctionPreHook {
  Collector* c; int64_t node;
  PreHook(Collector* c, int64_t node) : c(c), node(node) {}
  variable_list operator()(const variable_list& received) override {
    std::lock_guard<std::mutex> g(c->mu);
    c->kept.push_back(Kept{node, {}, received});
    return received;
  }
};

int64_t install(Collector& c, const at::Tensor& root) {
  std::vector<Node*> stack;
  std::unordered_set<Node*> seen;
  if (root.grad_fn()) stack.push_back(root.grad_fn().get());
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    if (!seen.insert(n).second) continue;
    int64_t i = seen.size() - 1;
    if (n->name() == "torch::autograd::AccumulateGrad") {
      auto h = std::make_unique<PreHook>(&c, i);
      c.pre.emplace_back(n->getptr(), h.get());
      n->add_pre_hook(std::move(h));
    } else {
      c.post.emplace_back(n->getptr(), n->add_post_hook(std::make_unique<PostHook>(&c, i)));
    }
    for (auto& e : n->next_edges()) if (e.function) stack.push_back(e.function.get());
  }
  return seen.size();
}

void remove_hooks(Collector& c) {
  for (auto& [n, key] : c.post) n->del_post_hook(key);
  for (auto& [n, h] : c.pre) {
    auto& hooks = n->pre_hooks();
    for (auto it = hooks.begin(); it != hooks.end(); ++it) if (it->get() == h) { hooks.erase(it); break; }
  }
  c.post.clear();
  c.pre.clear();
}

py::list take(Collector& c) {
  std::lock_guard<std::mutex> g(c.mu);
  py::list out;
  for (auto& k : c.kept) out.append(py::make_tuple(k.node, k.sent, k.received));
  c.kept.clear();
  return out;
}
"""

BINDINGS = r"""
PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  py::class_<Collector>(m, "Collector").def(py::init<>());
  m.def("install", &install);
  m.def("remove", &remove_hooks);
  m.def("take", &take);
}
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=40)
    ap.add_argument("--batch", type=int, default=8)
    args = ap.parse_args()
    t = time.perf_counter()
    native = load_inline("gradstudio_native_hooks", cpp_sources=[CPP + BINDINGS], extra_cflags=["-O2"])
    print(f"built in {time.perf_counter() - t:.1f} s")
    from gradstudio.core import record

    print(f"torch {torch.__version__}, cpu ({torch.get_num_threads()} threads), batch {args.batch}, "
          f"median of {args.repeat}, {_steady_malloc()}")
    name, model, x, loss_fn = next(c for c in cases(args.batch, "cpu") if "gpt" in c[0])

    def forward():
        model.zero_grad(set_to_none=True)
        return loss_fn(model(x))

    def plain(loss):
        loss.backward()

    def python_hooks(loss):
        backward_with_python_hooks(loss, [])

    def cpp_hooks(loss):
        collector = native.Collector()
        native.install(collector, loss)
        try:
            loss.backward()
        finally:
            native.remove(collector)
        return native.take(collector)

    variants = {"plain": plain, "Python hooks": python_hooks, "C++ hooks": cpp_hooks}
    times = {k: [] for k in [*variants, "record()'s backward"]}
    for round_ in range(args.repeat + 3):
        for key, fn in variants.items():
            loss = forward()
            t = time.perf_counter()
            fn(loss)
            if round_ >= 3:
                times[key].append(time.perf_counter() - t)
        model.zero_grad(set_to_none=True)
        with record(model):
            loss = loss_fn(model(x))
            t = time.perf_counter()
            loss.backward()
            if round_ >= 3:
                times["record()'s backward"].append(time.perf_counter() - t)
    base = statistics.median(times["plain"])
    print(f"\n{name}: backward pass alone, {len(_nodes(forward().grad_fn))} nodes")
    print(f"  {'variant':<22}{'ms':>9}{'+ms':>8}{'ratio':>8}")
    for key, ts in times.items():
        ms = statistics.median(ts)
        print(f"  {key:<22}{ms * 1e3:>9.2f}{(ms - base) * 1e3:>8.2f}{ms / base:>8.2f}")


if __name__ == "__main__":
    main()
