"""Optimizers (torch.optim semantics): numpy update and one formula per state cell.

Every optimizer works on flat float64 vectors: ``p`` (parameters, updated in place),
``g`` (the batch gradient) and its state vectors, all of one length.  ``t`` counts steps
from 1 over the whole run; ``lr`` is the learning rate in force for the step.  ``work``,
if given, is a scratch vector of the same length that ``update`` may overwrite, so that a
training step allocates no temporary vector of the network's size (the result is the same).

For the workbook, ``xl_state(name, g, prev, cur, t)`` gives the formula of the new value of
the state cell ``name`` (``prev`` maps state names to the previous step's cells, or is empty
on the first step, when every state starts at 0; ``cur`` to this step's cells, for the
derived values in ``shown``), and ``xl_param(p, g, state, lr)`` the
formula of the updated parameter.  Settings are referred to through ``hp``, which maps each
setting (``momentum``, ``beta1``, ``beta2``, ``alpha``, ``eps``) to its reference: by default the
workbook's defined name (``momentum``, ``beta_1``, ``beta_2``, ``alpha``, ``eps``); the
walk-through passes symbols that print as the setting's value.
"""

from __future__ import annotations

import numpy as np

from . import formula as f
from .registry import Registry

OPTIMIZERS = Registry("optimizer")
SETTINGS = ("momentum", "beta1", "beta2", "alpha", "eps")
NAMES = {"momentum": "momentum", "beta1": "beta_1", "beta2": "beta_2", "alpha": "alpha", "eps": "eps"}  # defined names


def _decayed(coef: str, prev: str | None, new: str) -> str:
    """coef·prev + new, or just new on the first step (prev = 0)."""
    return new if prev is None else f.add(f.mul(coef, prev), new)


def _scaled_step(lr, g, s, eps, work=None):
    """η·g / (√s + ε), computed in that order (into ``work`` if given)."""
    den = np.sqrt(s, out=work)
    den += eps
    return np.divide(lr * g, den, out=den)


class Optimizer:
    name = ""
    state: tuple[str, ...] = ()  # vectors carried from step to step
    shown: tuple[str, ...] = ()  # derived per-step values shown in the workbook (adam's m̂, v̂)
    hyper: tuple[str, ...] = ()  # settings it reads
    equations: dict[str, str] = {}

    def init_state(self, n: int) -> dict:
        return {s: np.zeros(n) for s in self.state}

    def update(self, p, g, state, lr, t, hp, work=None) -> dict:
        """Update ``p`` and ``state`` in place; return the derived values in ``shown``."""
        raise NotImplementedError

    def xl_state(self, name, g, prev, cur, t, hp=NAMES) -> str:
        raise NotImplementedError

    def xl_param(self, p, g, state, lr, hp=NAMES) -> str:
        raise NotImplementedError


@OPTIMIZERS.register
class SGD(Optimizer):
    """p ← p − η·g."""

    name = "sgd"
    equations = {"param": "w⁺ = w − η·g"}

    def update(self, p, g, state, lr, t, hp, work=None):
        p -= np.multiply(g, lr, out=work)  # p −= η·g
        return {}

    def xl_param(self, p, g, state, lr, hp=NAMES):
        return f.sub(p, f.mul(lr, g))


@OPTIMIZERS.register
class Momentum(Optimizer):
    """v ← μ·v + g (v = g on the first step, torch's dampening 0);  p ← p − η·v."""

    name = "momentum"
    state = ("v",)
    hyper = ("momentum",)
    equations = {"v": "v = μ·v + g", "param": "w⁺ = w − η·v"}

    def update(self, p, g, state, lr, t, hp, work=None):
        v = state["v"]
        v *= hp["momentum"]
        v += g
        p -= np.multiply(v, lr, out=work)  # p −= η·v
        return {}

    def xl_state(self, name, g, prev, cur, t, hp=NAMES):
        return _decayed(hp["momentum"], prev.get("v"), g)

    def xl_param(self, p, g, state, lr, hp=NAMES):
        return f.sub(p, f.mul(lr, state["v"]))


@OPTIMIZERS.register
class Adagrad(Optimizer):
    """s ← s + g²;  p ← p − η·g/(√s + ε)."""

    name = "adagrad"
    state = ("s",)
    hyper = ("eps",)
    equations = {"s": "s = s + g²", "param": "w⁺ = w − η·g/(√s + ε)"}

    def update(self, p, g, state, lr, t, hp, work=None):
        s = state["s"]
        s += g * g
        p -= _scaled_step(lr, g, s, hp["eps"], work)
        return {}

    def xl_state(self, name, g, prev, cur, t, hp=NAMES):
        return _decayed("1", prev.get("s"), f.mul(g, g))

    def xl_param(self, p, g, state, lr, hp=NAMES):
        return f.sub(p, f.div(f.mul(lr, g), f.add(f.sqrt(state["s"]), hp["eps"])))


@OPTIMIZERS.register
class RMSprop(Optimizer):
    """s ← α·s + (1−α)·g²;  p ← p − η·g/(√s + ε)  (not centred)."""

    name = "rmsprop"
    state = ("s",)
    hyper = ("alpha", "eps")
    equations = {"s": "s = α·s + (1−α)·g²", "param": "w⁺ = w − η·g/(√s + ε)"}

    def update(self, p, g, state, lr, t, hp, work=None):
        s = state["s"]
        a = hp["alpha"]
        s *= a
        s += (1.0 - a) * (g * g)
        p -= _scaled_step(lr, g, s, hp["eps"], work)
        return {}

    def xl_state(self, name, g, prev, cur, t, hp=NAMES):
        return _decayed(hp["alpha"], prev.get("s"), f.mul(f.sub("1", hp["alpha"]), f.mul(g, g)))

    def xl_param(self, p, g, state, lr, hp=NAMES):
        return f.sub(p, f.div(f.mul(lr, g), f.add(f.sqrt(state["s"]), hp["eps"])))


@OPTIMIZERS.register
class Adam(Optimizer):
    """m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  m̂ = m/(1−β1^t);  v̂ = v/(1−β2^t);
    p ← p − η·m̂/(√v̂ + ε)."""

    name = "adam"
    state = ("m", "v")
    shown = ("m_hat", "v_hat")
    hyper = ("beta1", "beta2", "eps")
    equations = {"m": "m = β1·m + (1−β1)·g", "v": "v = β2·v + (1−β2)·g²",
                 "m_hat": "m̂ = m/(1−β1^t)", "v_hat": "v̂ = v/(1−β2^t)",
                 "param": "w⁺ = w − η·m̂/(√v̂ + ε)"}

    def update(self, p, g, state, lr, t, hp, work=None):
        b1, b2 = hp["beta1"], hp["beta2"]
        m, v = state["m"], state["v"]
        m *= b1
        m += (1.0 - b1) * g
        v *= b2
        v += (1.0 - b2) * (g * g)
        m_hat = m / (1.0 - b1 ** t)
        v_hat = v / (1.0 - b2 ** t)
        p -= _scaled_step(lr, m_hat, v_hat, hp["eps"], work)
        return {"m_hat": m_hat, "v_hat": v_hat}

    def xl_state(self, name, g, prev, cur, t, hp=NAMES):
        if name == "m":
            return _decayed(hp["beta1"], prev.get("m"), f.mul(f.sub("1", hp["beta1"]), g))
        if name == "v":
            return _decayed(hp["beta2"], prev.get("v"), f.mul(f.sub("1", hp["beta2"]), f.mul(g, g)))
        if name == "m_hat":
            return f.div(cur["m"], f.sub("1", f.power(hp["beta1"], t)))
        if name == "v_hat":
            return f.div(cur["v"], f.sub("1", f.power(hp["beta2"], t)))
        raise KeyError(name)

    def xl_param(self, p, g, state, lr, hp=NAMES):
        return f.sub(p, f.div(f.mul(lr, state["m_hat"]), f.add(f.sqrt(state["v_hat"]), hp["eps"])))
