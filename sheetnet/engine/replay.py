"""Recording at the cost of checkpoints: keep the losses of every step and the parameters and
optimizer state every K steps; recompute any step's full record on access by replaying the
run from the checkpoint before it.

The engine is deterministic (the same numpy calls on the same numbers, in the same order),
so a replayed step is the recorded one bit for bit (tests/test_replay.py compares them with
``train(spec)``'s full trace).  Memory: the losses, plus (θ and each optimizer state vector)
per checkpoint, ⌈steps / K⌉ of them.

    run = train_checkpointed(spec, every=100)
    run.loss                       # every step's batch loss (always kept)
    rec = run.step_record(k)       # z, a, delta, sample_loss, grad, theta_before, theta_after,
                                   # state_after, shown of step k, replayed from step k − k mod K
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .training import Model, Start, batches, epoch_data, sample_orders
from .schedule import learning_rate
from .trace import Trace


@dataclass
class StepRecord:
    """Everything step k computed (as ``train(spec)`` records it)."""

    z: list
    a: list
    delta: list
    sample_loss: np.ndarray
    grad: np.ndarray
    theta_before: np.ndarray
    theta_after: np.ndarray
    state_after: dict
    shown: dict


class Checkpointed:
    """A run with its losses and every K-th (θ, optimizer state); see the module docstring."""

    def __init__(self, spec, every, start, steps, orders, trace, checkpoints):
        self.spec, self.every, self.start = spec, every, start
        self.steps, self.orders = steps, orders
        self.loss, self.penalty, self.lr = trace.loss, trace.penalty, trace.lr
        self.final_theta, self.final_state = trace.final_theta, trace.final_state
        self.checkpoints = checkpoints  # step k -> (θ, state) before step k, for k = 0, K, 2K, …

    @property
    def n_steps(self) -> int:
        return len(self.steps)

    def step_record(self, k: int) -> StepRecord:
        """Step ``k`` in full, replayed from the checkpoint before it."""
        if not 0 <= k < self.n_steps:
            raise IndexError(f"step {k} out of range: the run has {self.n_steps} steps")
        c = k - k % self.every
        theta, state = self.checkpoints[c]
        kept = {}
        _run(self.spec, self.start, self.steps, self.orders, theta.copy(),
             {s: v.copy() for s, v in state.items()}, range(c, k + 1), keep=(k, kept))
        return kept["record"]


def train_checkpointed(spec, every: int = 100, start: Start | None = None) -> Checkpointed:
    """Train like ``train(spec)``, keeping losses always and (θ, state) every ``every`` steps."""
    if every < 1:
        raise ValueError("every must be at least 1")
    model = Model(spec)
    start = start or Start(theta=model.params.theta.copy())
    steps = batches(spec)
    orders = sample_orders(spec, start.epoch)
    state = model.optimizer.init_state(model.params.size)
    for name, value in start.state.items():
        state[name][:] = value
    checkpoints = {}
    trace = _run(spec, start, steps, orders, start.theta.copy(), state, range(len(steps)),
                 checkpoints=(every, checkpoints))
    return Checkpointed(spec, every, start, steps, orders, trace, checkpoints)


def _run(spec, start, steps, orders, theta, state, ks, checkpoints=None, keep=None):
    """The training loop of ``engine.training.train`` over steps ``ks`` (consecutive), from
    ``theta`` and ``state``, with scratch arrays for the per-sample values; returns the
    (unrecorded) trace of losses.  ``checkpoints=(K, dict)``: store (θ, state) before every
    K-th step; ``keep=(k, dict)``: store step k's StepRecord under "record"."""
    model = Model(spec)
    P = model.params
    trace = Trace(spec, P, model.optimizer, len(steps), orders, steps, False, start)
    P.theta[:] = theta
    theta = P.theta
    optimizer, hp = model.optimizer, model.hp
    grad = np.zeros(P.size)
    work = np.empty(P.size)
    trainable = model.trainable
    masked = np.zeros(P.size) if trainable is not None else None
    lr_e = [learning_rate(spec, start.epoch + e) for e in range(spec.train.epochs)]
    epoch, X, T = -1, None, None
    trace._last = ks[-1]
    for k in ks:
        e, lo, hi = steps[k]
        if checkpoints is not None and k % checkpoints[0] == 0:
            checkpoints[1][k] = (theta.copy(), {s: v.copy() for s, v in state.items()})
        if e != epoch:
            epoch, (X, T) = e, epoch_data(spec, orders, e)
        x, t = X[lo:hi], T[lo:hi]
        zs, as_, ds, per_sample_out = trace.outputs(k)
        before = theta.copy() if keep is not None and k == keep[0] else None
        za = model.forward(theta, x, out=(zs, as_))
        _, batch_loss, penalty = model.losses(theta, za, t, out=per_sample_out)
        model.backward(theta, x, za, t, grad, out=ds)
        g = grad if trainable is None else np.multiply(grad, trainable, out=masked)
        shown = optimizer.update(theta, g, state, lr_e[e], start.step + k + 1, hp, work=work)
        trace.record_step(k, batch_loss, penalty, grad, state, shown, theta)
        if before is not None:
            keep[1]["record"] = StepRecord(
                z=[v.copy() for v in zs], a=[v.copy() for v in as_], delta=[v.copy() for v in ds],
                sample_loss=per_sample_out.copy(), grad=grad.copy(), theta_before=before, theta_after=theta.copy(),
                state_after={s: v.copy() for s, v in state.items()}, shown={s: v.copy() for s, v in shown.items()})
    return trace
