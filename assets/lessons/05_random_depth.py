# Crazy networks: a random number (1 to 4) of linear layers on each pass, sharing weights.
# Every run may build a different graph; Run again (Ctrl+Shift+R) shows what changed.
import random

import torch
from torch import nn


class RandomDepth(nn.Module):
    def __init__(self, features):
        super().__init__()
        self.shared = nn.Linear(features, features)

    def forward(self, x):
        depth = random.randint(1, 4)
        for _ in range(depth):
            x = torch.relu(self.shared(x))  # the same weights every time
        return x


net = RandomDepth(4)
x = torch.randn(2, 4)
loss = net(x).sum()
loss.backward()
