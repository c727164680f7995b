# Tracking runs: keep the config, the machine and every metric of each run.
# Run it again (Ctrl+Shift+R): another learning rate, another run in the Runs view.
import random

import torch
from torch import nn

from gradstudio.core.data import spirals
from gradstudio.core.runs import RunStore, machine_info
from gradstudio.core.runs.location import default_store_path

lr = random.choice([0.1, 0.5, 1.0])
config = {  # laid out like the app's own training runs, so the Runs view fills its columns
    "dataset": {"kind": "spirals", "options": {"size": 64, "seed": 0}},
    "model": "Linear(2, 8) · Tanh · Linear(8, 2)",
    "train": {"optimizer": "SGD", "lr": lr, "epochs": 3, "device": "cpu"},
}
data = spirals(size=64, seed=0)

torch.manual_seed(0)
net = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
optimizer = torch.optim.SGD(net.parameters(), lr=lr)

with RunStore(default_store_path()) as store:  # the database the Runs view shows
    run = store.start_run(f"lesson: spirals, lr {lr}", config, machine_info())
    for step in range(3):
        loss = nn.functional.cross_entropy(net(data.x), data.y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        store.log(run, step, loss=loss.item())
    store.finish(run, "completed")
    print(store.metrics(run, "loss"))
