"""Built-in datasets and loaders: deterministic, the right shapes, learnable, clear errors."""

import pytest
import torch

from gradstudio.core.data import DATASETS, LoaderSettings, make_loaders, spirals


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_every_dataset_is_deterministic_and_well_formed(name):
    a, b = DATASETS[name](seed=3), DATASETS[name](seed=3)
    torch.testing.assert_close(a.x, b.x)
    x, y = a[0]
    assert x.dim() == 1 and len(a) >= 100
    if a.task == "classification":
        assert a.num_features == 2 and a.num_classes >= 2 and y.dtype == torch.long
    else:
        assert a.y.shape == (len(a), 1)
    assert not torch.equal(DATASETS[name](seed=4).x, a.x) or name in ("sine", "polynomial", "step")


def test_loaders_split_and_batch_reproducibly():
    ds = spirals(size=500)
    train, val = make_loaders(ds, LoaderSettings(batch_size=64, validation_fraction=0.2, seed=1))
    assert len(train.dataset) == 400 and len(val.dataset) == 100
    xb, yb = next(iter(train))
    assert xb.shape == (64, 2) and yb.shape == (64,)
    again, _ = make_loaders(ds, LoaderSettings(batch_size=64, validation_fraction=0.2, seed=1))
    torch.testing.assert_close(next(iter(again))[0], xb)


def test_spirals_are_learnable_by_a_small_mlp():
    torch.manual_seed(0)
    ds = spirals(size=400, noise=0.05)
    net = torch.nn.Sequential(torch.nn.Linear(2, 64), torch.nn.Tanh(), torch.nn.Linear(64, 2))
    opt = torch.optim.Adam(net.parameters(), lr=0.02)
    train, _ = make_loaders(ds, LoaderSettings(batch_size=64, validation_fraction=0))
    first = last = None
    for epoch in range(60):
        for xb, yb in train:
            loss = torch.nn.functional.cross_entropy(net(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        first = first if first is not None else loss.item()
        last = loss.item()
    assert last < first / 2


@pytest.mark.parametrize(
    "settings, words",
    [(LoaderSettings(batch_size=0), "batch_size"), (LoaderSettings(validation_fraction=1.0), "validation_fraction"),
     (LoaderSettings(num_workers=-1), "num_workers")],
)
def test_bad_settings_name_the_field(settings, words):
    with pytest.raises(ValueError, match=words):
        make_loaders(spirals(size=50), settings)


def test_bad_dataset_sizes_name_the_field():
    with pytest.raises(ValueError, match="size"):
        spirals(size=1)
    with pytest.raises(ValueError, match="noise"):
        spirals(noise=-1)
