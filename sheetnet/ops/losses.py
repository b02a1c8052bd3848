"""Losses: per-unit term, its derivative and their formulas, side by side.

A loss is written as per-unit terms ``term(y, t)`` (one per output unit k of a sample)
combined into the per-sample loss l_n by a sum or a mean over the K units:

    l_n = Σ_k term(y_k, t_k)           (combine = "sum")
    l_n = (1/K) Σ_k term(y_k, t_k)     (combine = "mean")

``dterm`` is ∂term/∂y, so ∂l_n/∂y_k = dterm (or dterm/K).  The batch loss is then the
mean or the sum of the l_n over the batch (``reduction`` in the spec).
"""

from __future__ import annotations

import numpy as np

from . import formula as f
from .registry import Registry

LOSSES = Registry("loss")

LN_FLOOR = -100.0  # torch's BCELoss clamps each log at -100


class Loss:
    name = ""
    combine = "mean"
    fused_with = None  # an activation name whose derivative this loss absorbs (softmax)
    hyper: tuple[str, ...] = ()  # settings the loss reads, e.g. ("delta",)
    equation = ""

    def term(self, y, t, hp):
        raise NotImplementedError

    def dterm(self, y, t, hp):
        raise NotImplementedError

    def xl_term(self, y: str, t: str, names: dict) -> str:
        raise NotImplementedError

    def xl_dterm(self, y: str, t: str, names: dict) -> str:
        raise NotImplementedError

    # -- shared by every loss -------------------------------------------------
    def per_sample(self, terms, out=None):
        """l_n from the (N, K) per-unit terms (written into ``out`` if given).

        The mean is the sum divided by K, exactly as ``terms.mean(axis=1)`` computes it.
        """
        l = np.add.reduce(terms, axis=1, out=out)
        if self.combine != "sum":
            l /= terms.shape[1]
        return l

    def dl_dy(self, y, t, hp):
        """∂l_n/∂y, shape (N, K)."""
        d = self.dterm(y, t, hp)
        return d if self.combine == "sum" else d / y.shape[1]

    def xl_dl_dy(self, y: str, t: str, k: int, names: dict) -> str:
        d = self.xl_dterm(y, t, names)
        return d if self.combine == "sum" else f.div(d, str(k))

    def xl_sample(self, terms_range: str) -> str:
        return f.sum_(terms_range) if self.combine == "sum" else f.average(terms_range)


@LOSSES.register
class HalfSSE(Loss):
    """l = ½ Σ_k (y_k − t_k)²;  ∂l/∂y_k = y_k − t_k."""

    name = "half_sse"
    combine = "sum"
    equation = "½(t − y)²"

    def term(self, y, t, hp):
        return 0.5 * (y - t) ** 2

    def dterm(self, y, t, hp):
        return y - t

    def xl_term(self, y, t, names):
        return f.mul("0.5", f.sq(f.sub(y, t)))

    def xl_dterm(self, y, t, names):
        return f.sub(y, t)


@LOSSES.register
class MSE(Loss):
    """l = (1/K) Σ_k (y_k − t_k)²;  ∂l/∂y_k = 2(y_k − t_k)/K."""

    name = "mse"
    equation = "(y − t)²"

    def term(self, y, t, hp):
        return (y - t) ** 2

    def dterm(self, y, t, hp):
        return 2.0 * (y - t)

    def xl_term(self, y, t, names):
        return f.sq(f.sub(y, t))

    def xl_dterm(self, y, t, names):
        return f.mul("2", f.sub(y, t))


@LOSSES.register
class BinaryCrossEntropy(Loss):
    """l = −(1/K) Σ_k [t ln y + (1−t) ln(1−y)], each ln clamped at −100 (torch's BCELoss).

    The clamp is written ln(max(x, e^{−100})) in numpy and in the formula alike, so LN
    never sees 0.  ∂l/∂y_k = (y − t) / max(y(1−y), ε) / K, torch's backward, whose floor ε
    is the float32 constant 1e−12 (``constexpr float EPSILON`` in ATen's Loss.cpp), i.e.
    9.999999960041972e−13 in float64.
    """

    name = "binary_cross_entropy"
    equation = "−[t·ln y + (1−t)·ln(1−y)]"
    GRAD_FLOOR = float(np.float32(1e-12))  # torch's float32 EPSILON, not the double 1e-12

    def term(self, y, t, hp):
        floor = np.exp(LN_FLOOR)
        return -(t * np.log(np.maximum(y, floor)) + (1.0 - t) * np.log(np.maximum(1.0 - y, floor)))

    def dterm(self, y, t, hp):
        return (y - t) / np.maximum(y * (1.0 - y), self.GRAD_FLOOR)

    def xl_term(self, y, t, names):
        floor = f.exp(f.num(LN_FLOOR))
        one_minus_y = f.sub("1", y)
        return f.neg(f.add(f.mul(t, f.ln(f.max_(y, floor))),
                           f.mul(f.sub("1", t), f.ln(f.max_(one_minus_y, floor)))))

    def xl_dterm(self, y, t, names):
        return f.div(f.sub(y, t), f.max_(f.mul(y, f.sub("1", y)), f.num(self.GRAD_FLOOR)))


@LOSSES.register
class Huber(Loss):
    """l = (1/K) Σ_k h(y_k − t_k), h(d) = ½d² if |d| ≤ δ else δ(|d| − ½δ) (torch's HuberLoss).

    ∂h/∂d = d if |d| ≤ δ else δ·sign(d).
    """

    name = "huber"
    hyper = ("delta",)
    equation = "huber_δ(y − t)"

    def term(self, y, t, hp):
        d = y - t
        ad = np.abs(d)
        delta = hp["delta"]
        return np.where(ad <= delta, 0.5 * d * d, delta * (ad - 0.5 * delta))

    def dterm(self, y, t, hp):
        d = y - t
        delta = hp["delta"]
        return np.where(np.abs(d) <= delta, d, delta * np.sign(d))

    def xl_term(self, y, t, names):
        d = f.sub(y, t)
        delta = names["delta"]
        return f.if_(f.le(f.abs_(d), delta), f.mul("0.5", d, d),
                     f.mul(delta, f.sub(f.abs_(d), f.mul("0.5", delta))))

    def xl_dterm(self, y, t, names):
        d = f.sub(y, t)
        delta = names["delta"]
        return f.if_(f.le(f.abs_(d), delta), d, f.mul(delta, f.sign(d)))


@LOSSES.register
class Hinge(Loss):
    """l = (1/K) Σ_k max(0, 1 − t_k y_k), t ∈ {−1, +1};  ∂/∂y_k = −t_k where 1 − t_k y_k > 0, else 0."""

    name = "hinge"
    equation = "max(0, 1 − t·y)"

    def term(self, y, t, hp):
        return np.maximum(0.0, 1.0 - t * y)

    def dterm(self, y, t, hp):
        return np.where(1.0 - t * y > 0, -t, 0.0)

    def xl_term(self, y, t, names):
        return f.max_("0", f.sub("1", f.mul(t, y)))

    def xl_dterm(self, y, t, names):
        return f.if_(f.gt(f.sub("1", f.mul(t, y)), "0"), f.neg(t), "0")


@LOSSES.register
class CrossEntropy(Loss):
    """l = −Σ_k t_k ln softmax(z)_k, with ln softmax(z)_k = z_k − max z − ln Σ_j e^{z_j − max z}.

    Fused with a softmax output layer: ∂l/∂z_k = softmax(z)_k − t_k (targets one-hot), so the
    output delta needs no element-wise derivative.  No clipping: the log-softmax is exact.
    """

    name = "cross_entropy"
    combine = "sum"
    fused_with = "softmax"
    equation = "−t·ln softmax(z)"

    def log_softmax(self, z):
        m = z.max(axis=1, keepdims=True)
        return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))

    def term_logits(self, z, t):
        return -t * self.log_softmax(z)

    def delta(self, a, t, out=None):
        """∂l/∂z for the softmax output a (written into ``out`` if given)."""
        return np.subtract(a, t, out=out)

    def xl_term_logits(self, z: str, t: str, z_all: str, e_all: str) -> str:
        return f.neg(f.mul(t, f.sub(f.sub(z, f.max_(z_all)), f.ln(f.sum_(e_all)))))

    def xl_delta(self, a: str, t: str) -> str:
        return f.sub(a, t)
