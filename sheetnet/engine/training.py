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

import os
from dataclasses import dataclass, field

import numpy as np

from . import conv
from .budget import check_budget
from .network import Parameters
from .schedule import learning_rate
from ..errors import SheetnetError
from ..limits import MAX_STORED, MAX_VALUE
from ..ops import ACTIVATIONS, LOSSES, OPTIMIZERS
from ..spec import Spec
from .trace import Trace
from ..i18n import _


def batches(spec: Spec) -> list[tuple[int, int, int]]:
    """(epoch, start, stop) of every step: positions in that epoch's sample order."""
    n = len(spec.data.inputs)
    size = spec.train.batch_size or n
    return [(e, s, min(s + size, n)) for e in range(spec.train.epochs) for s in range(0, n, size)]


def sample_orders(spec: Spec, first_epoch: int = 0) -> np.ndarray:
    """(epochs, N) sample indices: 0..N−1 each epoch, or reshuffled from ``seed`` if ``shuffle``.

    ``first_epoch``: the run continues an earlier one, so its epochs are shuffled as epochs
    first_epoch, first_epoch + 1, … of one long run would be."""
    n, epochs = len(spec.data.inputs), spec.train.epochs
    if not spec.train.shuffle:
        return np.broadcast_to(np.arange(n), (epochs, n)).copy()
    rng = np.random.default_rng(np.random.SeedSequence([spec.train.seed, 1]))
    orders = [rng.permutation(n) for _ in range(first_epoch + epochs)]
    return np.stack(orders[first_epoch:])


@dataclass(frozen=True, eq=False)
class Start:
    """Where a run starts when it continues an earlier one: the parameters, the optimizer
    state, and how many steps and epochs came before (Adam's t and lr_decay count on)."""

    theta: np.ndarray
    state: dict = field(default_factory=dict)
    step: int = 0
    epoch: int = 0


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
        self.penalised = bool(spec.train.l1 or spec.train.l2)
        self.kinds = [layer.kind for layer in spec.layers[1:]]
        self.trainable = None
        if spec.train.freeze_biases:
            self.trainable = self.params.is_weight.astype(float)
        self._views = {}  # id(vector) -> (vector, per-layer views), see ``views``

    def views(self, vec):
        """[(W_l, W_lᵀ, b_l)] views into a flat vector laid out like theta.

        The views of the last few vectors seen are kept: the engine trains one theta and
        one gradient per step in place, so it slices them once, not every step.
        """
        hit = self._views.get(id(vec))
        if hit is not None and hit[0] is vec:
            return hit[1]
        P = self.params
        views = [(P.W(vec, l), P.W(vec, l).T, P.b(vec, l)) for l in range(len(P.shapes))]
        if len(self._views) >= 8:
            self._views.clear()
        self._views[id(vec)] = (vec, views)  # holds ``vec``, so its id is not reused meanwhile
        return views

    # -- one batch -------------------------------------------------------------
    # Each method takes optional ``out`` arrays to compute into (the trace's storage, see
    # ``Trace.outputs``); without them it allocates.  The numbers are the same either way.
    def forward(self, theta, x, out=None):
        """[(z_l, a_l)] for every layer after the input; ``out`` = ([z_l], [a_l]) to fill."""
        res, a = [], x
        zs, as_ = out if out is not None else (None, None)
        for l, ((W, Wt, b), act) in enumerate(zip(self.views(theta), self.acts)):
            zl = None if zs is None else zs[l]
            kind = self.kinds[l]
            if kind == "dense":
                z = np.matmul(a, Wt, out=zl)
                z += b
            elif kind == "conv":  # z[n, f, r, c] = Σ_{u,v} w[f, u, v]·x[n, r+u, c+v] + b[f]
                maps = conv.conv_forward(self._image(a), self._kernels(l, W), b)
                z = _into(conv.flatten_maps(maps), zl)
            else:  # maxpool: the maximum of each p×p window (z = a: no activation)
                pooled, _argmax = conv.maxpool_forward(self._maps(l - 1, a), self.spec.layers[l + 1].pool)
                z = _into(conv.flatten_maps(pooled), zl)
            a = act.fn(z, out=None if as_ is None else as_[l])
            res.append((z, a))
        return res

    def _image(self, x):
        """The input rows as (B, H, W) images."""
        H, W = self.spec.layers[0].shape
        return x.reshape(len(x), H, W)

    def _kernels(self, l, W):
        k = self.spec.layers[l + 1].kernel
        return W.reshape(len(W), k, k)

    def _maps(self, l, a):
        """Layer l's outputs (B, units) as (B, F, H, W) maps."""
        return a.reshape(len(a), *self.spec.layers[l + 1].maps)

    def losses(self, theta, za, t, out=None):
        """(per-sample losses l_n, batch loss including the penalty, the penalty).

        ``out``: the (batch,) array to write the per-sample losses into.
        """
        z, y = za[-1]
        terms = self.loss.term_logits(z, t) if self.fused else self.loss.term(y, t, self.hp)
        per_sample = self.loss.per_sample(terms, out=out)
        batch = np.add.reduce(per_sample)  # as per_sample.sum(); the mean is this sum / B
        if self.mean:
            batch = batch / len(per_sample)
        penalty = self.penalty(theta) if self.penalised else 0.0
        return per_sample, batch + penalty, penalty

    def penalty(self, theta) -> float:
        """(l2/2)·Σw² + l1·Σ|w| over the weights (never biases)."""
        tr = self.spec.train
        if not (tr.l1 or tr.l2):
            return 0.0
        w = theta[self.params.is_weight]
        return 0.5 * tr.l2 * float(w @ w) + tr.l1 * float(np.abs(w).sum())

    def backward(self, theta, x, za, t, grad_out, out=None):
        """Fill ``grad_out`` (flat, like theta) with ∂L/∂θ; return the per-sample deltas [δ_l].

        ``out``: one (batch, units) array per layer to compute the deltas into.
        """
        z, y = za[-1]
        last = len(self.acts) - 1
        dl = None if out is None else out[last]
        if self.fused:
            delta = self.loss.delta(y, t, out=dl)
        else:
            delta = np.multiply(self.loss.dl_dy(y, t, self.hp), self.acts[last].grad(z, y), out=dl)
        deltas = [None] * len(self.acts)
        c = 1.0 / len(x) if self.mean else 1.0
        grads, weights = self.views(grad_out), self.views(theta)
        for l in range(last, -1, -1):
            deltas[l] = delta
            a_prev = za[l - 1][1] if l > 0 else x
            gW, _gz, gb = grads[l]
            kind = self.kinds[l]
            if kind == "dense":
                np.matmul(delta.T, a_prev, out=gW)
                np.add.reduce(delta, axis=0, out=gb)  # as np.sum(delta, axis=0)
            elif kind == "conv":  # Σ over positions of δ·x (weights) and of δ (bias), per filter
                dw, db = conv.conv_grads(self._image(a_prev), self._maps(l, delta))
                gW[...] = dw.reshape(gW.shape)
                gb[...] = db
            if c != 1.0 and kind != "maxpool":  # ×1 changes nothing: skip it for reduction = "sum"
                gW *= c
                gb *= c
            if l > 0:
                zl, al = za[l - 1]
                dout = None if out is None else out[l - 1]
                if kind == "maxpool":  # each window's δ goes to its first maximum (torch's rule)
                    maps = self._maps(l - 1, al)
                    _pooled, argmax = conv.maxpool_forward(maps, self.spec.layers[l + 1].pool)
                    back = conv.maxpool_backward(self._maps(l, delta), argmax, self.spec.layers[l + 1].pool,
                                                 maps.shape)
                    delta = _into(back.reshape(len(delta), -1), dout)
                else:
                    # δ_{l−1} = (δ_l · W_l) ⊙ f'(z_{l−1}), the product computed in place
                    delta = np.matmul(delta, weights[l][0], out=dout)
                delta *= self.acts[l - 1].grad(zl, al)
        if self.penalised:
            tr = self.spec.train
            w = theta[self.params.is_weight]
            grad_out[self.params.is_weight] += tr.l2 * w + tr.l1 * np.sign(w)
        return deltas


def _into(values, out):
    """``values``, copied into ``out`` when the caller gave storage."""
    if out is None:
        return values
    out[...] = values
    return out


def epoch_data(spec: Spec, orders: np.ndarray, epoch: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets in the epoch's sample order (the data itself, not a copy, unless shuffled)."""
    data = spec.data
    if not spec.train.shuffle:
        return data.inputs, data.targets
    idx = orders[epoch]
    return data.inputs[idx], data.targets[idx]


class Diverged(SheetnetError):
    """The run overflows before a single epoch is complete: there is nothing finite to keep."""


def _bounded(x, limit) -> bool:
    """Every value finite and within ±limit (NaN fails too)."""
    return x.size == 0 or bool(np.abs(x).max() <= limit)


def _first_overflow(trace, n_done: int):
    """(step, what) of the first of the first ``n_done`` recorded steps whose optimizer state,
    forward values, deltas or per-sample losses leave ±MAX_STORED, or None.  Checked once over
    the whole recording (vectorised), not step by step."""
    first = None

    def seen(k, what):
        nonlocal first
        if first is None or k < first[0]:
            first = (int(k), what)

    for arr in (*trace.states.values(), *trace.shown.values()):
        bad = ~(np.abs(arr[:n_done]) <= MAX_STORED).all(axis=1)
        if bad.any():
            seen(np.argmax(bad), "optimizer state")
    if n_done:
        step_of = np.full(trace.orders.shape, n_done, dtype=np.int64)  # (epoch, position) -> its step
        for k, (e, lo, hi) in enumerate(trace.steps[:n_done]):
            step_of[e, lo:hi] = k
        for arr in (*trace.z, *trace.a, *trace.delta, trace.sample_loss[..., None]):
            bad = ~(np.abs(arr) <= MAX_STORED).all(axis=-1) & (step_of < n_done)
            if bad.any():
                seen(step_of[bad].min(), "forward values, deltas or losses")
    return first


def train_eagerly(spec: Spec, start: Start | None = None) -> Trace:
    """The run with every value kept as the steps run: what a lazy trace computes its full record
    with (engine.trace).  The spec is one ``train`` kept, so the run is finite."""
    check_budget(spec, record=True)
    with np.errstate(all="ignore"):
        trace, bad = _train(spec, "eager", None, start)
    if bad is not None:
        raise RuntimeError(f"the recorded run diverges at step {bad[0] + 1}, which the lazy run did not")
    return trace


def train(spec: Spec, record: bool = True, progress=None, start: Start | None = None) -> Trace:
    """Train the network the spec describes; return the trace of every step (``record``: True,
    the full record computed on first access; "eager", kept as the steps run; False, losses
    and final parameters only).

    A run that diverges stops at the last finite epoch: the first step whose loss, parameters,
    gradient or optimizer state is not finite, or is so large (|θ| or |g| over MAX_VALUE = 1e150,
    anything else over MAX_STORED = 1e300) that a spreadsheet's products and squares of it
    would overflow, ends the run; the trace returned holds the whole epochs before it
    (``trace.diverged_at`` = that step, 1-based, ``trace.diverged_loss`` its loss).  A run
    that overflows in its first epoch raises ``Diverged``.  No numpy warning is printed.
    """
    check_budget(spec, record=record == "eager")  # a lazy record is checked when it is computed
    with np.errstate(all="ignore"):
        trace, bad = _train(spec, record, progress, start)
    if bad is None:
        return trace
    k, loss, what = bad
    epoch = trace.steps[k][0]
    offset = start.step if start is not None else 0
    where = os.path.basename(spec.path or "") or None
    if epoch == 0:
        raise Diverged(_("the run diverges at step {value} ({what}: not finite, or too large for a spreadsheet) "
                         "before its first epoch is complete, so there is nothing to keep; lower the learning "
                         "rate, or the size of the starting weights or the data").format(
            value=offset + k + 1, what=what), where)
    kept = train(spec.with_train(epochs=epoch), record=record, progress=progress, start=start)
    kept.diverged_at = offset + k + 1
    kept.diverged_loss = loss
    kept.diverged_what = what
    return kept


def _train(spec: Spec, record, progress, start):
    """The training loop; -> (trace, None) or (trace, (first bad step, its loss)) if it diverged."""

    model = Model(spec)
    P = model.params
    start = start or Start(theta=P.theta.copy())
    steps = batches(spec)
    orders = sample_orders(spec, start.epoch)
    trace = Trace(spec, P, model.optimizer, len(steps), orders, steps, record, start)
    trace.model = model  # for evaluations on access
    if trace.lazy:
        trace.record_again = train_eagerly
    theta = P.theta
    theta[:] = start.theta
    trace.record_start(theta)
    optimizer, hp = model.optimizer, model.hp
    state = optimizer.init_state(P.size)
    for name, value in start.state.items():
        state[name][:] = value
    grad = np.zeros(P.size)
    work = np.empty(P.size)  # the optimizer's scratch vector
    trainable = model.trainable
    masked = np.zeros(P.size) if trainable is not None else None
    lr_e = [learning_rate(spec, start.epoch + e) for e in range(spec.train.epochs)]
    every = max(1, len(steps) // 200)
    epoch, X, T = -1, None, None
    for k, (e, lo, hi) in enumerate(steps):
        if e != epoch:
            epoch, (X, T) = e, epoch_data(spec, orders, e)
        x, t = X[lo:hi], T[lo:hi]
        zs, as_, ds, per_sample_out = trace.outputs(k)
        za = model.forward(theta, x, out=(zs, as_))
        _per_sample, batch_loss, penalty = model.losses(theta, za, t, out=per_sample_out)
        model.backward(theta, x, za, t, grad, out=ds)
        g = grad if trainable is None else np.multiply(grad, trainable, out=masked)
        shown = optimizer.update(theta, g, state, lr_e[e], start.step + k + 1, hp, work=work)
        trace.record_step(k, batch_loss, penalty, grad, state, shown, theta)
        # per step only the cheap checks; the recorded values are checked once at the end
        if not (abs(batch_loss) <= MAX_STORED and _bounded(theta, MAX_VALUE) and _bounded(grad, MAX_VALUE)):
            what = "loss" if not abs(batch_loss) <= MAX_STORED else \
                "updated parameters" if not _bounded(theta, MAX_VALUE) else "gradient"
            return trace, _earliest(trace, record, k, (k, float(batch_loss), what))
        if trace.lazy and (k + 1) % trace.ring == 0:  # the ring is full: check it before it is rewritten
            late = trace.settle(k + 1, MAX_STORED)
            if late is not None:
                return trace, (late[0], float(trace.loss[late[0]]), late[1])
        if progress is not None and (k % every == 0 or k == len(steps) - 1):
            progress(k + 1, len(steps))
    if trace.lazy:
        return trace, _earliest(trace, record, len(steps), None)
    if not record:
        if not all(_bounded(v, MAX_STORED) for v in (*state.values(), *shown.values())):
            return trace, (len(steps) - 1, float(trace.loss[-1]), "optimizer state")
        return trace, None
    return trace, _earliest(trace, record, len(steps), None)


def _earliest(trace, record, n_done, found):
    """The earlier of ``found`` (k, loss, what) and the first overflow in the recording."""
    if not record:
        return found
    late = trace.settle(n_done, MAX_STORED) if trace.lazy else _first_overflow(trace, n_done)
    if late is not None and (found is None or late[0] < found[0]):
        return late[0], float(trace.loss[late[0]]), late[1]
    return found
