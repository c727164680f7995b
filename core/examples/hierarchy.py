"""Blocks inside blocks: residual blocks -> stages of equal channels -> a cascade of stages.

The seed's "Sub modules" slide: a layer of convs with a residual connection, a set of such
layers with the same channels, and stages of different channels one after another.
"""

from torch import nn


class ResidualBlock(nn.Module):
    """conv-bn-relu-conv-bn plus the input, then relu."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + x)


class Stage(nn.Module):
    """`depth` residual blocks with the same number of channels."""

    def __init__(self, channels: int, depth: int):
        super().__init__()
        self.blocks = nn.Sequential(*[ResidualBlock(channels) for _ in range(depth)])

    def forward(self, x):
        return self.blocks(x)


class CascadeNet(nn.Module):
    """Stages of growing channels, joined by strided convs, then a classifier."""

    def __init__(self, in_channels: int = 3, widths=(8, 16), depth: int = 2, num_classes: int = 10):
        super().__init__()
        self.stem = nn.Conv2d(in_channels, widths[0], 3, padding=1)
        stages = []
        for i, width in enumerate(widths):
            if i > 0:
                stages.append(nn.Conv2d(widths[i - 1], width, 3, stride=2, padding=1))
            stages.append(Stage(width, depth))
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(widths[-1], num_classes)

    def forward(self, x):
        x = self.stages(self.stem(x))
        return self.head(self.pool(x).flatten(1))
