"""What sheetnet promises about results on different machines (README, "Reproducibility").

On one machine a run is deterministic: the same spec gives the same numbers bit for bit, every
time.  Across machines the matrix products go through the BLAS kernel the CPU selects (with or
without fused multiply-add, other blockings), which may round differently in the last bits, and
training carries those differences along.  The promise: every number agrees within

    |a − b| ≤ RTOL·max(|a|, |b|) + ATOL

and every formula, text and cell is identical.  Measured on the gallery between OpenBLAS's
Haswell, Zen, Sandybridge and Prescott kernels: at most 3e-11 relative and 3e-14 absolute, so the
promise leaves a margin of more than 30.
"""

from __future__ import annotations

import math

RTOL = 1e-9
ATOL = 1e-15


def same_value(a, b) -> bool:
    """Cell values within the promise: numbers by the tolerance, anything else exactly."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return abs(a - b) <= RTOL * max(abs(a), abs(b)) + ATOL
    return a == b


def gallery_runs() -> dict:
    """Every recorded array of every gallery run (each optimizer of a comparison separately)."""
    import sheetnet
    from sheetnet import gallery

    from sheetnet.compare import runs
    from sheetnet.examples import resolve
    from sheetnet.function.compare import function_runs
    from sheetnet.function.engine import train_function

    out = {}
    for name in gallery.GALLERY:
        spec = resolve(name)
        if not hasattr(spec, "layers"):  # gradient descent on a function
            for i, one in enumerate(function_runs(spec).values() if spec.compare else [spec]):
                t = train_function(one)
                out.update({f"{name}/{i}/points": t.points, f"{name}/{i}/values": t.values})
            continue
        specs = list(runs(spec).values()) if spec.compare else [spec]  # every run of a comparison
        for i, one in enumerate(specs):
            t = sheetnet.train(one)
            arrays = dict(loss=t.loss, thetas=t.thetas, grads=t.grads, sample_loss=t.sample_loss)
            arrays.update({f"a{layer}": a for layer, a in enumerate(t.a)})
            arrays.update({f"delta{layer}": d for layer, d in enumerate(t.delta)})
            out.update({f"{name}/{i}/{key}": value for key, value in arrays.items()})
    return out


if __name__ == "__main__":  # python tests/reproducible.py OUT.npz: the runs of this process's BLAS kernel
    import sys

    import numpy as np

    np.savez(sys.argv[1], **gallery_runs())
