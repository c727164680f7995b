"""gradstudio: watch PyTorch's dynamic autograd graph being built and gradients flow back.

`gradstudio.core` holds the engine (no Qt); `gradstudio.gui` the desktop app.
"""

__version__ = "0.1.0"
