"""The registry: every activation, loss and optimizer, each defined once with its numpy
forward, its derivative and its spreadsheet formula side by side."""

from .activations import ACTIVATIONS, Activation
from .losses import LOSSES, Loss
from .optimizers import OPTIMIZERS, Optimizer

__all__ = ["ACTIVATIONS", "LOSSES", "OPTIMIZERS", "Activation", "Loss", "Optimizer"]
