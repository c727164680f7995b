# Data: a Dataset needs __len__ and __getitem__; a DataLoader hands out shuffled batches.
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from gradstudio.core.data import spirals


class SpiralPoints(Dataset):
    def __init__(self, size):
        self.points = spirals(size=size, noise=0.1, seed=0)  # two interleaved spiral arms

    def __len__(self):
        return len(self.points)

    def __getitem__(self, i):
        return self.points[i]  # (x, y) coordinates and the arm's label


loader = DataLoader(SpiralPoints(200), batch_size=16, shuffle=True, num_workers=0)

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
points, labels = next(iter(loader))  # one batch: 16 points, 16 labels
loss = nn.functional.cross_entropy(model(points), labels)
loss.backward()
print(points.shape, labels.shape, "loss", round(loss.item(), 3))
