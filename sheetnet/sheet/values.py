"""The engine's value of every quantity of a step: what the workbook caches beside each formula."""

from __future__ import annotations

import numpy as np

from ..engine.trace import StepView


class StepValues:
    def __init__(self, trace, model, k: int):
        self.t, self.m, self.k = trace, model, k
        e, lo, hi = trace.steps[k]
        self.e, self.lo, self.hi = e, lo, hi
        samples = trace.orders[e, lo:hi]
        data = trace.spec.data
        self.arrays = {"in": data.inputs[samples], "t": data.targets[samples]}
        self._terms = None
        self._gs = None

    def _layer(self, arrays, layer):
        return arrays[layer][self.e, self.lo:self.hi]

    def terms(self):
        if self._terms is None:
            L = len(self.m.acts) - 1
            y, t = self._layer(self.t.a, L), self.arrays["t"]
            self._terms = (self.m.loss.term_logits(self._layer(self.t.z, L), t) if self.m.fused
                           else self.m.loss.term(y, t, self.m.hp))
        return self._terms

    def per_sample_grads(self):
        if self._gs is None:
            self._gs = StepView(self.t, self.k).per_sample_gradients()
        return self._gs

    def get(self, kind, layer, item, pos=0) -> float:
        t, k = self.t, self.k
        if kind in ("in", "t"):
            return self.arrays[kind][pos, item]
        if kind == "net":
            return self._layer(t.z, layer)[pos, item]
        if kind == "out":
            return self._layer(t.a, layer)[pos, item]
        if kind == "exp":
            z = self._layer(t.z, layer)[pos]
            return float(np.exp(z[item] - z.max()))
        if kind == "delta":
            return self._layer(t.delta, layer)[pos, item]
        if kind == "term":
            return self.terms()[pos, item]
        if kind == "loss":
            return t.sample_loss[self.e, self.lo + pos]
        if kind == "data_loss":
            losses = t.sample_loss[self.e, self.lo:self.hi]
            return losses.mean() if self.m.mean else losses.sum()
        if kind == "penalty":
            return t.penalty[k]
        if kind == "L":
            return t.loss[k]
        if kind == "lr":
            return t.lr[k]
        if kind == "p0":
            return t.thetas[k, item]
        if kind == "kernel":
            return t.thetas[k, self.m.params.w_slices[layer].start + item]
        if kind == "p1":
            return t.thetas[k + 1, item]
        if kind == "g":
            return t.grads[k, item]
        if kind == "gs":
            return self.per_sample_grads()[pos, item]
        if kind in t.states:
            return t.states[kind][k, item]
        return t.shown[kind][k, item]


class NumberStyles:
    """One number style per quantity, chosen from every value it takes in the run, so that a
    column of the compact sheet (one quantity, one row per step) and a row of a Step sheet (one
    quantity across the samples) never mix styles:

    * ``int``: every value a whole number (targets, 0/1 pixels, a quantity that stays 0): ``1``;
    * ``small``: some value under 1e-3 or from 1e7 up (in magnitude, zero aside): 9 significant
      digits in E-notation, ``-3.71504283E-04``;
    * ``value``: otherwise, 9 decimals, ``0.593269992``.

    An exact zero shows as ``0`` in every style.  A grid (an image, a feature map) has one
    style for all its cells, and so has a column of a Step sheet's parameter table (the
    gradient of every parameter); any other quantity one per item (a unit; a parameter of the
    compact sheet, whose columns are the parameters)."""

    def __init__(self, trace, model, lay):
        from .layout import PARAM_KINDS, StepsLayout

        self.t, self.m, self.lay = trace, model, lay
        self.cache: dict = {}
        self.whole = set(getattr(lay, "grids", {}))  # (kind, layer) styled as one
        if isinstance(lay, StepsLayout):
            self.whole |= {(kind, None) for kind in PARAM_KINDS}

    def __call__(self, kind, layer, item) -> str:
        key = (kind, layer, None if (kind, layer) in self.whole else item)
        style = self.cache.get(key)
        if style is None:
            values = self._values(kind, layer)
            if values is not None and key[2] is not None and values.ndim == 2 and values.shape[1] > 1:
                values = values[:, item]
            style = self.cache[key] = "value" if values is None else number_style(values)
        return style

    def _values(self, kind, layer):
        """Every value of the quantity in the run: (…, items), or None where it is not kept."""
        t, m = self.t, self.m
        data = t.spec.data
        done = slice(0, t.n_steps)

        def units(arrays):
            a = arrays[layer]
            return a.reshape(-1, a.shape[-1])

        if kind == "in":
            return data.inputs
        if kind == "t":
            return data.targets
        if kind == "net":
            return units(t.z)
        if kind == "out":
            return units(t.a)
        if kind == "delta":
            return units(t.delta)
        if kind == "exp":
            z = units(t.z)
            return np.exp(z - z.max(axis=-1, keepdims=True))
        if kind in ("loss", "term"):  # a loss term is part of a sample's loss: the same scale
            return t.sample_loss.reshape(-1, 1)
        if kind in ("data_loss", "L"):
            return np.asarray(t.loss)[done].reshape(-1, 1)
        if kind == "penalty":
            return np.asarray(t.penalty)[done].reshape(-1, 1)
        if kind == "lr":
            return np.asarray(t.lr)[done].reshape(-1, 1)
        if kind in ("p0", "p1"):
            return t.thetas[: t.n_steps + 1]
        if kind == "kernel":
            return t.thetas[: t.n_steps + 1, m.params.w_slices[layer]]
        if kind in ("g", "gs"):  # a sample's gradient: the batch gradient's scale
            return t.grads[done]
        if kind in t.states:
            return t.states[kind][done]
        if kind in t.shown:
            return t.shown[kind][done]
        return None


def number_style(values) -> str:
    """The number style of a set of values (see NumberStyles)."""
    v = np.abs(np.asarray(values, dtype=float))
    v = v[np.isfinite(v)]
    if v.size == 0 or (np.all(v == np.round(v)) and v.max() < 1e9):
        return "int"
    nonzero = v[v > 0]
    return "small" if nonzero.min() < 1e-3 or nonzero.max() >= 1e7 else "value"
