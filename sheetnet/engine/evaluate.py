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

from ..ops import formula as f


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


def xl_right(kind: str, outs: list[str], targets: list[str], out_range: str) -> str:
    """``right`` as a spreadsheet formula on one sample's output and target cells: 1 where the
    answer is the target's class, else 0.

    - one-hot: the target at the first largest output (IF(o1>=MAX(…), t1, IF(o2>=MAX(…), t2, …)),
      argmax's first maximum), which is 1 exactly when that output is the target's class;
    - binary: IF(out >= 0.5, t, 1 − t);
    - sign: per output IF(out > 0, IF(t > 0, 1, 0), IF(t > 0, 0, 1)), the smallest of them."""
    if kind == "one-hot":
        top = f.max_(out_range)
        text = targets[-1]
        for o, t in zip(reversed(outs[:-1]), reversed(targets[:-1])):
            text = f.if_(f.le(top, o), t, text)
        return text
    if kind == "binary":
        return f.if_(f.le("0.5", outs[0]), targets[0], f.sub("1", targets[0]))
    if kind == "sign":
        each = [f.if_(f.gt(o, "0"), f.if_(f.gt(t, "0"), "1", "0"), f.if_(f.gt(t, "0"), "0", "1"))
                for o, t in zip(outs, targets)]
        return each[0] if len(each) == 1 else f.min_(*each)
    raise ValueError(f"no right answers for targets of kind {kind!r}")


def evaluate(model, theta: np.ndarray, inputs: np.ndarray, targets: np.ndarray) -> Evaluation:
    """The loss and the count of right answers of parameters ``theta`` on a data set."""
    za = model.forward(theta, inputs)
    _, loss, _ = model.losses(theta, za, targets)
    hits = right(za[-1][1], targets)
    return Evaluation(float(loss), None if hits is None else int(hits.sum()), len(inputs))
