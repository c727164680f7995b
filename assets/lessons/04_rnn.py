# RNNs with variable-length inputs are inherently dynamic: the graph is as long as the input.
# Run it again (Ctrl+Shift+R) with another length and compare.
import random

import torch
from torch import nn


class RNN(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.cell = nn.RNNCell(input_size, hidden_size)
        self.readout = nn.Linear(hidden_size, 1)

    def forward(self, sequence):
        h = torch.zeros(1, self.hidden_size)
        for x_t in sequence:          # a Python loop: one cell per element
            h = self.cell(x_t, h)
        return self.readout(h)


rnn = RNN(input_size=3, hidden_size=4)
length = random.choice([2, 5, 9])
sequence = torch.randn(length, 1, 3)
loss = rnn(sequence).pow(2).sum()
loss.backward()
print("length", length)
