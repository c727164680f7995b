"""Step through training: the five lines of the loop run one at a time on the Training
form's model and data, with the graph, the gradients and the weight update on screen."""

from .view import WalkthroughView

__all__ = ["WalkthroughView"]
