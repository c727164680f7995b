"""Modules the builder adds to torch.nn so any palette entry fits in a chain: one tensor in,
one tensor out. Plain nn.Modules, usable without the builder."""

from __future__ import annotations

import copy

from torch import nn


class Residual(nn.Module):
    """`x + body(x)`: the seed's "layer with a residual connection"."""

    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = body

    def forward(self, x):
        return x + self.body(x)


class Repeat(nn.Module):
    """`body` applied `times` times in a row; `shared=True` reuses one module (shared
    weights), else each repetition is an independent copy."""

    def __init__(self, body: nn.Module, times: int = 2, shared: bool = False):
        super().__init__()
        self.times = times
        self.shared = shared
        if shared:
            self.body = body
        else:
            self.blocks = nn.ModuleList([body] + [copy.deepcopy(body) for _ in range(times - 1)])

    def forward(self, x):
        for i in range(self.times):
            x = (self.body if self.shared else self.blocks[i])(x)
        return x


class SequenceOutput(nn.Module):
    """An RNN/LSTM/GRU that returns only its output sequence, so it chains like a layer."""

    def __init__(self, rnn: nn.RNNBase):
        super().__init__()
        self.rnn = rnn

    def forward(self, x):
        return self.rnn(x)[0]


class SelfAttention(nn.Module):
    """MultiheadAttention with query = key = value = the input (batch first)."""

    def __init__(self, attention: nn.MultiheadAttention):
        super().__init__()
        self.attention = attention

    def forward(self, x):
        return self.attention(x, x, x, need_weights=False)[0]


class BilinearSelf(nn.Module):
    """Bilinear(x, x): a bilinear layer fed the same input twice."""

    def __init__(self, bilinear: nn.Bilinear):
        super().__init__()
        self.bilinear = bilinear

    def forward(self, x):
        return self.bilinear(x, x)


def count_parameters(module: nn.Module) -> tuple[int, int]:
    """(trainable, frozen) parameter counts, each shared parameter counted once."""
    trainable = frozen = 0
    for p in module.parameters():
        if p.requires_grad:
            trainable += p.numel()
        else:
            frozen += p.numel()
    return trainable, frozen
