# Static graphs: forward branches on the data, so each input takes its own path.
# A compiler tracing one run would keep one branch; the tape shows both.
import torch
from torch import nn


class SignBranch(nn.Module):
    def __init__(self):
        super().__init__()
        self.up = nn.Linear(3, 3)
        self.down = nn.Linear(3, 3)

    def forward(self, x):
        if x.sum() > 0:          # decided by the data, at run time
            return self.up(x).relu()
        return self.down(x).tanh()


net = SignBranch()
positive = torch.tensor([[1.0, 2.0, 3.0]])
negative = -positive

net(positive).sum().backward()   # takes the `up` branch
net(negative).sum().backward()   # takes the `down` branch
print(net.up.weight.grad is not None, net.down.weight.grad is not None)
