"""torchviz's `make_dot` as the oracle for the graph a recording describes.

Each case is run twice from the same seeds: once under `record()` (forward, then backward
where the case has one), once plain, and `make_dot` draws the plain run's outputs. Pictures
are not compared; structure is:

* the multiset of autograd node class names (AccumulateGrad included),
* the multiset of (producer class, consumer class) edges between autograd nodes,
* for each AccumulateGrad, its leaf: (parameter name or "", shape).

On the recorded side only the op/accumulate nodes that reach an output count
(`GraphNode.contributes`), with the edges between them. On torchviz's side the graphviz
`Digraph.body` is parsed: backward nodes are the ones without a fill colour, tensors have one
(lightblue: leaves, orange: saved tensors, greens: outputs and their bases).

A second test checks that the gradient the tape recorded for every parameter leaf equals
`param.grad` after the real backward.
"""

from __future__ import annotations

import random
import re
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gradstudio.core import record
from gradstudio.core.examples import CascadeNet, Power, RandomDepthNet, VariableLengthRNN

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # torchviz imports distutils
    from torchviz import make_dot


# -- structure on both sides -------------------------------------------------------------


@dataclass
class Structure:
    nodes: Counter  # autograd node class name -> count
    edges: Counter  # (producer class, consumer class) -> count
    leaves: Counter  # (parameter name or "", shape) of each AccumulateGrad's leaf -> count


_EDGE_LINE = re.compile(r"^\t(\d+) -> (\d+)(?: \[(.*)\])?\s*$", re.S)
_NODE_LINE = re.compile(r"^\t(\d+) \[(.*)\]\s*$", re.S)
_LABEL = re.compile(r'label=("(?:[^"\\]|\\.)*"|[^\s\]]+)', re.S)
_TENSOR_LABEL = re.compile(r"^(.*)\n \(([\d, ]*)\)$", re.S)


def _shape(text: str) -> tuple:
    return tuple(int(d) for d in text.replace(" ", "").split(",") if d)


def torchviz_structure(outputs, params: dict) -> Structure:
    """What `make_dot(outputs, params=params)` draws, read back from the Digraph's body."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # LooseVersion
        dot = make_dot(outputs, params=params)
    labels: dict[str, str] = {}
    colors: dict[str, str] = {}
    edges: list[tuple[str, str]] = []
    for line in dot.body:
        m = _EDGE_LINE.match(line)
        if m:
            if "dir=none" not in (m.group(3) or ""):  # dir=none links a saved tensor: not data flow
                edges.append((m.group(1), m.group(2)))
            continue
        m = _NODE_LINE.match(line)
        assert m, f"unexpected line in make_dot output: {line!r}"
        node_id, attrs = m.groups()
        label = _LABEL.search(attrs).group(1)
        if label.startswith('"'):
            label = label[1:-1]
        color = re.search(r"fillcolor=(\S+?)\]?$", attrs)
        # A tensor can be drawn twice (a leaf that is also a saved tensor): keep the leaf's.
        if color is not None:
            if colors.get(node_id) != "lightblue":
                colors[node_id] = color.group(1)
                labels[node_id] = label
        elif node_id not in colors:
            labels[node_id] = label
    fns = {i for i in labels if i not in colors}
    leaves = Counter()
    for a, b in edges:
        if colors.get(a) == "lightblue" and b in fns:
            assert labels[b] == "AccumulateGrad", labels[b]
            m = _TENSOR_LABEL.match(labels[a])
            assert m, labels[a]
            leaves[(m.group(1), _shape(m.group(2)))] += 1
    return Structure(
        nodes=Counter(labels[i] for i in fns),
        edges=Counter((labels[a], labels[b]) for a, b in edges if a in fns and b in fns),
        leaves=leaves,
    )


def recorded_structure(graph, params: dict) -> Structure:
    """The same, from `tape.graph()`: autograd nodes that reach an output, edges among them."""
    autograd = {i: n for i, n in graph.nodes.items() if n.kind in ("op", "accumulate") and n.contributes}
    leaves = Counter()
    for e in graph.edges:
        src = graph.nodes[e.src]
        if e.dst in autograd and src.kind in ("parameter", "input"):
            assert autograd[e.dst].kind == "accumulate"
            name = src.label if src.kind == "parameter" and src.label in params else ""
            leaves[(name, tuple(src.shape))] += 1
    return Structure(
        nodes=Counter(n.label for n in autograd.values()),
        edges=Counter(
            (autograd[e.src].label, autograd[e.dst].label)
            for e in graph.edges
            if e.src in autograd and e.dst in autograd
        ),
        leaves=leaves,
    )


def _diff(what: str, ours: Counter, theirs: Counter) -> list[str]:
    if ours == theirs:
        return []
    missing, extra = theirs - ours, ours - theirs
    return [f"{what}: missing {dict(missing)}, extra {dict(extra)}"]


# -- custom autograd Functions -------------------------------------------------------------


class Cube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x**2 * g


class ScaledProduct(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b, k: float):
        ctx.save_for_backward(a, b)
        ctx.k = k
        return a * b * k

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g * b * ctx.k, g * a * ctx.k, None


# -- the models -----------------------------------------------------------------------------


def _mlp():
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 2))


def _convnet():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.Flatten(),
        nn.Linear(4 * 3 * 3, 3),
    )


class SharedMLP(nn.Module):
    """One layer applied twice, and the first layer's weight reused (transposed) at the end."""

    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(6, 4)
        self.mid = nn.Linear(4, 4)

    def forward(self, x):
        h = torch.tanh(self.enc(x))
        h = torch.tanh(self.mid(h))
        h = torch.tanh(self.mid(h))
        return F.linear(h, self.enc.weight.t())


class TiedLM(nn.Module):
    """Embedding and output projection share one weight (listed once by named_parameters)."""

    def __init__(self, vocab: int = 10, dim: int = 4):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.proj = nn.Linear(dim, vocab, bias=False)
        self.proj.weight = self.emb.weight

    def forward(self, tokens):
        return self.proj(torch.tanh(self.emb(tokens)))


class InPlace(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 5)
        self.b = nn.Parameter(torch.randn(5))

    def forward(self, x):
        h = self.lin(x)
        h.add_(self.b)  # in place on a non-leaf
        h.mul_(2.0)
        h.relu_()
        return (h * h).sum()


class InPlaceOnView(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 5)

    def forward(self, x):
        h = self.lin(x)
        h[:, 0].mul_(3.0)  # CopySlices on the base
        h[1:].add_(1.0)
        return h.pow(2).sum()


class Views(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(3, 4))

    def forward(self, x):
        w = self.w
        a = w[1:]  # slice
        b = w.view(4, 3)
        c = w.t()
        d = w[:, 0]  # select
        e = x.view(-1)[2:6]
        return a.pow(2).sum() + (b * c).sum() + d.exp().sum() + (e * w[0]).sum()


class Where(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)
        self.scale = nn.Parameter(torch.tensor(0.5))

    def forward(self, x):
        return torch.where(x > 0, self.lin(x), x * self.scale)


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 6)
        self.head_a = nn.Linear(6, 2)
        self.head_b = nn.Linear(6, 3)

    def forward(self, x):
        h = torch.relu(self.body(x))
        return self.head_a(h), self.head_b(h)


class DetachMiddle(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(4, 4)
        self.l2 = nn.Linear(4, 4)
        self.l3 = nn.Linear(4, 4)

    def forward(self, x):
        h = torch.tanh(self.l1(x))
        z = self.l2(h.detach())  # nothing before here gets a gradient through z
        return z + self.l3(x)


class NoGradMiddle(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(4, 4)
        self.l2 = nn.Linear(4, 4)

    def forward(self, x):
        h = self.l1(x)
        with torch.no_grad():
            s = self.l2(h) * 2  # a constant for autograd
        return h * s + h


class CustomFn(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)
        self.gain = nn.Parameter(torch.randn(4))

    def forward(self, x):
        h = Cube.apply(self.lin(x))
        return ScaledProduct.apply(h, self.gain, 0.5)


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(5, 4)

    def forward(self, x, target):
        return F.cross_entropy(self.lin(x), target)


class PowerExpr(nn.Module):
    """Power(3) and Power(2) on a leaf input, plus x*x (two edges into one AccumulateGrad)."""

    def __init__(self):
        super().__init__()
        self.cube = Power(3)
        self.square = Power(2)

    def forward(self, x):
        return self.cube(x) + self.square(x) + x * x


# -- the cases ---------------------------------------------------------------------------------


def _scalar_backward(model, out):
    out.backward()


def _leaf(*shape):
    return torch.randn(*shape, requires_grad=True)


@dataclass
class Case:
    make: Callable[[], nn.Module]  # built under torch.manual_seed(0)
    inputs: Callable[[], tuple]  # made under torch.manual_seed(1)
    forward: Callable  # (model, *inputs) -> the output(s) make_dot is given
    backward: Callable | None = _scalar_backward  # (model, outputs) -> None; None: forward only
    prelude: Callable | None = None  # (model, *inputs) -> inputs; runs before recording starts


def _two_heads_backward(model, outs):
    a, b = outs
    torch.autograd.backward((a, b), grad_tensors=(torch.ones_like(a), torch.full_like(b, 0.5)))


def _two_passes_forward(model, x1, x2):
    return model(x1).sum(), model(x2).pow(2).mean()


def _two_passes_backward(model, outs):
    first, second = outs
    first.backward()  # gradients accumulate across the two passes
    second.backward()


def _depth_forward(depth):
    def forward(model, x):
        out = model(x)
        assert model.last_depth == depth
        return out.sum()

    return forward


def _double_backward_forward(model, x):
    loss = torch.tanh(model(x)).sum()
    (gx,) = torch.autograd.grad(loss, x, create_graph=True)  # a graph built by backward
    return loss, gx.pow(2).sum()  # loss is a root of autograd.grad, so an output too


def _second_backward(model, outs):
    outs[1].backward()


def _split_cat_max(model, x):
    h = model(x)
    a, b, c = h.split(2, dim=1)  # one node, three outputs
    v, _ = torch.cat([c * a, b]).max(dim=0)
    return v.sum() + h.unbind(0)[1].sum()


def _lstm_forward(model, x):
    out, (_, c) = model(x)
    return out.sum() + c.sum()


def _retain_then_subset(model, out):
    out.backward(retain_graph=True)
    out.backward(inputs=[model[0].weight])  # only this one accumulates a second time


def _hidden_before_recording(model, x):
    return (model(x),)  # its graph exists before record() starts


def _random_depth_twice(model, x):
    a = model(x)
    depth_a = model.last_depth
    b = model(x)
    assert (depth_a, model.last_depth) == (2, 1)
    return a.sum() + b.mean()


CASES = {
    "mlp": Case(_mlp, lambda: (torch.randn(3, 4),), lambda m, x: m(x).pow(2).mean()),
    "mlp-forward-only": Case(_mlp, lambda: (torch.randn(3, 4),), lambda m, x: m(x), backward=None),
    "mlp-two-backward-passes": Case(
        _mlp, lambda: (torch.randn(3, 4), torch.randn(2, 4)), _two_passes_forward, _two_passes_backward
    ),
    "convnet": Case(_convnet, lambda: (torch.randn(2, 1, 8, 8),), lambda m, x: m(x).sum()),
    "cascadenet": Case(
        lambda: CascadeNet(3, widths=(4, 8), depth=2, num_classes=3),
        lambda: (torch.randn(2, 3, 8, 8),),
        lambda m, x: m(x).pow(2).mean(),
    ),
    **{
        f"rnn-len{n}": Case(
            lambda: VariableLengthRNN(4, 6), lambda n=n: (_leaf(n, 2, 4),), lambda m, seq: m(seq).sum()
        )
        for n in (1, 3, 7)
    },
    "random-depth-1": Case(
        lambda: RandomDepthNet(5, rng=random.Random(2)), lambda: (torch.randn(3, 5),), _depth_forward(1)
    ),
    "random-depth-4": Case(
        lambda: RandomDepthNet(5, rng=random.Random(0)), lambda: (torch.randn(3, 5),), _depth_forward(4)
    ),
    "random-depth-twice": Case(
        lambda: RandomDepthNet(5, rng=random.Random(1)), lambda: (torch.randn(3, 5),), _random_depth_twice
    ),
    "weight-sharing": Case(SharedMLP, lambda: (torch.randn(3, 6),), lambda m, x: m(x).pow(2).sum()),
    "tied-embedding": Case(
        TiedLM,
        lambda: (torch.tensor([[1, 2, 3], [4, 5, 1]]), torch.tensor([2, 3, 4, 5, 1, 0])),
        lambda m, tokens, target: F.cross_entropy(m(tokens).reshape(-1, 10), target),
    ),
    "inplace": Case(InPlace, lambda: (torch.randn(3, 4),), lambda m, x: m(x)),
    "inplace-on-view": Case(InPlaceOnView, lambda: (torch.randn(3, 4),), lambda m, x: m(x)),
    "views-and-indexing": Case(Views, lambda: (_leaf(2, 4),), lambda m, x: m(x)),
    "where": Case(Where, lambda: (_leaf(3, 4),), lambda m, x: m(x).sum()),
    "multiple-outputs": Case(TwoHeads, lambda: (torch.randn(3, 4),), lambda m, x: m(x), _two_heads_backward),
    "detach-in-middle": Case(DetachMiddle, lambda: (torch.randn(3, 4),), lambda m, x: m(x).sum()),
    "no-grad-in-middle": Case(NoGradMiddle, lambda: (torch.randn(3, 4),), lambda m, x: m(x).sum()),
    "custom-function": Case(CustomFn, lambda: (torch.randn(3, 4),), lambda m, x: m(x).sum()),
    "cross-entropy": Case(
        Classifier, lambda: (torch.randn(4, 5), torch.tensor([0, 3, 1, 2])), lambda m, x, t: m(x, t)
    ),
    "power": Case(PowerExpr, lambda: (_leaf(5),), lambda m, x: m(x).sum()),
    "double-backward": Case(
        lambda: nn.Linear(4, 3), lambda: (_leaf(2, 4),), _double_backward_forward, _second_backward
    ),
    "split-cat-max": Case(lambda: nn.Linear(4, 6), lambda: (torch.randn(3, 4),), _split_cat_max),
    "lstm": Case(lambda: nn.LSTM(3, 4, batch_first=True), lambda: (_leaf(2, 5, 3),), _lstm_forward),
    "retain-graph-then-inputs-subset": Case(
        lambda: nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 1)),
        lambda: (torch.randn(2, 4),),
        lambda m, x: m(x).sum(),
        backward=_retain_then_subset,
    ),
    "graph-built-before-recording": Case(
        lambda: nn.Linear(4, 4),
        lambda: (torch.randn(2, 4),),
        lambda m, h: (h * 2).tanh().sum(),
        prelude=_hidden_before_recording,
    ),
}

BACKWARD_CASES = {k: c for k, c in CASES.items() if c.backward is not None}


def _build(case: Case):
    torch.manual_seed(0)
    model = case.make()
    torch.manual_seed(1)
    inputs = case.inputs()
    if case.prelude is not None:
        inputs = case.prelude(model, *inputs)
    return model, inputs


def _recorded(case: Case):
    model, inputs = _build(case)
    with record(model) as tape:
        outs = case.forward(model, *inputs)
        if case.backward is not None:
            case.backward(model, outs)
    return model, tape


# -- the tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", [pytest.param(c, id=k) for k, c in CASES.items()])
def test_graph_matches_torchviz(case: Case):
    model, tape = _recorded(case)
    params = dict(model.named_parameters())
    ours = recorded_structure(tape.graph(), params)

    ref_model, ref_inputs = _build(case)  # the same run again, unrecorded
    ref_outs = case.forward(ref_model, *ref_inputs)
    theirs = torchviz_structure(ref_outs, dict(ref_model.named_parameters()))

    assert sum(theirs.nodes.values()) > 1  # the case does build a graph
    problems = (
        _diff("autograd nodes", ours.nodes, theirs.nodes)
        + _diff("edges", ours.edges, theirs.edges)
        + _diff("leaves", ours.leaves, theirs.leaves)
    )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("case", [pytest.param(c, id=k) for k, c in BACKWARD_CASES.items()])
def test_parameter_leaf_grads_match_param_grad(case: Case):
    model, tape = _recorded(case)
    params = dict(model.named_parameters())
    g = tape.graph()
    seen = set()
    for leaf in g.by_kind("parameter"):
        assert leaf.label in params, f"parameter leaf {leaf.label!r} is not a parameter of the model"
        seen.add(leaf.label)
        param = params[leaf.label]
        if param.grad is None:
            assert leaf.grad is None, f"{leaf.label}: recorded a gradient, but .grad is None"
            continue
        assert leaf.grad is not None, f"{leaf.label}: .grad is set, but no gradient was recorded"
        assert leaf.grad.values is not None
        torch.testing.assert_close(leaf.grad.values, param.grad, msg=lambda m: f"{leaf.label}: {m}")
    with_grad = {name for name, p in params.items() if p.grad is not None}
    assert with_grad <= seen, f"parameters with .grad but no leaf node: {sorted(with_grad - seen)}"
