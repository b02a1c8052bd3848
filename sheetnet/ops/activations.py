"""Activations: numpy forward, derivative and spreadsheet formula, side by side.

``fn(z)`` and ``grad(z, a)`` work on arrays of net inputs ``z`` (and outputs ``a``);
``xl_fn(z)`` and ``xl_grad(z, a)`` turn cell references into formula text that computes
the same number in the same way, so the engine and the workbook cannot drift.

``fn(z, out=...)`` writes the activations into ``out`` (an array shaped like ``z``, not
``z`` itself) instead of allocating: the engine passes the trace's storage so that a
step's values land where they are recorded.  The result is the same either way.
"""

from __future__ import annotations

import numpy as np

from . import formula as f
from .registry import Registry

ACTIVATIONS = Registry("activation")

LEAK = 0.01


class Activation:
    name = ""
    elementwise = True

    def fn(self, z, out=None):
        raise NotImplementedError

    def grad(self, z, a):
        raise NotImplementedError

    def xl_fn(self, z: str) -> str:
        raise NotImplementedError

    def xl_grad(self, z: str, a: str) -> str:
        raise NotImplementedError

    def symbol(self, z: str) -> str:
        """How a textbook writes the activation of ``z``."""
        return f"{self.name}({z})"


@ACTIVATIONS.register
class Sigmoid(Activation):
    """σ(z) = 1/(1+e^{-z}), computed as e^{min(z,0)} / (1+e^{-|z|}) so no exponent is positive.

    σ'(z) = σ(z)(1−σ(z)).
    """

    name = "sigmoid"

    def fn(self, z, out=None):
        # exp(min(z, 0)) / (1 + exp(−|z|)), each operation written into a buffer: the same
        # operations in the same order as the one-line form, with two arrays instead of six.
        a = np.empty(np.shape(z)) if out is None else out
        np.minimum(z, 0.0, out=a)
        np.exp(a, out=a)
        den = np.abs(z, out=np.empty(a.shape))
        np.negative(den, out=den)
        np.exp(den, out=den)
        den += 1.0
        a /= den
        return a if a.ndim else a[()]

    def grad(self, z, a):
        return a * (1.0 - a)

    def xl_fn(self, z):
        return f.div(f.exp(f.min_(z, "0")), f.add("1", f.exp(f.neg(f.abs_(z)))))

    def xl_grad(self, z, a):
        return f.mul(a, f.sub("1", a))

    def symbol(self, z):
        return f"σ({z})"


@ACTIVATIONS.register
class Tanh(Activation):
    """tanh(z);  tanh'(z) = 1 − tanh(z)²."""

    name = "tanh"

    def fn(self, z, out=None):
        return np.tanh(z, out=out)

    def grad(self, z, a):
        return 1.0 - a * a

    def xl_fn(self, z):
        return f.tanh(z)

    def xl_grad(self, z, a):
        return f.sub("1", f.mul(a, a))


@ACTIVATIONS.register
class Relu(Activation):
    """relu(z) = max(0, z);  relu'(z) = 1 if z > 0 else 0 (so relu'(0) = 0, as torch)."""

    name = "relu"

    def fn(self, z, out=None):
        return np.maximum(z, 0.0, out=out)

    def grad(self, z, a):
        return (z > 0).astype(float)

    def xl_fn(self, z):
        return f.max_("0", z)

    def xl_grad(self, z, a):
        return f.if_(f.gt(z, "0"), "1", "0")


@ACTIVATIONS.register
class LeakyRelu(Activation):
    """leaky_relu(z) = z if z > 0 else 0.01·z;  derivative 1 if z > 0 else 0.01 (torch's rules)."""

    name = "leaky_relu"

    def fn(self, z, out=None):
        a = np.where(z > 0, z, LEAK * z)
        if out is None:
            return a
        out[...] = a
        return out

    def grad(self, z, a):
        return np.where(z > 0, 1.0, LEAK)

    def xl_fn(self, z):
        return f.if_(f.gt(z, "0"), z, f.mul(f.num(LEAK), z))

    def xl_grad(self, z, a):
        return f.if_(f.gt(z, "0"), "1", f.num(LEAK))


@ACTIVATIONS.register
class Linear(Activation):
    """identity: a = z;  derivative 1."""

    name = "linear"

    def fn(self, z, out=None):
        if out is None:
            return np.array(z, dtype=float, copy=True)
        out[...] = z
        return out

    def grad(self, z, a):
        return np.ones_like(z)

    def xl_fn(self, z):
        return z

    def xl_grad(self, z, a):
        return "1"

    def symbol(self, z):
        return z


@ACTIVATIONS.register
class Softmax(Activation):
    """softmax(z)_k = e^{z_k − max z} / Σ_j e^{z_j − max z}, over the units of one sample.

    Not element-wise: it is only allowed on the output layer together with cross_entropy,
    whose fused derivative (∂l/∂z = softmax(z)·Σt − t) is defined in losses.py.  In the
    workbook each unit gets a helper cell e_k = EXP(z_k − MAX(z)) and a_k = e_k / SUM(e).
    """

    name = "softmax"
    elementwise = False

    def fn(self, z, out=None):
        e = self.exps(z)
        return np.divide(e, e.sum(axis=-1, keepdims=True), out=out)

    def exps(self, z):
        """e^{z − max z} per sample (rows of ``z``)."""
        return np.exp(z - z.max(axis=-1, keepdims=True))

    def grad(self, z, a):  # pragma: no cover - guarded by spec validation
        raise TypeError("softmax has no element-wise derivative; it is fused with cross_entropy")

    def xl_exp(self, z: str, z_all: str) -> str:
        """Helper cell: EXP(z_k − MAX(z_1..z_K)); ``z_all`` is the range of the sample's net inputs."""
        return f.exp(f.sub(z, f.max_(z_all)))

    def xl_fn(self, e: str, e_all: str) -> str:  # type: ignore[override]
        """a_k = e_k / SUM(e_1..e_K)."""
        return f.div(e, f.sum_(e_all))

    def xl_grad(self, z, a):  # pragma: no cover
        raise TypeError("softmax has no element-wise derivative")
