"""What `optimizer.step()` did to each parameter: old, grad, new, and the rule it followed.

For plain SGD the update is checkable by hand: `w ← w − lr·grad`. PyTorch computes it as
one fused multiply-add (`w.add_(grad, alpha=-lr)`), which can differ from the two-step
`w - lr*grad` in the last bit, so the check allows exactly that rounding and nothing more.
Other optimizers are described in words: their step depends on state no formula on a
slide can show.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..training.config import OPTIMIZERS

_ROUNDING_ULPS = 4  # float rounding of one multiply and one add, with room to spare


@dataclass
class ParamUpdate:
    """One parameter before and after a step."""

    name: str
    shape: tuple[int, ...]
    old: torch.Tensor
    grad: torch.Tensor | None
    new: torch.Tensor
    delta: torch.Tensor  # new - old
    max_abs_delta: float
    matches_sgd_rule: bool  # plain SGD only: new == old - lr*grad (False where the rule does not apply)
    rule: str  # the update rule, as a formula or in words


def _lr_text(lr: float) -> str:
    return f"{lr:g}"


def update_rule(optimizer_name: str, lr: float, momentum: float = 0.0) -> str:
    """The rule `optimizer.step()` applies, as shown next to the numbers."""
    lr_s = _lr_text(lr)
    if optimizer_name == "SGD":
        if momentum == 0:
            return f"w ← w − {lr_s}·grad"
        return (f"v ← {momentum:g}·v + grad;  w ← w − {lr_s}·v  "
                "(momentum: v is a running sum of past gradients, so no single-step check)")
    if optimizer_name in ("Adam", "AdamW"):
        decay = ", then weights shrink by weight decay" if optimizer_name == "AdamW" else ""
        return (f"{optimizer_name}: per-parameter step sizes from running moments of the gradient "
                f"(m: its mean, v: its mean square); w ← w − {lr_s}·m̂/(√v̂ + ε){decay} — no simple check")
    if optimizer_name == "RMSprop":
        return (f"RMSprop: w ← w − {lr_s}·grad/(√(running mean of grad²) + ε)"
                f"{f', with momentum {momentum:g}' if momentum else ''} — no simple check")
    raise ValueError(f"optimizer_name: expected one of {', '.join(OPTIMIZERS)}, got {optimizer_name!r}")


def follows_sgd_rule(old: torch.Tensor, grad: torch.Tensor | None, new: torch.Tensor, lr: float) -> bool:
    """new == old − lr·grad, up to the rounding of one multiply-add."""
    if grad is None:  # SGD leaves a parameter without .grad alone
        return torch.equal(new, old)
    expected = old - lr * grad
    if not new.is_floating_point():
        return torch.equal(new, expected)
    eps = torch.finfo(new.dtype).eps
    allowed = _ROUNDING_ULPS * eps * (old.abs() + (lr * grad).abs())
    return bool(((new - expected).abs() <= allowed).all())


def parameter_updates(before: dict, grads: dict, after: dict, optimizer_name: str, lr: float,
                      momentum: float = 0.0) -> list[ParamUpdate]:
    """Each parameter's change over one step, in the order of `after`."""
    rule = update_rule(optimizer_name, lr, momentum)
    plain_sgd = optimizer_name == "SGD" and momentum == 0
    updates = []
    for name, new in after.items():
        if name not in before:
            raise ValueError(f"before: no value for parameter {name!r}")
        old, grad = before[name], grads.get(name)
        if old.shape != new.shape:
            raise ValueError(f"before: parameter {name!r} has shape {list(old.shape)}, after it has {list(new.shape)}")
        old, new = old.detach(), new.detach()
        grad = None if grad is None else grad.detach()
        delta = new - old
        updates.append(ParamUpdate(
            name=name,
            shape=tuple(new.shape),
            old=old,
            grad=grad,
            new=new,
            delta=delta,
            max_abs_delta=float(delta.abs().max()) if delta.numel() else 0.0,
            matches_sgd_rule=plain_sgd and follows_sgd_rule(old, grad, new, lr),
            rule=rule,
        ))
    return updates


def update_heatmap(update: ParamUpdate) -> torch.Tensor:
    """The change as a 2-D grid: weights [out, in] as they are, a bias as one row, a conv
    kernel [out, in, k, k] as [out, in·k·k]."""
    delta = update.delta.detach().float().cpu()
    if delta.dim() == 0:
        return delta.reshape(1, 1)
    if delta.dim() == 1:
        return delta.reshape(1, -1)
    if delta.dim() == 2:
        return delta
    return delta.reshape(delta.shape[0], -1)
