"""Gradient descent on a function: each step evaluates f and its exact gradient at the point,
then moves it with an optimizer of the registry (the same numpy update the networks use):

    g_k = ∇f(θ_k);   θ_{k+1} = update(θ_k, g_k, state, η_k),   η_k = η / (1 + lr_decay·k)

The run stops early, at the last finite point, if f, the gradient or the point stops being a
finite number (a learning rate too large): ``diverged_at`` is then the step that failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..engine.schedule import learning_rate
from ..ops import OPTIMIZERS
from .printing import numpy_function


def hyperparameters(spec) -> dict:
    tr = spec.train
    return dict(momentum=tr.momentum, beta1=tr.beta1, beta2=tr.beta2, alpha=tr.alpha, eps=tr.eps)


@dataclass
class FunctionTrace:
    spec: object
    points: np.ndarray  # (steps + 1, n): θ_0 … θ_steps
    values: np.ndarray  # (steps + 1,): f(θ_k)
    grads: np.ndarray  # (steps, n): ∇f(θ_k), the gradient step k used
    lr: np.ndarray  # (steps,): η_k
    states: dict = field(default_factory=dict)  # name -> (steps, n): the optimizer state after step k
    shown: dict = field(default_factory=dict)  # name -> (steps, n): Adam's m̂, v̂
    diverged_at: int | None = None  # the step (from 1) whose result was not finite

    @property
    def n_steps(self) -> int:
        return len(self.grads)

    @property
    def path(self) -> pd.DataFrame:
        """One row per point θ_k (row 0: the start): the variables, f, the gradient there, and the
        optimizer state after the step taken from it (the last point has no step)."""
        names = self.spec.variables
        table = pd.DataFrame(self.points, columns=list(names), index=pd.RangeIndex(len(self.points), name="step"))
        table["f"] = self.values
        n = self.n_steps
        for j, v in enumerate(names):
            table[f"∂f/∂{v}"] = np.append(self.grads[:, j], np.nan) if n < len(table) else self.grads[:, j]
        table["lr"] = np.append(self.lr, np.nan)
        for name, values in {**self.states, **self.shown}.items():
            for j, v in enumerate(names):
                table[f"{name}[{v}]"] = np.append(values[:, j], np.nan)
        return table

    def to_json(self) -> dict:
        return {"variables": list(self.spec.variables), "points": self.points.tolist(), "values": self.values.tolist(),
                "gradients": self.grads.tolist(), **({"diverged_at": self.diverged_at} if self.diverged_at else {})}


def train_function(spec) -> FunctionTrace:
    syms = spec.symbols
    f_np = numpy_function(spec.expr, syms)
    g_np = [numpy_function(g, syms) for g in spec.gradient()]
    opt, hp, n, steps = OPTIMIZERS[spec.train.optimizer], hyperparameters(spec), len(syms), spec.steps
    points, values, grads = np.empty((steps + 1, n)), np.empty(steps + 1), np.empty((steps, n))
    lr = np.array([learning_rate(spec, k) for k in range(steps)])
    states = {s: np.empty((steps, n)) for s in opt.state}
    shown = {s: np.empty((steps, n)) for s in opt.shown}
    theta = spec.start.astype(float).copy()
    state = opt.init_state(n)
    diverged = None
    with np.errstate(all="ignore"):
        points[0], values[0] = theta, float(f_np(*theta))
        for k in range(steps):
            g = np.array([float(gj(*theta)) for gj in g_np])
            derived = opt.update(theta, g, state, lr[k], k + 1, hp)
            value = float(f_np(*theta))
            if not (np.all(np.isfinite(g)) and np.all(np.isfinite(theta)) and np.isfinite(value)
                    and all(np.all(np.isfinite(s)) for s in state.values())):
                diverged = k + 1
                break
            grads[k], points[k + 1], values[k + 1] = g, theta, value
            for s in opt.state:
                states[s][k] = state[s]
            for s in opt.shown:
                shown[s][k] = derived[s]
    done = steps if diverged is None else diverged - 1
    return FunctionTrace(spec=spec, points=points[:done + 1], values=values[:done + 1], grads=grads[:done],
                         lr=lr[:done], states={s: v[:done] for s, v in states.items()},
                         shown={s: v[:done] for s, v in shown.items()}, diverged_at=diverged)
