"""The user's own classes in the builder's palette: typed arguments, shapes, generated code."""

import pytest
import torch

from gradstudio.core.builder import GROUPS, KINDS, USER_GROUP, ModuleSpec as M, infer_shapes, python_source
from gradstudio.core.builder.palette import set_user_kinds
from gradstudio.core.builder.user_modules import register_user_modules
from gradstudio.core.runner import run_script

SCRIPT = '''
import torch
from torch import nn


class Scale(nn.Module):
    """Multiply by a learned vector."""
    def __init__(self, width, start: float = 1.0, kernel=(3, 3), name="s"):
        super().__init__()
        self.weight = nn.Parameter(torch.full((width,), start))

    def forward(self, x):
        return x * self.weight


class Twice(Scale):
    def forward(self, x):
        return super().forward(super().forward(x))


net = Twice(4)
net(torch.randn(2, 4)).sum().backward()
'''


@pytest.fixture()
def registered():
    result = run_script(SCRIPT, "<editor>")
    names = register_user_modules(result.namespace, SCRIPT)
    yield names
    set_user_kinds([])


def test_classes_of_a_run_become_palette_entries_with_typed_arguments(registered):
    assert registered == ["Scale", "Twice"]
    assert GROUPS[USER_GROUP] == ["Scale", "Twice"]
    args = {a.name: (a.type, a.default) for a in KINDS["Scale"].args}
    assert args == {"width": ("int", 16), "start": ("float", 1.0), "kernel": ("ints", (3, 3)), "name": ("str", "s")}
    assert KINDS["Scale"].doc == "Multiply by a learned vector."


def test_user_modules_build_infer_shapes_and_generate_code(registered):
    spec = M.of("Sequential", M.of("Linear", in_features=4, out_features=6), M.of("Twice", width=6))
    assert infer_shapes(spec, (3, 4)).nodes["model"].output_shape == (3, 6)
    source = python_source(spec)
    assert "class Scale(nn.Module):" in source and "class Twice(Scale):" in source
    namespace: dict = {}
    exec(compile(source, "<generated>", "exec"), namespace)
    model = namespace["Net"]()
    assert list(model.state_dict()) == list(spec.build().state_dict())
    assert model(torch.randn(3, 4)).shape == (3, 6)


def test_a_new_run_replaces_the_old_classes_and_never_shadows_builtins(registered):
    register_user_modules({"__name__": "__main__", "Linear": type("Linear", (torch.nn.Module,), {"__module__": "__main__"})},
                          "class Linear: pass\n")
    assert "Scale" not in KINDS and USER_GROUP not in GROUPS
    assert KINDS["Linear"].group == "Linear"
