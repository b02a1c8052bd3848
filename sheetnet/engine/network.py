"""The network's parameters: one flat float64 vector, with each layer's W and b as views.

Keeping every parameter in one vector lets an optimizer update the whole network with a
handful of numpy calls, and lets the trace record a step with one copy.
"""

from __future__ import annotations

import dataclasses
import math
from functools import cached_property

import numpy as np

from ..spec import Layer, Spec


def weight_label(layer: Layer, prev: Layer, j: int, i: int) -> str:
    """``w5`` where the spec names the weight, else ``W[o1<-h1]`` (to o1 from h1); a conv
    kernel's weights are ``w[f1](u,v)``."""
    if layer.kind == "conv":
        k = layer.kernel
        return f"w[{layer.map_names[j]}]({i // k + 1},{i % k + 1})"
    if layer.weight_names is not None:
        return layer.weight_names[j][i]
    return f"W[{layer.names[j]}<-{prev.names[i]}]"


def bias_label(layer: Layer, j: int) -> str:
    if layer.kind == "conv":
        return f"b[{layer.map_names[j]}]"
    if layer.bias_names is not None:
        return layer.bias_names[j]
    return f"b[{layer.names[j]}]"


def weight_shape(layer: Layer, prev: Layer) -> tuple[int, int]:
    """Layer's W as a matrix: dense (units × units before), conv (filters × k·k), maxpool (0 × 0)."""
    if layer.kind == "conv":
        return layer.maps[0], layer.kernel ** 2
    if layer.kind == "maxpool":
        return 0, 0
    return layer.size, prev.size


class Parameters:
    """All parameters in one vector ``theta``; ``W[l]`` and ``b[l]`` are views.

    Layer l's block is W[l] row-major (dense: receiving × sending units; conv: filters × k·k;
    maxpool: empty), then b[l] (one bias per row of W): ``slices[l]`` and ``w_slices[l]`` give
    its range and the range of its weights in ``theta``.
    """

    def __init__(self, spec: Spec):
        self.spec = spec
        layers = spec.layers
        self.shapes = [weight_shape(layers[k + 1], layers[k]) for k in range(len(layers) - 1)]
        self.size = sum(o * i + o for o, i in self.shapes)
        self.theta = np.zeros(self.size)
        self.slices, self.w_slices, self.b_slices = [], [], []
        pos = 0
        for o, i in self.shapes:
            self.w_slices.append(slice(pos, pos + o * i))
            self.b_slices.append(slice(pos + o * i, pos + o * i + o))
            self.slices.append(slice(pos, pos + o * i + o))
            pos += o * i + o
        self.is_weight = np.zeros(self.size, dtype=bool)
        for s in self.w_slices:
            self.is_weight[s] = True
        self._init(spec)

    def W(self, theta, l):
        """Layer l's weight matrix (receiving × sending), a view into ``theta``."""
        return theta[self.w_slices[l]].reshape(self.shapes[l])

    def b(self, theta, l):
        return theta[self.b_slices[l]]

    def as_json(self, theta) -> list[dict]:
        """The parameters of every layer that has some, as SPEC.md's JSON gives them:
        dense weights[j][i], conv weights[f][r][c], and the biases."""
        out = []
        for l, layer in enumerate(self.spec.layers[1:]):
            if layer.kind == "maxpool":
                continue
            w = self.W(theta, l)
            if layer.kind == "conv":
                w = w.reshape(len(w), layer.kernel, layer.kernel)
            out.append({"weights": w.tolist(), "biases": self.b(theta, l).tolist()})
        return out

    @cached_property
    def labels(self) -> list[str]:
        """One label per parameter, in theta's order (built on first use: a large network
        has many, and training does not need them)."""
        layers = self.spec.layers
        out = []
        for l, (o, i) in enumerate(self.shapes):
            layer, prev = layers[l + 1], layers[l]
            out += [weight_label(layer, prev, j, k) for j in range(o) for k in range(i)]
            out += [bias_label(layer, j) for j in range(o)]
        return out

    def _init(self, spec: Spec):
        """Explicit values from the spec, or torch-style init drawn from ``seed``, layer by layer."""
        rng = np.random.default_rng(np.random.SeedSequence([spec.train.seed, 0]))
        for l, layer in enumerate(spec.layers[1:]):
            W, b = self.W(self.theta, l), self.b(self.theta, l)
            if layer.kind == "maxpool":
                continue
            if layer.weights is not None:
                W[...] = layer.weights.reshape(W.shape)
                b[...] = layer.biases
            else:
                fans = (layer.maps[0] * self.shapes[l][1], self.shapes[l][1]) if layer.kind == "conv" else None
                W[...], b[...] = init_values(layer.init, self.shapes[l], rng, fans)

    def copy_theta(self) -> np.ndarray:
        return self.theta.copy()


def init_values(scheme: str, shape: tuple[int, int], rng, fans=None) -> tuple[np.ndarray, np.ndarray]:
    """Weights and biases for an init scheme, with torch's fan_in / fan_out conventions
    (``fans`` = (fan_out, fan_in) where they are not the matrix's shape: a conv layer's
    fan_in is k·k and its fan_out F·k·k).

    xavier_uniform: U(±√(6/(fan_in+fan_out)));  xavier_normal: N(0, √(2/(fan_in+fan_out)));
    he_uniform: U(±√(6/fan_in));  he_normal: N(0, √(2/fan_in));  biases 0 for these four.
    uniform: weights and biases U(±1/√fan_in) (torch.nn.Linear's default);  zeros: all 0.
    """
    fan_out, fan_in = fans or shape
    n_out = shape[0]
    zeros_b = np.zeros(n_out)
    if scheme == "xavier_uniform":
        a = math.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-a, a, shape), zeros_b
    if scheme == "xavier_normal":
        return rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), shape), zeros_b
    if scheme == "he_uniform":
        a = math.sqrt(6.0 / fan_in)
        return rng.uniform(-a, a, shape), zeros_b
    if scheme == "he_normal":
        return rng.normal(0.0, math.sqrt(2.0 / fan_in), shape), zeros_b
    if scheme == "uniform":
        a = 1.0 / math.sqrt(fan_in)
        return rng.uniform(-a, a, shape), rng.uniform(-a, a, n_out)
    if scheme == "zeros":
        return np.zeros(shape), zeros_b
    raise ValueError(scheme)  # pragma: no cover - the spec validates the name


def with_parameters(spec: Spec, theta, params: "Parameters | None" = None) -> Spec:
    """The spec whose layers start from the flat parameter vector ``theta`` (explicit weights and
    biases; conv kernels as k×k grids)."""
    P = params or Parameters(spec)
    layers = list(spec.layers)
    for l, layer in enumerate(spec.layers[1:]):
        if layer.kind != "maxpool":
            w = P.W(theta, l).copy()
            w = w.reshape(len(w), layer.kernel, layer.kernel) if layer.kind == "conv" else w
            layers[l + 1] = dataclasses.replace(layer, weights=w, biases=P.b(theta, l).copy())
    return dataclasses.replace(spec, layers=tuple(layers))
