"""The engine: numpy forward, backward and update for a spec, every step recorded in a trace.

``training`` runs the steps (``train``, ``Model``); ``network`` holds the flat parameter vector θ and
its per-layer views; ``conv`` the convolution and pooling kernels; ``wiring`` which input feeds which
unit (shared with the formulas and the walk-through); ``schedule`` the learning rate per epoch;
``trace`` the recorded run and its labelled DataFrames.
"""

from .schedule import learning_rate
from .training import Model, Start, batches, sample_orders, train

__all__ = ["train", "Model", "Start", "batches", "sample_orders", "learning_rate"]
