"""Names for the quantities of a network, in the notation of the source a reader follows.

- ``mazur``  (Mazur's blog post, the default): net_h1, out_h1, δ_h1, t_o1, E_o1, E; parameters by
  their labels (w1 … w8 where the spec names them, otherwise W[h1<-i1] and b[h1]).
- ``wakui``  (涌井, 《深度学习的数学》 and its reposts): z²₁, a²₁, δ²₁ with the layer as superscript
  (the input layer is layer 1, its outputs x₁, x₂ …), targets t₁, the cost C with terms C₁,
  weights w²₁₂ (to unit 1 of layer 2 from unit 2 of layer 1) and biases b²₁.
- ``matrix`` (code-first posts): layer l's vectors Z1[1], A1[1] with the input A0 = X, targets Y[1],
  the loss L, weights W1[1,2] and biases b1[1]; gradients dZ1[1], dW1[1,2], db1[1].

Units of convolution and pooling layers keep their names (f1[1,1] …) in every notation; only the
labels change, never a formula or a number.
"""

from __future__ import annotations

SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
NOTATIONS = ("mazur", "wakui", "matrix")


def sup(n: int) -> str:
    return str(n).translate(SUP)


def sub(*indices: int) -> str:
    """Subscript indices, run together while each is one digit (w²₁₂), else bracketed ([12,3])."""
    if all(i < 10 for i in indices):
        return "".join(str(i).translate(SUB) for i in indices)
    return "[" + ",".join(map(str, indices)) + "]"


class Notation:
    """Mazur's: units by their names, parameters by their labels."""

    name = "mazur"
    loss = "E"

    def __init__(self, spec, params):
        self.spec, self.params = spec, params
        self.dense = {l for l, layer in enumerate(spec.layers) if layer.kind in ("input", "dense")}

    def _unit(self, l: int, j: int) -> str:
        return self.spec.layers[l + 1].names[j]

    # units: l counts the layers after the input (−1: the input layer), j the unit
    def net(self, l, j):
        return f"net_{self._unit(l, j)}"

    def out(self, l, j):
        u = self._unit(l, j)
        return u if l < 0 else f"out_{u}"

    def delta(self, l, j):
        return f"δ_{self._unit(l, j)}"

    def target(self, k):
        return f"t_{self._unit(len(self.spec.layers) - 2, k)}"

    def term(self, k):
        return f"E_{self._unit(len(self.spec.layers) - 2, k)}"

    def by_out(self, l, j):
        return f"∂{self.loss}/∂{self.out(l, j)}"

    def out_by_net(self, l, j):
        return f"∂{self.out(l, j)}/∂{self.net(l, j)}"

    def net_by(self, l, j, idx):
        return f"∂{self.net(l, j)}/∂{self.param(idx)}"

    # parameters, by their index in θ
    def param(self, idx):
        return self.params.labels[idx]

    def grad(self, idx, loss=None):
        return f"∂{loss or self.loss}/∂{self.param(idx)}"

    def _where(self, idx):
        """(layer l after the input, j, i) of a weight, (l, j, None) of a bias."""
        P = self.params
        for l, (o, n) in enumerate(P.shapes):
            if P.slices[l].start <= idx < P.slices[l].stop:
                off = idx - P.slices[l].start
                return (l, off // n, off % n) if off < o * n else (l, off - o * n, None)
        raise IndexError(idx)

    def _dense(self, l) -> bool:
        """Is layer l (after the input) dense, fed by a dense layer or the input?"""
        return (l + 1) in self.dense and l in self.dense


class Wakui(Notation):
    name = "wakui"
    loss = "C"

    def _layer(self, l):  # the book numbers the input layer 1
        return sup(l + 2)

    def net(self, l, j):
        return f"z{self._layer(l)}{sub(j + 1)}" if self._dense(l) else super().net(l, j)

    def out(self, l, j):
        if l < 0:
            return f"x{sub(j + 1)}"
        return f"a{self._layer(l)}{sub(j + 1)}" if self._dense(l) else super().out(l, j)

    def delta(self, l, j):
        return f"δ{self._layer(l)}{sub(j + 1)}" if self._dense(l) else super().delta(l, j)

    def target(self, k):
        return f"t{sub(k + 1)}"

    def term(self, k):
        return f"C{sub(k + 1)}"

    def param(self, idx):
        l, j, i = self._where(idx)
        if not self._dense(l):
            return super().param(idx)
        return f"w{self._layer(l)}{sub(j + 1, i + 1)}" if i is not None else f"b{self._layer(l)}{sub(j + 1)}"


class Matrix(Notation):
    name = "matrix"
    loss = "L"

    def net(self, l, j):
        return f"Z{l + 1}[{j + 1}]" if self._dense(l) else super().net(l, j)

    def out(self, l, j):
        if l < 0:
            return f"X[{j + 1}]"
        return f"A{l + 1}[{j + 1}]" if self._dense(l) else super().out(l, j)

    def delta(self, l, j):
        return f"dZ{l + 1}[{j + 1}]" if self._dense(l) else super().delta(l, j)

    def target(self, k):
        return f"Y[{k + 1}]"

    def term(self, k):
        return f"L[{k + 1}]"

    def by_out(self, l, j):
        return f"dA{l + 1}[{j + 1}]" if self._dense(l) else super().by_out(l, j)

    def out_by_net(self, l, j):
        return f"g′({self.net(l, j)})"

    def param(self, idx):
        l, j, i = self._where(idx)
        if not self._dense(l):
            return super().param(idx)
        return f"W{l + 1}[{j + 1},{i + 1}]" if i is not None else f"b{l + 1}[{j + 1}]"

    def grad(self, idx, loss=None):
        label = self.param(idx)
        return f"d{label}" if self._dense(self._where(idx)[0]) else super().grad(idx, loss)


def notation(name: str, spec, params) -> Notation:
    """The notation called ``name`` for a network (one of NOTATIONS)."""
    return {"mazur": Notation, "wakui": Wakui, "matrix": Matrix}[name](spec, params)
