"""A model whose code path depends on its input's values: the case static graphs get wrong."""

from __future__ import annotations

import torch
from torch import nn


class SignBranch(nn.Module):
    """A linear layer, then relu if the input sums to more than zero, else negation.

    The weights are fixed (not random) so that the lesson's numbers are the same every time.
    """

    def __init__(self, features: int = 3):
        super().__init__()
        self.fc = nn.Linear(features, features)
        with torch.no_grad():
            generator = torch.Generator().manual_seed(0)
            self.fc.weight.copy_(torch.randn(features, features, generator=generator))
            self.fc.bias.copy_(torch.randn(features, generator=generator))

    def forward(self, x):
        h = self.fc(x)
        if x.sum() > 0:  # a tensor's value picks the code path
            return torch.relu(h)
        return -h
