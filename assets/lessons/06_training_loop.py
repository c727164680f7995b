# Training: the loop from the slides, twice. Remove optimizer.zero_grad() to see
# gradients accumulate in .grad across the two batches.
import torch
from torch import nn

torch.manual_seed(0)
net = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(net.parameters(), lr=0.1)

images = torch.randn(4, 2)
labels = torch.tensor([0, 1, 1, 0])
for step in range(2):
    outputs = net(images)
    loss = loss_fn(outputs, labels)

    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
