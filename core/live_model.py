"""A model gradstudio holds (from `gradstudio.show` or File › Open model): its module tree
with parameter counts, `requires_grad` per module, and recording it again after a change.

A script's models are rebuilt by its own code on every run: changing one here records
that model again on the arguments the script first gave it, and Run re-runs the script.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .builder.layers import count_parameters
from .capture import Tape, record

SUMMARY = '''# Recorded by {origin}
#
#   output = model(example_input)          # {shape}
#   {backward}
#
# Step with the arrow keys; the inspector shows where each op ran in your code.
'''


@dataclass
class ModuleRow:
    path: str  # "" for the model itself
    class_name: str
    depth: int
    trainable: int  # parameters of this module and its children, shared ones once
    frozen: int
    params: list[tuple[str, tuple, bool]]  # its own parameters: (name, shape, requires_grad)

    @property
    def trains(self) -> bool | None:
        """True/False when all its parameters agree, None when mixed or it has none."""
        if self.trainable and not self.frozen:
            return True
        if self.frozen and not self.trainable:
            return False
        return None


def module_rows(model: nn.Module) -> list[ModuleRow]:
    """`named_modules()` in order, with trainable/frozen counts."""
    rows = []
    for path, module in model.named_modules():
        trainable, frozen = count_parameters(module)
        own = [(name, tuple(p.shape), p.requires_grad) for name, p in module.named_parameters(recurse=False)]
        rows.append(ModuleRow(path, type(module).__name__, path.count(".") + (path != ""), trainable, frozen, own))
    return rows


def models_in(namespace: dict) -> dict[str, nn.Module]:
    """The top-level models a script left in its globals (not sub-modules of another)."""
    found = {k: v for k, v in namespace.items() if isinstance(v, nn.Module) and not k.startswith("_")}
    inner = {id(m) for v in found.values() for m in list(v.modules())[1:]}
    return {k: v for k, v in found.items() if id(v) not in inner}


class LiveModel:
    def __init__(self, model: nn.Module, example_input, backward: bool = True, origin: str = "gradstudio.show",
                 from_script: bool = False, name: str = ""):
        self.model = model
        self.example_input = example_input
        self.backward = backward
        self.origin = origin
        self.from_script = from_script  # the editor keeps the script; Run re-runs it
        self.name = name  # its variable in the script: module paths then match the script's run

    def set_trainable(self, path: str, trains: bool) -> None:
        """requires_grad for every parameter of the module at `path` ("" = the whole model)."""
        self.model.get_submodule(path).requires_grad_(trains)

    def record(self) -> tuple[Tape, str]:
        """Forward the example under record(); then, if asked and possible, backward from
        the output (its sum when it is not a scalar)."""
        inputs = self.example_input if isinstance(self.example_input, tuple) else (self.example_input,)
        with record(self.model, model_path=self.name) as tape:
            output = self.model(*inputs)
            first = output[0] if isinstance(output, (tuple, list)) else output
            did = "no backward (backward=False)"
            if not (isinstance(first, torch.Tensor) and first.requires_grad):
                did = "no backward: the output does not require grad (every parameter frozen?)"
            elif self.backward:
                loss = first if first.dim() == 0 else first.float().sum()
                loss.backward()
                did = "output.backward()" if first.dim() == 0 else "output.sum().backward()   # a stand-in loss"
        shape = "×".join(map(str, first.shape)) if isinstance(first, torch.Tensor) else type(first).__name__
        origin = f"{self.origin}({type(self.model).__name__}, example_input)"
        return tape, SUMMARY.format(origin=origin, shape=shape, backward=did)
