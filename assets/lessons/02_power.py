# Modules: subclass nn.Module, define forward, call the instance.
import torch
from torch import nn


class Power(nn.Module):
    def __init__(self, exponent):
        super().__init__()
        self.exponent = exponent

    def forward(self, input):
        return input**self.exponent


cube = Power(3)

inp = torch.randn(100, requires_grad=True)
output = cube(inp)
loss = output.mean()
loss.backward()
