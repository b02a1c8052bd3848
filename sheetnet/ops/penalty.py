"""The weight penalty: value, gradient and formulas side by side.

    penalty = (λ2/2)·Σ w² + λ1·Σ |w|      over the weights of every layer (never biases)
    ∂penalty/∂w = λ2·w + λ1·sign(w)

Added once per step to the batch loss, from the parameters before the update.
"""

from __future__ import annotations

import numpy as np

from . import formula as f


def value(w: np.ndarray, l1: float, l2: float) -> float:
    return 0.5 * l2 * float(w @ w) + l1 * float(np.abs(w).sum())


def grad(w: np.ndarray, l1: float, l2: float) -> np.ndarray:
    return l2 * w + l1 * np.sign(w)


def xl_value(w_ranges: list[str], l1: str, l2: str) -> str:
    """``w_ranges``: one range per layer's weight block."""
    abs_sum = f.add(*[f.sum_abs(r) for r in w_ranges])
    return f.add(f.mul(f.div(l2, "2"), f.sumsq(*w_ranges)), f.mul(l1, abs_sum))


def xl_grad(w: str, l1: str, l2: str) -> str:
    return f.add(f.mul(l2, w), f.mul(l1, f.sign(w)))
