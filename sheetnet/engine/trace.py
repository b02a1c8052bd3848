"""The trace of a run: every step recorded into preallocated arrays, read as DataFrames.

The engine computes each step's forward values, deltas, per-sample losses and gradient
straight into these arrays (``Trace.outputs``) and copies only the parameters and optimizer
state after the update; DataFrames are built only when asked for:

    trace.losses                  batch loss of every step (with its epoch and learning rate)
    trace.parameters              every parameter after every step (row 0: the start)
    trace.epochs                  whole training (and test) set's loss and right answers per epoch
    trace.weights(layer)          a weight matrix, rows = receiving units, columns = sending
    trace.step(n).forward         net input and output of every unit for every sample
    trace.step(n).loss            per-sample losses (``.batch_loss`` is the step's loss)
    trace.step(n).deltas          δ = ∂l_n/∂net of every unit for every sample
    trace.step(n).gradients       per-sample gradients and the batch gradient of every parameter
    trace.step(n).update          parameter before, gradient, optimizer state, parameter after

Steps and epochs are numbered as the workbook and the terminal number them: step 1 is the
first update, epoch 1 the first pass over the data, "after step 0" / "after epoch 0" is the
start; a resumed run counts on from the run it continues.  Samples are rows of the data,
numbered from 0 as numpy numbers them.

Forward values, deltas and per-sample losses are stored by (epoch, position in the epoch's
sample order): every epoch visits each sample once, so that is one dense array per layer.

Recording is lazy: ``train(spec)`` keeps the losses, the gradient size of every layer at every
step, the parameters after every epoch and at the end; the full record (forward values,
deltas, gradients, parameters and optimizer state of every step) is computed when first asked
for, by running the same training again with every value kept.  The engine is deterministic,
so that record is the one an eager recording makes, bit for bit (tests/test_lazy_trace.py);
training costs what it costs without recording, and memory holds the full record only once
somebody reads it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .evaluate import Evaluation, evaluate
from .schedule import learning_rate


RING_BYTES = 8 * 1024**2  # a lazy run's buffer of its latest steps (Trace.settle)
RECORDED = ("z", "a", "delta", "sample_loss", "grads", "thetas", "states", "shown")  # computed on access


class Trace:
    def __init__(self, spec, params, optimizer, n_steps, orders, steps, record=True, start=None):
        """``record``: True (the full record, computed when first read), "eager" (every value kept
        as the steps run: what the lazy record is computed with) or False (losses only)."""
        self.spec, self.params, self.optimizer = spec, params, optimizer
        self.orders, self.steps, self.recorded = orders, steps, bool(record)
        self.lazy = record is True
        self.start = start  # engine.Start: the run continues an earlier one (epochs and steps count on)
        self.diverged = False
        self.diverged_at = None  # a diverging run: the step (1-based) that overflowed; the trace ends before
        self.diverged_loss = None  # its epoch (see engine.training.train)
        epochs, n = orders.shape
        sizes = [layer.size for layer in spec.layers[1:]]
        self.loss = np.empty(n_steps)
        self.penalty = np.empty(n_steps)
        first = start.epoch if start is not None else 0
        self.lr = np.array([learning_rate(spec, first + e) for e, _, _ in steps])
        self.final_theta = None
        self._last = n_steps - 1
        b = max(hi - lo for _, lo, hi in steps)
        if self.lazy:  # the cheap summaries; the rest on access (_materialize)
            self.record_again = None  # set by the engine: (spec, start) -> the eager trace
            self._theta0 = None
            self._epoch_thetas = {}
            self._epoch_last = {k: e for k, (e, _, _) in enumerate(steps)
                                if k == len(steps) - 1 or steps[k + 1][0] != e}
            self._w_slices = [s for s in params.w_slices if s.stop > s.start]
            self._grad_sizes = np.empty((n_steps, len(self._w_slices)))
            # the last `ring` steps' values, checked and summarised together (settle): per step
            # only copies, as an eager run makes
            per_step = 8 * (3 * b * sum(sizes) + b + params.size * (1 + len(optimizer.state) + len(optimizer.shown)))
            self.ring = int(np.clip(RING_BYTES // per_step, 1, 256))
            self._settled = 0
            slots = self.ring
        else:
            slots = 1 if not self.recorded else None
        if record == "eager":
            self.z = [np.empty((epochs, n, s)) for s in sizes]
            self.a = [np.empty((epochs, n, s)) for s in sizes]
            self.delta = [np.empty((epochs, n, s)) for s in sizes]
            self.sample_loss = np.empty((epochs, n))
            self.grads = np.empty((n_steps, params.size))
            self.thetas = np.empty((n_steps + 1, params.size))
            self.states = {s: np.empty((n_steps, params.size)) for s in optimizer.state}
            self.shown = {s: np.empty((n_steps, params.size)) for s in optimizer.shown}
            self._out = (self.z, self.a, self.delta, self.sample_loss)
        else:
            # `slots` batch-sized sets of the same arrays (lazy: the ring; no record: one, rewritten by every step)
            self._out = ([np.zeros((slots, b, s)) for s in sizes], [np.zeros((slots, b, s)) for s in sizes],
                         [np.zeros((slots, b, s)) for s in sizes], np.zeros((slots, b)))
            if self.lazy:
                self._ring_grads = np.empty((slots, params.size))
                self._ring_states = {s: np.empty((slots, params.size)) for s in (*optimizer.state, *optimizer.shown)}

    # -- recording (called by the engine) --------------------------------------
    def outputs(self, k):
        """Where step k writes its values: ``(z, a, delta, sample_loss)``.

        ``z``, ``a`` and ``delta`` are lists (one (batch, units) array per layer) and
        ``sample_loss`` is (batch,).  When recording they are views into the trace's own
        arrays, so the engine computes each value in place and nothing is copied; with
        ``record=False`` they are scratch arrays reused by every step.
        """
        z, a, delta, sample_loss = self._out
        e, lo, hi = self.steps[k]
        if self.lazy:
            e, lo, hi = k % self.ring, 0, hi - lo
        elif not self.recorded:
            e, lo, hi = 0, 0, hi - lo
        return ([v[e, lo:hi] for v in z], [v[e, lo:hi] for v in a], [v[e, lo:hi] for v in delta],
                sample_loss[e, lo:hi])

    def record_start(self, theta):
        if self.lazy:
            self._theta0 = theta.copy()
        elif self.recorded:
            self.thetas[0] = theta

    def record_step(self, k, batch_loss, penalty, grad, state, shown, theta):
        """Keep what step k did not write through ``outputs(k)``: losses, gradient,
        parameters after the update, optimizer state."""
        self.loss[k] = batch_loss
        self.penalty[k] = penalty
        if self.lazy:
            slot = k % self.ring
            self._ring_grads[slot] = grad
            for s, v in (*state.items(), *shown.items()):
                self._ring_states[s][slot] = v
            if k in self._epoch_last:
                self._epoch_thetas[self._epoch_last[k]] = theta.copy()
        elif self.recorded:
            self.grads[k] = grad
            self.thetas[k + 1] = theta
            for s, v in state.items():
                self.states[s][k] = v
            for s, v in shown.items():
                self.shown[s][k] = v
        if k == self._last:
            self.final_theta = theta.copy()
            self.final_state = {s: v.copy() for s, v in state.items()}

    def settle(self, n_done: int, limit: float):
        """Lazy recording: summarise the steps in the ring up to ``n_done`` (gradient sizes) and
        check them; -> (first step, what) whose optimizer state, forward values, deltas or
        per-sample losses leave ±``limit``, or None.  Called at least every ``ring`` steps, at a
        multiple of it but for the last call, so step ``_settled + i`` is in slot i.

        A slot that a short batch fills in part holds an earlier step's values (already found
        within the limit) or zeros, so each array is checked whole: two reductions, no copy."""
        k0, m = self._settled, n_done - self._settled
        self._settled = n_done
        if m <= 0:
            return None
        grads = np.abs(self._ring_grads[:m], out=self._ring_grads[:m])  # not needed after this
        for j, w in enumerate(self._w_slices):
            self._grad_sizes[k0:n_done, j] = grads[:, w].mean(axis=1)
        found = []
        z, a, delta, sample_loss = self._out
        for what, arrays in (("optimizer state", self._ring_states.values()),
                             ("forward values, deltas or losses", (*z, *a, *delta, sample_loss))):
            for arr in arrays:
                arr = arr[:m].reshape(m, -1)
                if arr.size and not (arr.max() <= limit and arr.min() >= -limit):  # NaN fails too
                    bad = ~(np.abs(arr) <= limit).all(axis=1)
                    found.append((k0 + int(np.argmax(bad)), what))
        return min(found, key=lambda f: f[0]) if found else None  # a tie: the optimizer state, as eagerly

    def __getattr__(self, name):
        """The full record, computed on first access (only attributes not yet set come here)."""
        if name in RECORDED and self.__dict__.get("lazy"):
            self._materialize()
            return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    def _materialize(self):
        """Run the same training again with every value kept, and keep them (bit for bit what
        the lazy run computed: the engine is deterministic)."""
        full = self.record_again(self.spec, self.start)  # engine.training.train_eagerly
        if not np.array_equal(full.loss, self.loss, equal_nan=True):  # never: the same numpy calls again
            raise RuntimeError("the recomputed run differs from the run it records")
        for name in RECORDED:
            self.__dict__[name] = getattr(full, name)

    # -- whole-run views --------------------------------------------------------
    @property
    def n_steps(self) -> int:
        return len(self.steps)

    @property
    def steps_before(self) -> int:
        """Steps of the run this one continues (0 for a fresh run): step k of this trace is
        step number steps_before + k + 1."""
        return self.start.step if self.start is not None else 0

    @property
    def epochs_before(self) -> int:
        return self.start.epoch if self.start is not None else 0

    def step_numbers(self, first: int = 1) -> pd.RangeIndex:
        return pd.RangeIndex(self.steps_before + first, self.steps_before + self.n_steps + 1, name="step")

    @property
    def final_loss(self) -> float:
        return float(self.loss[-1])

    @property
    def losses(self) -> pd.DataFrame:
        """One row per step: its epoch, the learning rate in force and the batch loss."""
        first = self.epochs_before + 1
        return pd.DataFrame({"epoch": [first + e for e, _, _ in self.steps], "lr": self.lr, "loss": self.loss},
                            index=self.step_numbers())

    @property
    def parameters(self) -> pd.DataFrame:
        """Row k: every parameter after k steps (row 0 is the start)."""
        self._need_record()
        return pd.DataFrame(self.thetas, columns=self.params.labels,
                            index=self.step_numbers(first=0).rename("after step"))

    def evaluate(self, theta, inputs=None, targets=None) -> Evaluation:
        """Parameters ``theta`` on a whole data set (default: the training data), see evaluate.py."""
        data = self.spec.data
        return evaluate(self.model, theta, data.inputs if inputs is None else inputs,
                        data.targets if targets is None else targets)

    @property
    def epochs(self) -> pd.DataFrame:
        """Row e: after epoch e (row 0: the start), the loss over the whole training set (the spec's
        reduction over all samples, plus the penalty) and, where the targets are classes, how many
        samples the network gets right; the same for the test set (``test_loss``, …) if the spec
        has one.  Unlike the batch losses, these compare across batch sizes."""
        self._need_record()
        if self.lazy and "thetas" not in self.__dict__:  # kept without the full record
            thetas = [self._theta0] + [self._epoch_thetas[e] for e in sorted(self._epoch_thetas)]
        else:
            last_step = {e: k for k, (e, _, _) in enumerate(self.steps)}  # the last step of each epoch
            thetas = [self.thetas[0]] + [self.thetas[k + 1] for k in last_step.values()]
        first = self.epochs_before
        table = pd.DataFrame(index=pd.RangeIndex(first, first + len(thetas), name="after epoch"))
        data = self.spec.data
        sets = [("", data.inputs, data.targets)]
        if data.test_inputs is not None:
            sets.append(("test_", data.test_inputs, data.test_targets))
        for prefix, inputs, targets in sets:
            rows = [self.evaluate(theta, inputs, targets) for theta in thetas]
            table[prefix + "loss"] = [r.loss for r in rows]
            if rows[0].correct is not None:
                table[prefix + "correct"] = [r.correct for r in rows]
                table[prefix + "accuracy"] = [r.accuracy for r in rows]
        return table

    @property
    def gradient_sizes(self) -> pd.DataFrame:
        """Row k: at step k, the mean |∂L/∂w| over the weights of each layer that has weights (columns
        by the layer's place in the spec, the input being layer 0): the standard picture of vanishing
        gradients, which shrink layer by layer toward the input in a deep sigmoid net."""
        self._need_record()
        P = self.params
        layers = [l for l in range(len(P.shapes)) if P.w_slices[l].stop > P.w_slices[l].start]
        if self.lazy:  # kept at every step
            columns = {f"layer {l + 1}": self._grad_sizes[:, j] for j, l in enumerate(layers)}
        else:
            columns = {f"layer {l + 1}": np.abs(self.grads[:, P.w_slices[l]]).mean(axis=1) for l in layers}
        return pd.DataFrame(columns, index=self.step_numbers())

    def weights(self, layer: int, step: int | None = None) -> pd.DataFrame:
        """Weight matrix of dense layer ``layer`` (1 = first after the input) after ``step`` steps."""
        theta = self.final_theta if step is None else self._theta(step)
        return _matrix(self.spec, self.params, theta, layer)

    def biases(self, layer: int, step: int | None = None) -> pd.Series:
        theta = self.final_theta if step is None else self._theta(step)
        names = self.spec.layers[layer].names
        return pd.Series(self.params.b(theta, layer - 1), index=pd.Index(names, name="unit"), name="bias")

    def step(self, number: int) -> "StepView":
        """Step ``number`` (1 is the first update; a resumed run counts on), or counted from
        the end when negative (−1: the last step)."""
        self._need_record()
        first, last = self.steps_before + 1, self.steps_before + self.n_steps
        if number < 0 and -number <= self.n_steps:
            return StepView(self, self.n_steps + number)
        if not first <= number <= last:
            raise IndexError(f"no step {number}: the run's steps are numbered {first} to {last}")
        return StepView(self, number - first)

    def to_json(self) -> dict:
        """The JSON of SPEC.md: losses of every step and the final parameters of every layer."""
        out = {"losses": self.loss.tolist(), "layers": self.params.as_json(self.final_theta)}
        if self.diverged_at is not None:
            out["diverged_at"] = self.diverged_at
        return out

    def _theta(self, step):
        self._need_record()
        return self.thetas[step]

    def _need_record(self):
        if not self.recorded:
            raise ValueError("this run was trained with record=False; only losses and final parameters are kept")


def _matrix(spec, params, theta, layer: int) -> pd.DataFrame:
    recv, send = spec.layers[layer], spec.layers[layer - 1]
    return pd.DataFrame(params.W(theta, layer - 1), index=pd.Index(recv.names, name="to"),
                        columns=pd.Index(send.names, name="from"))


class StepView:
    """The tables of one optimizer step (``trace.step(n)``): ``number`` and ``epoch`` as the
    workbook shows them; ``k`` and ``e`` index the trace's arrays."""

    def __init__(self, trace: Trace, k: int):
        self.trace, self.k = trace, k
        self.e, self.lo, self.hi = trace.steps[k]
        self.number = trace.steps_before + k + 1
        self.epoch = trace.epochs_before + self.e + 1
        self.samples = trace.orders[self.e, self.lo:self.hi]
        self.lr = float(trace.lr[k])
        self.batch_loss = float(trace.loss[k])

    def __repr__(self):
        return (f"<step {self.number}: epoch {self.epoch}, samples {self.samples.tolist()}, "
                f"lr {self.lr:g}, loss {self.batch_loss:.9g}>")

    def _units(self):
        cache = self.trace.__dict__.setdefault("_index_cache", {})
        if "units" not in cache:
            cache["units"] = pd.Index([u for layer in self.trace.spec.layers[1:] for u in layer.names], name="unit")
        return cache["units"]

    def _per_unit(self, arrays) -> np.ndarray:
        """(samples, all units) from per-layer (epoch, position, unit) arrays."""
        return np.hstack([arr[self.e, self.lo:self.hi] for arr in arrays])

    def _sample_unit_index(self):
        """(sample, unit) of every row, as ``MultiIndex.from_product`` builds it; built once per
        batch of samples and kept (walking 10,000 steps builds it once when the batch repeats)."""
        cache = self.trace.__dict__.setdefault("_index_cache", {})
        key = self.samples.tobytes()
        index = cache.get(key)
        if index is None:
            units = self._units()
            levels, codes = np.unique(self.samples, return_inverse=True)
            n = len(units)
            index = pd.MultiIndex(levels=[pd.Index(levels), pd.Index(units.unique())],
                                  codes=[np.repeat(codes.ravel(), n), np.tile(units.unique().get_indexer(units),
                                                                               len(self.samples))],
                                  names=["sample", "unit"], verify_integrity=False)
            if len(cache) > 4096:
                cache.clear()
            cache[key] = index
        return index

    @property
    def inputs(self) -> pd.DataFrame:
        spec = self.trace.spec
        return pd.DataFrame(spec.data.inputs[self.samples], columns=spec.layers[0].names,
                            index=pd.Index(self.samples, name="sample"))

    @property
    def targets(self) -> pd.DataFrame:
        spec = self.trace.spec
        return pd.DataFrame(spec.data.targets[self.samples], columns=spec.layers[-1].names,
                            index=pd.Index(self.samples, name="sample"))

    @property
    def forward(self) -> pd.DataFrame:
        """net (z) and out (a) of every unit, one row per (sample, unit)."""
        t = self.trace
        return pd.DataFrame({"net": self._per_unit(t.z).ravel(), "out": self._per_unit(t.a).ravel()},
                            index=self._sample_unit_index())

    @property
    def deltas(self) -> pd.DataFrame:
        """δ = ∂l_n/∂net, one row per (sample, unit)."""
        return pd.DataFrame({"delta": self._per_unit(self.trace.delta).ravel()}, index=self._sample_unit_index())

    @property
    def loss(self) -> pd.Series:
        """Per-sample losses l_n (the batch loss is ``.batch_loss``)."""
        t = self.trace
        return pd.Series(t.sample_loss[self.e, self.lo:self.hi], index=pd.Index(self.samples, name="sample"),
                         name="loss")

    def per_sample_gradients(self) -> np.ndarray:
        """(samples, parameters): δ_j·a_i for W[j<-i] and δ_j for b[j], before averaging (a conv
        kernel's: Σ over the map's positions of δ·x and of δ)."""
        from .conv import conv_backward

        t, P = self.trace, self.trace.params
        x = t.spec.data.inputs[self.samples]
        out = np.empty((len(self.samples), P.size))
        for l, layer in enumerate(t.spec.layers[1:]):
            d = t.delta[l][self.e, self.lo:self.hi]
            a_prev = x if l == 0 else t.a[l - 1][self.e, self.lo:self.hi]
            B = len(d)
            if layer.kind == "conv":
                H, W = t.spec.layers[0].shape
                k = layer.kernel
                dw, db = conv_backward(a_prev.reshape(B, H, W), np.zeros((layer.maps[0], k, k)),
                                       d.reshape(B, *layer.maps))
                out[:, P.w_slices[l]] = dw.reshape(B, -1)
                out[:, P.b_slices[l]] = db
            elif layer.kind == "dense":
                out[:, P.w_slices[l]] = (d[:, :, None] * a_prev[:, None, :]).reshape(B, -1)
                out[:, P.b_slices[l]] = d
        return out

    @property
    def gradients(self) -> pd.DataFrame:
        """One row per parameter: its gradient from each sample, and the batch gradient."""
        t = self.trace
        cols = {f"sample {s}": g for s, g in zip(self.samples, self.per_sample_gradients())}
        cols["batch"] = t.grads[self.k]
        return pd.DataFrame(cols, index=pd.Index(t.params.labels, name="parameter"))

    @property
    def update(self) -> pd.DataFrame:
        """One row per parameter: before, gradient, optimizer state after the step, after."""
        t = self.trace
        cols = {"before": t.thetas[self.k], "gradient": t.grads[self.k]}
        for name, arr in {**t.states, **t.shown}.items():
            cols[name] = arr[self.k]
        cols["after"] = t.thetas[self.k + 1]
        return pd.DataFrame(cols, index=pd.Index(t.params.labels, name="parameter"))

    def weights(self, layer: int, after: bool = False) -> pd.DataFrame:
        t = self.trace
        return _matrix(t.spec, t.params, t.thetas[self.k + int(after)], layer)
