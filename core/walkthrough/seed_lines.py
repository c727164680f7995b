"""The seed's training loop as real code, one function per line.

Each line runs inside its own function whose body reads exactly like the slide, so the
events the recorder makes point at a source line that says `outputs = net(images)`.
"""

from __future__ import annotations

LINES: tuple[str, ...] = (
    "optimizer.zero_grad()",
    "outputs = net(images)",
    "loss = loss_fn(outputs, labels)",
    "loss.backward()",
    "optimizer.step()",
)
ZERO_GRAD, FORWARD, LOSS, BACKWARD, STEP = range(len(LINES))


def zero_grad_line(optimizer) -> None:
    optimizer.zero_grad()


def forward_line(net, images):
    outputs = net(images)
    return outputs


def loss_line(loss_fn, outputs, labels):
    loss = loss_fn(outputs, labels)
    return loss


def backward_line(loss, retain_graph: bool) -> None:
    if retain_graph:
        loss.backward(retain_graph=True)
    else:
        loss.backward()


def step_line(optimizer) -> None:
    optimizer.step()
