# Sub-modules: blocks inside blocks. A residual block, a stage of equal channels,
# and a net cascading stages of different channels.
import torch
from torch import nn


class ResidualBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + x)  # the residual connection


class Stage(nn.Module):
    def __init__(self, channels, depth):
        super().__init__()
        self.blocks = nn.Sequential(*[ResidualBlock(channels) for _ in range(depth)])

    def forward(self, x):
        return self.blocks(x)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.stage1 = Stage(8, depth=2)
        self.down = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.stage2 = Stage(16, depth=2)
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        x = self.stage1(self.stem(x))
        x = self.stage2(self.down(x))
        return self.head(x.mean(dim=(2, 3)))


net = Net()
print(sum(p.numel() for p in net.parameters()), "parameters")
images = torch.randn(2, 3, 16, 16)
labels = torch.tensor([3, 7])
loss = nn.functional.cross_entropy(net(images), labels)
loss.backward()
