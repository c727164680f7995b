"""Models found in a file by reading it, built only when asked."""

import pytest
import torch

from gradstudio.core.model_files import find_models, guess_input, instantiate

SOURCE = '''
import torch
from torch import nn
import os  # a file can do anything: find_models must not run it
os.environ["GRADSTUDIO_RAN_IT"] = "1"


class Block(nn.Module):
    """A residual block."""
    def __init__(self, channels, *, scale=1.0):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.scale = scale

    def forward(self, x):
        return x + self.scale * self.conv(x)


class Net(Block):
    def __init__(self, channels: int = 4):
        super().__init__(channels)


class Head(nn.Linear):
    pass


class NotAModel:
    pass


def make_net(depth=2) -> nn.Module:
    return nn.Sequential(*[Block(4) for _ in range(depth)])


def helper(x):
    return x * 2
'''


def test_find_models_reads_without_running(monkeypatch):
    monkeypatch.delenv("GRADSTUDIO_RAN_IT", raising=False)
    found = {c.name: c for c in find_models(SOURCE)}
    import os

    assert "GRADSTUDIO_RAN_IT" not in os.environ
    assert list(found) == ["Block", "Net", "Head", "make_net"]
    assert found["Block"].required == ["channels"]
    assert [(p.name, p.default) for p in found["Block"].parameters] == [("channels", None), ("scale", "1.0")]
    assert found["Net"].parameters[0].annotation == "int" and found["Net"].required == []
    assert found["make_net"].kind == "function" and found["Block"].doc == "A residual block."


def test_instantiate_builds_and_guesses_an_input():
    model = instantiate(SOURCE, "<model.py>", "make_net", {"depth": 3})
    x = guess_input(model)
    assert x.shape == (2, 4, 32, 32)
    assert model(x).shape == x.shape


def test_bad_files_and_names_give_clear_errors():
    with pytest.raises(SyntaxError) as err:
        find_models("class A(nn.Module):\n    def __init__(self:\n")
    assert err.value.lineno == 2
    with pytest.raises(LookupError, match="defines no 'Nope'"):
        instantiate(SOURCE, "<model.py>", "Nope", {})
    with pytest.raises(TypeError, match="not an nn.Module"):
        instantiate(SOURCE, "<model.py>", "helper", {"x": 1})


def test_guess_input_for_common_first_layers():
    assert guess_input(torch.nn.Sequential(torch.nn.Embedding(10, 4))).dtype == torch.long
    assert guess_input(torch.nn.LSTM(3, 5, batch_first=True)).shape == (2, 8, 3)
    assert guess_input(torch.nn.ReLU()) is None
