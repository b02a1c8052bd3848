"""The engine's value of every quantity of a step: what the workbook caches beside each formula."""

from __future__ import annotations

import numpy as np


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
            self._gs = self.t.step(self.k).per_sample_gradients()
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
