"""What a run will need, estimated from the spec before anything is allocated or trained.

    steps   = epochs · ⌈N / B⌉                         (B = batch size, N samples)
    memory  ≈ 8 bytes · (3 · epochs · N · U  +  (3 + S) · steps · P)
    cells   ≈ steps · (B · (3·U + K + 1) + (3 + S) · P)  (a workbook of the run)

with U units after the input, K outputs, P parameters and S optimizer state vectors.  A run
over sheetnet's limits (limits.py) is refused with these numbers, never started.
"""

from __future__ import annotations

import os

from ..errors import SpecError
from ..limits import MAX_STEPS, MAX_TRACE_BYTES, MAX_WORKBOOK_CELLS
from ..ops import OPTIMIZERS
from ..i18n import _


def n_steps(spec, epochs: int | None = None) -> int:
    n = len(spec.data.inputs)
    size = spec.train.batch_size or n
    return (spec.train.epochs if epochs is None else epochs) * -(-n // size)


def _sizes(spec):
    units = sum(layer.size for layer in spec.layers[1:])
    params = 0
    for prev, layer in zip(spec.layers, spec.layers[1:]):
        if layer.kind == "dense":
            params += layer.size * (prev.size + 1)
        elif layer.kind == "conv":
            params += layer.maps[0] * (layer.kernel ** 2 + 1)
    opt = OPTIMIZERS[spec.train.optimizer]
    return units, params, len(opt.state) + len(opt.shown)


def trace_bytes(spec) -> int:
    units, params, states = _sizes(spec)
    n = len(spec.data.inputs)
    return 8 * (3 * spec.train.epochs * n * units + (3 + states) * n_steps(spec) * params)


def workbook_cells(spec) -> int:
    units, params, states = _sizes(spec)
    n = len(spec.data.inputs)
    batch = min(spec.train.batch_size or n, n)
    return n_steps(spec) * (batch * (3 * units + spec.layers[-1].size + 1) + (3 + states) * params)


def check_budget(spec, record: bool = True, workbook: bool = False, where: str | None = None):
    """Refuse, with the numbers, a run that sheetnet could not hold: more than MAX_STEPS
    steps, a recording over MAX_TRACE_BYTES, or (``workbook``) more than MAX_WORKBOOK_CELLS cells."""
    where = where or os.path.basename(spec.path or "") or None
    epochs = spec.train.epochs
    steps = n_steps(spec)
    if workbook and workbook_cells(spec) > MAX_WORKBOOK_CELLS:
        raise SpecError(_("epochs = {epochs:,} with a workbook: it would need about {value:.2g} cells, more than "
                          "sheetnet writes ({limit:.2g}, about 400 MB; Excel holds at most 1,048,576 rows per "
                          "sheet); choose fewer epochs or leave out -o").format(
            epochs=epochs, value=workbook_cells(spec), limit=MAX_WORKBOOK_CELLS), where)
    if steps > MAX_STEPS:
        raise SpecError(_("epochs = {epochs:,} means {steps:,} optimizer steps, more than sheetnet's limit of "
                          "{limit:,}; choose fewer epochs").format(
            epochs=epochs, steps=steps, limit=MAX_STEPS), where)
    if record and trace_bytes(spec) > MAX_TRACE_BYTES:
        raise SpecError(_("recording every value of {steps:,} steps would need about {value:.3g} GB of memory, "
                          "more than sheetnet's limit of {value2:.3g} GB; choose fewer epochs").format(
            steps=steps, value=trace_bytes(spec) / 1e9, value2=MAX_TRACE_BYTES / 1e9), where)
