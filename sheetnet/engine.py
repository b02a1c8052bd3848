"""The numpy engine: forward, backward and update for a batch, and the training loop.

For a batch of B samples (rows), layer l computes

    z_l = a_{l−1} · W_lᵀ + b_l,      a_l = f_l(z_l)                      (forward)
    δ_L = ∂l_n/∂y ⊙ f_L'(z_L)        (δ_L = softmax − t with cross-entropy)
    δ_l = (δ_{l+1} · W_{l+1}) ⊙ f_l'(z_l)                                 (backward)
    ∂L/∂W_l = c · δ_lᵀ · a_{l−1} + l2·W_l + l1·sign(W_l),   ∂L/∂b_l = c · Σ_n δ_l,n

with c = 1/B for ``reduction = "mean"`` and 1 for ``"sum"``.  δ is the per-sample delta
∂l_n/∂z, as textbooks write it.  All parameters are then updated at once from these
gradients by the optimizer.
"""

from __future__ import annotations

import math

import numpy as np

from .network import Parameters
from .ops import ACTIVATIONS, LOSSES, OPTIMIZERS
from .spec import Spec
from .trace import Trace


def batches(spec: Spec) -> list[tuple[int, int, int]]:
    """(epoch, start, stop) of every step: positions in that epoch's sample order."""
    n = len(spec.data.inputs)
    size = spec.train.batch_size or n
    return [(e, s, min(s + size, n)) for e in range(spec.train.epochs) for s in range(0, n, size)]


def sample_orders(spec: Spec) -> np.ndarray:
    """(epochs, N) sample indices: 0..N−1 each epoch, or reshuffled from ``seed`` if ``shuffle``."""
    n, epochs = len(spec.data.inputs), spec.train.epochs
    if not spec.train.shuffle:
        return np.broadcast_to(np.arange(n), (epochs, n)).copy()
    rng = np.random.default_rng(np.random.SeedSequence([spec.train.seed, 1]))
    return np.stack([rng.permutation(n) for _ in range(epochs)])


def learning_rate(spec: Spec, epoch: int) -> float:
    """lr_e = lr / (1 + lr_decay·e), not compounded."""
    return spec.train.lr / (1.0 + spec.train.lr_decay * epoch)


def hyperparameters(spec: Spec) -> dict:
    tr = spec.train
    return dict(momentum=tr.momentum, beta1=tr.beta1, beta2=tr.beta2, alpha=tr.alpha, eps=tr.eps,
                delta=spec.loss.delta)


class Model:
    """A spec made runnable: parameters, activations, loss and optimizer looked up once."""

    def __init__(self, spec: Spec):
        self.spec = spec
        self.params = Parameters(spec)
        self.acts = [ACTIVATIONS[layer.activation] for layer in spec.layers[1:]]
        self.loss = LOSSES[spec.loss.kind]
        self.optimizer = OPTIMIZERS[spec.train.optimizer]
        self.hp = hyperparameters(spec)
        self.fused = self.loss.fused_with is not None
        self.mean = spec.loss.reduction == "mean"
        self.trainable = None
        if spec.train.freeze_biases:
            self.trainable = self.params.is_weight.astype(float)

    # -- one batch -------------------------------------------------------------
    def forward(self, theta, x):
        """[(z_l, a_l)] for every layer after the input."""
        out, a = [], x
        for l, act in enumerate(self.acts):
            z = a @ self.params.W(theta, l).T
            z += self.params.b(theta, l)
            a = act.fn(z)
            out.append((z, a))
        return out

    def losses(self, theta, za, t):
        """(per-sample losses l_n, batch loss including the penalty, the penalty)."""
        z, y = za[-1]
        terms = self.loss.term_logits(z, t) if self.fused else self.loss.term(y, t, self.hp)
        per_sample = self.loss.per_sample(terms)
        batch = per_sample.mean() if self.mean else per_sample.sum()
        penalty = self.penalty(theta)
        return per_sample, batch + penalty, penalty

    def penalty(self, theta) -> float:
        """(l2/2)·Σw² + l1·Σ|w| over the weights (never biases)."""
        tr = self.spec.train
        if not (tr.l1 or tr.l2):
            return 0.0
        w = theta[self.params.is_weight]
        return 0.5 * tr.l2 * float(w @ w) + tr.l1 * float(np.abs(w).sum())

    def backward(self, theta, x, za, t, grad_out):
        """Fill ``grad_out`` (flat, like theta) with ∂L/∂θ; return the per-sample deltas [δ_l]."""
        z, y = za[-1]
        last = len(self.acts) - 1
        if self.fused:
            delta = self.loss.delta(y, t)
        else:
            delta = self.loss.dl_dy(y, t, self.hp) * self.acts[last].grad(z, y)
        deltas = [None] * len(self.acts)
        c = 1.0 / len(x) if self.mean else 1.0
        P = self.params
        for l in range(last, -1, -1):
            deltas[l] = delta
            a_prev = za[l - 1][1] if l > 0 else x
            gW = grad_out[P.w_slices[l]].reshape(P.shapes[l])
            np.matmul(delta.T, a_prev, out=gW)
            gW *= c
            gb = grad_out[P.b_slices[l]]
            np.sum(delta, axis=0, out=gb)
            gb *= c
            if l > 0:
                zl, al = za[l - 1]
                delta = (delta @ P.W(theta, l)) * self.acts[l - 1].grad(zl, al)
        tr = self.spec.train
        if tr.l1 or tr.l2:
            w = theta[P.is_weight]
            grad_out[P.is_weight] += tr.l2 * w + tr.l1 * np.sign(w)
        return deltas


def train(spec: Spec, record: bool = True, progress=None) -> Trace:
    """Train the network the spec describes; return the trace of every step.

    ``record=False`` keeps only the losses and the final state (for benchmarks of the
    recording overhead).  ``progress(done, total)`` is called now and then if given.
    """
    model = Model(spec)
    P = model.params
    data = spec.data
    steps = batches(spec)
    orders = sample_orders(spec)
    trace = Trace(spec, P, model.optimizer, len(steps), orders, steps, record)
    theta = P.theta
    trace.record_start(theta)
    state = model.optimizer.init_state(P.size)
    grad = np.zeros(P.size)
    masked = np.zeros(P.size) if model.trainable is not None else grad
    lr_e = {e: learning_rate(spec, e) for e in range(spec.train.epochs)}
    every = max(1, len(steps) // 200)
    for k, (e, start, stop) in enumerate(steps):
        idx = orders[e, start:stop]
        x, t = data.inputs[idx], data.targets[idx]
        za = model.forward(theta, x)
        per_sample, batch_loss, penalty = model.losses(theta, za, t)
        deltas = model.backward(theta, x, za, t, grad)
        if model.trainable is not None:
            np.multiply(grad, model.trainable, out=masked)
        shown = model.optimizer.update(theta, masked, state, lr_e[e], k + 1, model.hp)
        trace.record_step(k, za, per_sample, batch_loss, penalty, deltas, grad, state, shown, theta)
        if progress is not None and (k % every == 0 or k == len(steps) - 1):
            progress(k + 1, len(steps))
    if not math.isfinite(trace.final_loss):
        trace.diverged = True
    return trace
