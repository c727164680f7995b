"""gradstudio: watch PyTorch's dynamic autograd graph being built and gradients flow back.

`gradstudio.core` holds the engine (no Qt); `gradstudio.gui` the desktop app.

    import gradstudio
    gradstudio.show(model, example_input)   # opens the app on your model; returns when closed
"""

__version__ = "0.1.0"


def show(model, example_input, *, backward: bool = True, block: bool = True):
    """Record `model(example_input)` (and a backward from its output) and open the app on it.

    Args:
        model: any `torch.nn.Module`.
        example_input: a tensor, or a tuple of the forward's arguments.
        backward: also play back a backward pass (from the output's sum if not a scalar).
        block: wait until the window is closed (False: return the window, e.g. in notebooks).
    """
    from gradstudio.gui.show import show_model

    return show_model(model, example_input, backward=backward, block=block)
