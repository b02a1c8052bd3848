"""Which unit feeds which, through which parameter: the wiring of every layer, as index lists.

Dense layers connect every unit to every unit of the layer before; a conv layer connects map
position (f, r, c) to the k×k image window at (r, c) through filter f's k² shared weights; a
maxpool unit takes the maximum of a p×p window of the maps before.  The formulas, the
walk-through and the per-sample gradients all read the wiring from here, so a new layer
kind is wired once.  Indices: ``j`` a unit of the layer, ``i`` a unit of the layer before,
parameter indices are positions in theta.
"""

from __future__ import annotations

from functools import cached_property


class Wiring:
    def __init__(self, spec, params, l: int):
        """Layer l (0 = the first after the input) of ``spec``."""
        self.layer, self.prev = spec.layers[l + 1], spec.layers[l]
        self.kind = self.layer.kind
        self.P, self.l = params, l
        self.w0 = params.w_slices[l].start
        self.b0 = params.b_slices[l].start
        self.n_in = self.P.shapes[l][1]

    # -- geometry of maps ------------------------------------------------------------
    def _map(self, j):
        F, H, W = self.layer.maps
        return j // (H * W), (j // W) % H, j % W

    def _prev_unit(self, f, r, c):
        """Unit index of position (f, r, c) in the layer before (the input image has f = 0)."""
        if self.prev.kind == "input":
            return r * self.prev.shape[1] + c
        _, H, W = self.prev.maps
        return (f * H + r) * W + c

    # -- forward -------------------------------------------------------------------
    def inputs(self, j: int) -> list[tuple[int, int]]:
        """[(weight index, unit of the layer before)] summed into unit j's net input."""
        if self.kind == "dense":
            return [(self.w0 + j * self.n_in + i, i) for i in range(self.n_in)]
        if self.kind == "conv":
            f, r, c = self._map(j)
            k = self.layer.kernel
            return [(self.w0 + f * k * k + u * k + v, self._prev_unit(0, r + u, c + v))
                    for u in range(k) for v in range(k)]
        return []

    def bias(self, j: int) -> int | None:
        if self.kind == "dense":
            return self.b0 + j
        if self.kind == "conv":
            return self.b0 + self._map(j)[0]
        return None

    def window(self, j: int) -> list[int]:
        """Maxpool: the units of the layer before whose maximum unit j is, row-major."""
        f, r, c = self._map(j)
        p = self.layer.pool
        return [self._prev_unit(f, r * p + u, c * p + v) for u in range(p) for v in range(p)]

    # -- backward ------------------------------------------------------------------
    @cached_property
    def _outputs(self) -> list[list[tuple[int | None, int]]]:
        """For each unit i of the layer before: [(weight index or None, unit j of this layer)]."""
        out = [[] for _ in range(self.prev.size)]
        for j in range(self.layer.size):
            if self.kind == "maxpool":
                for i in self.window(j):
                    out[i].append((None, j))
            else:
                for w, i in self.inputs(j):
                    out[i].append((w, j))
        return out

    def outputs(self, i: int) -> list[tuple[int | None, int]]:
        """[(weight index, unit j of this layer)] that unit i of the layer before feeds (weight
        None for a maxpool window)."""
        return self._outputs[i]

    @cached_property
    def _uses(self) -> dict[int, list[tuple[int, int | None]]]:
        uses = {}
        for j in range(self.layer.size):
            for w, i in self.inputs(j):
                uses.setdefault(w, []).append((j, i))
            b = self.bias(j)
            if b is not None:
                uses.setdefault(b, []).append((j, None))
        return uses

    def uses(self, idx: int) -> list[tuple[int, int | None]]:
        """Where parameter ``idx`` acts: [(unit j, unit i of the layer before, None for a bias)];
        its gradient is Σ δ_j·out_i (or Σ δ_j) over these."""
        return self._uses[idx]


def wirings(spec, params) -> list[Wiring]:
    return [Wiring(spec, params, l) for l in range(len(spec.layers) - 1)]
