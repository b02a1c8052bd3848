"""A network evaluated on a whole data set: its loss and, for classification targets, its accuracy.

The loss is the spec's loss with the whole set as one batch: the per-sample losses l_n combined
by the spec's reduction (mean or sum over all N samples), plus the penalty of the parameters —
the number the optimizer would see in a full-batch step.  It does not depend on the batch size
a run trained with, so runs with different batch sizes compare on it.

A sample counts as right when
- the targets are one-hot (K > 1 outputs, one 1 and K − 1 zeros): the largest output is at the 1;
- there is one output and the targets are 0/1 (sigmoid, binary cross-entropy, XOR): the output
  is on the target's side of 0.5;
- the targets are ±1 (hinge): every output has the target's sign.
Other targets (regression) have no accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Evaluation:
    loss: float
    correct: int | None  # None: the targets are not class labels
    total: int

    @property
    def accuracy(self) -> float | None:
        return None if self.correct is None else self.correct / self.total


def target_kind(targets: np.ndarray) -> str | None:
    """"one-hot", "binary", "sign" or None (no classes), from the targets alone."""
    t = np.asarray(targets)
    if t.shape[1] > 1 and np.all((t == 0) | (t == 1)) and np.all(t.sum(axis=1) == 1):
        return "one-hot"
    if t.shape[1] == 1 and np.all((t == 0) | (t == 1)):
        return "binary"
    if np.all(np.abs(t) == 1):
        return "sign"
    return None


def right(outputs: np.ndarray, targets: np.ndarray) -> np.ndarray | None:
    """Per sample: is the network's answer the target's class? (None: no classes)."""
    kind = target_kind(targets)
    if kind == "one-hot":
        return outputs.argmax(axis=1) == targets.argmax(axis=1)
    if kind == "binary":
        return (outputs[:, 0] >= 0.5) == (targets[:, 0] == 1)
    if kind == "sign":
        return np.all((outputs > 0) == (targets > 0), axis=1)
    return None


def evaluate(model, theta: np.ndarray, inputs: np.ndarray, targets: np.ndarray) -> Evaluation:
    """The loss and the count of right answers of parameters ``theta`` on a data set."""
    za = model.forward(theta, inputs)
    _, loss, _ = model.losses(theta, za, targets)
    hits = right(za[-1][1], targets)
    return Evaluation(float(loss), None if hits is None else int(hits.sum()), len(inputs))
