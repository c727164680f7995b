"""Models whose graph changes from run to run: the seed's case for dynamic graphs."""

import random

import torch
from torch import nn


class VariableLengthRNN(nn.Module):
    """An RNN cell unrolled by a Python loop over however many steps the input has."""

    def __init__(self, input_size: int = 4, hidden_size: int = 8):
        super().__init__()
        self.hidden_size = hidden_size
        self.cell = nn.RNNCell(input_size, hidden_size)
        self.readout = nn.Linear(hidden_size, 1)

    def forward(self, sequence):
        h = torch.zeros(sequence.shape[1], self.hidden_size)
        for x_t in sequence:  # one step per element: the graph is as long as the input
            h = self.cell(x_t, h)
        return self.readout(h)


class RandomDepthNet(nn.Module):
    """Applies one shared linear layer a random number of times (1 to 4) on each pass."""

    def __init__(self, features: int = 8, max_depth: int = 4, rng: random.Random | None = None):
        super().__init__()
        self.shared = nn.Linear(features, features)
        self.max_depth = max_depth
        self.rng = rng or random.Random()
        self.last_depth = 0

    def forward(self, x):
        self.last_depth = self.rng.randint(1, self.max_depth)
        for _ in range(self.last_depth):
            x = torch.relu(self.shared(x))  # the same weights every time
        return x
