"""The training engine: the seed's loop, learning for real, reproducible, failing clearly."""

import pytest
import torch
from torch import nn

from gradstudio.core.data import LoaderSettings, make_loaders, moons, spirals
from gradstudio.core.training import Diverged, TrainConfig, available_devices, resolve_device, train
from gradstudio.core.training.engine import ClassTargets


def mlp(hidden=32):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, 2))


def run(model, dataset, **config):
    train_loader, val_loader = make_loaders(dataset, LoaderSettings(batch_size=32, seed=0))
    return list(train(model, train_loader, val_loader, TrainConfig(**config)))


def test_loss_decreases_on_spirals():
    steps = run(mlp(), spirals(size=400, noise=0.05), epochs=20, lr=0.02)
    first = sum(s.loss for s in steps[:10]) / 10
    last = sum(s.loss for s in steps[-10:]) / 10
    assert last < first / 2


def test_moons_validation_accuracy_above_95_percent():
    steps = run(mlp(), moons(size=600, noise=0.1), epochs=15, lr=0.02)
    final = [s for s in steps if s.val_accuracy is not None][-1]
    assert final.val_accuracy > 0.95


def test_same_config_and_seed_give_the_same_curve():
    a = [s.loss for s in run(mlp(), spirals(size=200), epochs=3, optimizer="SGD", momentum=0.9, lr=0.05)]
    b = [s.loss for s in run(mlp(), spirals(size=200), epochs=3, optimizer="SGD", momentum=0.9, lr=0.05)]
    assert a == b


def test_stopping_and_continuing_the_generator_is_the_same_as_running_through():
    def loader():
        return make_loaders(spirals(size=200), LoaderSettings(batch_size=32, seed=0, validation_fraction=0))[0]

    through = [s.loss for s in train(mlp(), loader(), None, TrainConfig(epochs=2))]
    paused = train(mlp(), loader(), None, TrainConfig(epochs=2))
    first = [next(paused).loss for _ in range(5)]  # a pause is just not asking for more
    rest = [s.loss for s in paused]
    assert first + rest == through


def test_divergence_stops_with_the_step_and_advice():
    from gradstudio.core.data import sine

    with pytest.raises(Diverged) as err:
        run(nn.Linear(1, 1), sine(size=200), epochs=50, optimizer="SGD", lr=1e3, loss="mse")
    assert "smaller learning rate" in str(err.value) and err.value.step >= 0


def test_output_that_does_not_fit_the_loss_is_refused_before_the_first_step():
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))  # one output, but two classes
    with pytest.raises(ValueError, match=r"output \[32, 1\] does not fit the targets \[32\]"):
        run(model, moons(size=200), epochs=1, loss="cross_entropy")


def test_class_indices_bound_for_a_gpu_are_checked_on_the_cpu_in_words():
    # on a GPU a wrong index would trip a device-side assert, which breaks CUDA for the process
    targets = ClassTargets(nn.CrossEntropyLoss(), torch.Size([32, 3]), torch.device("cuda"))
    targets.check(torch.tensor([0, 2, 1, -100]))  # -100: cross entropy's ignore_index
    with pytest.raises(ValueError, match=r"target class 5 in the training data is out of range for the model's "
                                         r"3 outputs \(classes 0 to 2\)"):
        targets.check(torch.tensor([0, 5, 1]))
    with pytest.raises(ValueError, match="target class -1 in the validation data"):
        targets.check(torch.tensor([0, -1]), "validation")
    targets.check(torch.rand(4, 3))  # probabilities as targets: nothing to check
    # on the CPU torch raises its own error: no per-step cost there
    assert ClassTargets(nn.CrossEntropyLoss(), torch.Size([32, 3]), torch.device("cpu")).classes is None
    assert ClassTargets(nn.MSELoss(), torch.Size([32, 3]), torch.device("cuda")).classes is None


def test_config_errors_name_the_field():
    for bad, field in [({"optimizer": "Adamm"}, "optimizer"), ({"lr": 0}, "lr"), ({"epochs": 0}, "epochs"),
                       ({"loss": "hinge"}, "loss"), ({"device": "cuda:7"}, "device")]:
        with pytest.raises(ValueError, match=field):
            TrainConfig(**bad).check()


def test_devices():
    names = [name for name, _ in available_devices()]
    assert names[-1] == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else names[0].split(":")[0])


def test_a_model_that_does_not_take_the_inputs_is_refused_in_words():
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))  # the data has 2 features
    with pytest.raises(ValueError, match=r"does not accept the data's inputs \[32, 2\]"):
        run(model, moons(size=200), epochs=1)
