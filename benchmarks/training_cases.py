"""The training benchmarks' cases: models and data, the plain PyTorch loop they are compared
with, and the recipe that makes a gradstudio run of them. No Qt here."""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

import torch
from torch import nn

from gradstudio.core.data import LoaderSettings, digits, spirals
from gradstudio.core.training.engine import make_optimizer
from gradstudio.core.training.probe import data_bounds, decision_grid
from gradstudio.core.training.recipe import TrainingRecipe


def arguments(doc: str) -> argparse.Namespace:
    """The options both training benchmarks take."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=32)
    return parser.parse_args()


def device_label(device: str) -> str:
    """`cuda (NVIDIA H100 80GB HBM3)`, `cpu (2 threads)`: what a printed figure was measured on."""
    if device.startswith("cuda"):
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"{device} ({torch.get_num_threads()} threads)"


def mlp_on_spirals():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
    data = spirals(size=2000)
    return model, data, partial(decision_grid, bounds=data_bounds(data.x), resolution=100)


def cnn_on_digits():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, 10))
    return model, digits(flatten=False), None


CASES = {"MLP on spirals": mlp_on_spirals, "small CNN on digits": cnn_on_digits}


def plain(model, loader, config):
    device = torch.device(config.device)
    net = model.to(device)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = make_optimizer(net.parameters(), config)
    for _ in range(config.epochs):
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            optimizer.zero_grad()
            outputs = net(images)
            loss = loss_fn(outputs, labels)
            loss.item()
            loss.backward()
            optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)  # queued kernels are part of the time


def recipe_for(make, args, config, db: Path):
    model, data, probe = make()
    settings = LoaderSettings(batch_size=args.batch, validation_fraction=0)
    return TrainingRecipe(model, data, settings, config, store_path=str(db), run_name="benchmark",
                          probe=probe), data
