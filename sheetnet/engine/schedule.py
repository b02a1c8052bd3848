"""The learning rate in force in each epoch (SPEC.md): one rule for the engine and its trace."""

from __future__ import annotations


def learning_rate(spec, epoch: int) -> float:
    """lr_e = lr / (1 + lr_decay·e), epoch e counted from 0; not compounded."""
    return spec.train.lr / (1.0 + spec.train.lr_decay * epoch)
