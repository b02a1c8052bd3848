"""The trace as data: every number of a run in one versioned JSON document, unrounded.

``save_trace(trace, path)`` writes it (``sheetnet train SPEC --trace run.json``),
``load_trace(path)`` reads it back into a ``Trace`` whose DataFrames equal the original's.
The schema is ``TRACE_SCHEMA`` (JSON Schema, draft 2020-12; README "Trace export").

Numbers are JSON numbers written with Python's ``repr``: the shortest text that reads back
as the same double, so nothing is rounded.  A value that is not finite (a diverged run)
is ``null``.

Per step, besides the forward values, deltas and per-sample losses (lists over layers of
[sample][unit] arrays):

* ``data_loss`` (mean or sum of the per-sample losses, as the loss's reduction says),
  ``penalty`` (L1/L2) and ``loss`` = data_loss + penalty (the batch loss);
* ``gradient``: ∂loss/∂θ as computed (a frozen bias shows its raw ∂L/∂b), and
  ``applied_gradient``: what the optimizer received (0 for a frozen bias);
* ``state_before`` / ``state_after``: the optimizer's state vectors around the step (for the
  first step of a continued run, the state it continues from), ``shown``: derived values
  (Adam's m̂, v̂), ``t``: the optimizer's step counter;
* ``theta_before``, ``theta_after`` and ``applied_step`` = theta_after − theta_before.

``parameters`` gives each parameter's place: layer (1 = the first after the input), kind
(weight | bias), row (receiving unit or filter, from 0) and column (sending unit or kernel
position, from 0; null for a bias).
"""

from __future__ import annotations

import json
import math
import tomllib

import numpy as np
from ..i18n import _

FORMAT = "sheetnet-trace"
VERSION = 2  # 2: steps and epochs numbered from 1, as the workbook numbers them

_NUM = {"type": ["number", "null"]}
_VEC = {"type": "array", "items": _NUM}
_MAT = {"type": "array", "items": _VEC}
_LAYERS = {"type": "array", "items": _MAT}  # per layer: [sample][unit]
_STATE = {"type": "object", "additionalProperties": _VEC}

TRACE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "sheetnet trace export, version 1",
    "type": "object",
    "required": ["format", "version", "spec", "settings", "units", "parameters", "orders", "start", "steps"],
    "additionalProperties": False,
    "properties": {
        "format": {"const": FORMAT},
        "version": {"const": VERSION},
        "spec": {"type": "string", "description": "the run's spec as TOML, with its starting parameters and data"},
        "settings": {"type": "object", "additionalProperties": _NUM,
                     "description": "lr, momentum, beta1, beta2, alpha, eps, l1, l2, lr_decay, huber_delta"},
        "units": {"type": "array", "items": {"type": "array", "items": {"type": "string"}},
                  "description": "unit names of every layer, the input first"},
        "parameters": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["index", "label", "layer", "kind", "row", "column", "trainable"],
            "properties": {"index": {"type": "integer"}, "label": {"type": "string"},
                           "layer": {"type": "integer", "minimum": 1}, "kind": {"enum": ["weight", "bias"]},
                           "row": {"type": "integer"}, "column": {"type": ["integer", "null"]},
                           "trainable": {"type": "boolean"}}}},
        "orders": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}},
                   "description": "per epoch: the order the samples are visited in (rows of the data)"},
        "start": {"type": "object", "required": ["step", "epoch", "theta", "state"], "additionalProperties": False,
                  "properties": {"step": {"type": "integer"}, "epoch": {"type": "integer"}, "theta": _VEC,
                                 "state": _STATE}},
        "steps": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["step", "epoch", "position", "t", "lr", "samples", "inputs", "targets", "net", "out",
                         "delta", "sample_loss", "data_loss", "penalty", "loss", "gradient", "applied_gradient",
                         "state_before", "state_after", "shown", "theta_before", "theta_after", "applied_step"],
            "properties": {
                "step": {"type": "integer", "minimum": 1}, "epoch": {"type": "integer", "minimum": 1},
                "position": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2,
                             "description": "[first, last+1] positions in the epoch's order"},
                "t": {"type": "integer", "minimum": 1}, "lr": _NUM,
                "samples": {"type": "array", "items": {"type": "integer"}},
                "inputs": _MAT, "targets": _MAT, "net": _LAYERS, "out": _LAYERS, "delta": _LAYERS,
                "sample_loss": _VEC, "data_loss": _NUM, "penalty": _NUM, "loss": _NUM,
                "gradient": _VEC, "applied_gradient": _VEC, "state_before": _STATE, "state_after": _STATE,
                "shown": _STATE, "theta_before": _VEC, "theta_after": _VEC, "applied_step": _VEC}}},
    },
}


def _list(a):
    """An array as nested lists of floats; non-finite values as None."""
    a = np.asarray(a, dtype=float)
    return a.tolist() if np.isfinite(a).all() else _clean(a.tolist())


def _clean(x):
    if isinstance(x, list):
        return [_clean(v) for v in x]
    return x if math.isfinite(x) else None


def _num(x):
    x = float(x)
    return x if math.isfinite(x) else None


def parameter_places(spec, params):
    """Every parameter's layer (from 1), kind, row and column (None for a bias)."""
    out = []
    for l, (o, n) in enumerate(params.shapes):
        s = params.slices[l]
        for off in range(s.stop - s.start):
            weight = off < o * n
            row, col = (off // n, off % n) if weight else (off - o * n, None)
            out.append((l + 1, "weight" if weight else "bias", row, col))
    return out


def trace_document(trace) -> dict:
    """The export of a recorded run as a dict (see TRACE_SCHEMA)."""
    from ..spec.toml_out import to_toml
    from .training import Model

    trace._need_record()
    spec, P = trace.spec, trace.params
    model = Model(spec)
    tr = spec.train
    trainable = model.trainable
    start = trace.start
    places = parameter_places(spec, P)
    labels = P.labels
    params = [{"index": i, "label": labels[i], "layer": l, "kind": kind, "row": row, "column": col,
               "trainable": bool(trainable is None or trainable[i])} for i, (l, kind, row, col) in enumerate(places)]
    state0 = model.optimizer.init_state(P.size)
    for name, value in (start.state if start is not None else {}).items():
        state0[name][:] = value
    data = spec.data
    steps = []
    for k, (e, lo, hi) in enumerate(trace.steps):
        samples = trace.orders[e, lo:hi]
        losses = trace.sample_loss[e, lo:hi]
        grad = trace.grads[k]
        applied = grad if trainable is None else grad * trainable
        before = ({s: state0[s] for s in trace.states} if k == 0
                  else {s: trace.states[s][k - 1] for s in trace.states})
        steps.append({
            "step": trace.steps_before + k + 1, "epoch": trace.epochs_before + int(e) + 1,
            "position": [int(lo), int(hi)], "t": trace.steps_before + k + 1,
            "lr": _num(trace.lr[k]), "samples": samples.tolist(),
            "inputs": _list(data.inputs[samples]), "targets": _list(data.targets[samples]),
            "net": [_list(z[e, lo:hi]) for z in trace.z], "out": [_list(a[e, lo:hi]) for a in trace.a],
            "delta": [_list(d[e, lo:hi]) for d in trace.delta],
            "sample_loss": _list(losses), "data_loss": _num(losses.mean() if model.mean else losses.sum()),
            "penalty": _num(trace.penalty[k]), "loss": _num(trace.loss[k]),
            "gradient": _list(grad), "applied_gradient": _list(applied),
            "state_before": {s: _list(v) for s, v in before.items()},
            "state_after": {s: _list(v[k]) for s, v in trace.states.items()},
            "shown": {s: _list(v[k]) for s, v in trace.shown.items()},
            "theta_before": _list(trace.thetas[k]), "theta_after": _list(trace.thetas[k + 1]),
            "applied_step": _list(trace.thetas[k + 1] - trace.thetas[k]),
        })
    return {
        "format": FORMAT, "version": VERSION,
        "spec": to_toml(spec, trace.thetas[0], P),
        "settings": {"lr": _num(tr.lr), "momentum": _num(tr.momentum), "beta1": _num(tr.beta1),
                     "beta2": _num(tr.beta2), "alpha": _num(tr.alpha), "eps": _num(tr.eps), "l1": _num(tr.l1),
                     "l2": _num(tr.l2), "lr_decay": _num(tr.lr_decay), "huber_delta": _num(spec.loss.delta)},
        "units": [list(layer.names) for layer in spec.layers],
        "parameters": params,
        "orders": trace.orders.tolist(),
        "start": {"step": start.step if start else 0, "epoch": start.epoch if start else 0,
                  "theta": _list(trace.thetas[0]), "state": {s: _list(v) for s, v in state0.items()}},
        "steps": steps,
    }


def check_trace_path(path: str) -> None:
    """Refuse an output that cannot be written, before any work is done."""
    import os

    from ..errors import SheetnetError
    if not path.lower().endswith(".json"):
        raise SheetnetError(_("the trace export must be a .json file"), path)
    if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise SheetnetError(_("the folder does not exist"), path)
    if os.path.isdir(path):
        raise SheetnetError(_("is a directory"), path)


def save_trace(trace, path: str) -> None:
    """Write the run's export to ``path`` (JSON, see TRACE_SCHEMA), atomically."""
    from ..files import atomic_path

    check_trace_path(path)
    doc = trace_document(trace)
    with atomic_path(path, suffix=".json.part") as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, allow_nan=False, separators=(",", ":"))


def load_trace(path: str):
    """Read an export back into a Trace (its DataFrames equal the exported run's)."""
    from ..errors import SpecError
    from ..spec import parse_spec
    from .training import Model, Start
    from .trace import Trace

    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, ValueError) as e:
        raise SpecError(_("cannot read the trace export ({name}: {e})").format(
            name=e.__class__.__name__, e=e), path) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != VERSION:
        raise SpecError(_("not a {format} version {version} file").format(format=FORMAT, version=VERSION), path)
    spec = parse_spec(tomllib.loads(doc["spec"]), path=path)
    model = Model(spec)

    def arr(x):
        return np.array(x, dtype=float) if x is not None else np.nan

    st = doc["start"]
    start = Start(theta=arr(st["theta"]), state={s: arr(v) for s, v in st["state"].items()},
                  step=st["step"], epoch=st["epoch"])
    steps = [(s["epoch"] - start.epoch - 1, *s["position"]) for s in doc["steps"]]  # epoch: an index again
    orders = np.array(doc["orders"], dtype=int)
    trace = Trace(spec, model.params, model.optimizer, len(steps), orders, steps, "eager", start)
    trace.lr = np.array([s["lr"] for s in doc["steps"]], dtype=float)
    trace.thetas[0] = start.theta
    for k, s in enumerate(doc["steps"]):
        e, lo, hi = steps[k]
        for l in range(len(trace.z)):
            trace.z[l][e, lo:hi] = s["net"][l]
            trace.a[l][e, lo:hi] = s["out"][l]
            trace.delta[l][e, lo:hi] = s["delta"][l]
        trace.sample_loss[e, lo:hi] = s["sample_loss"]
        trace.record_step(k, _f(s["loss"]), _f(s["penalty"]), arr(s["gradient"]),
                          {n: arr(v) for n, v in s["state_after"].items()},
                          {n: arr(v) for n, v in s["shown"].items()}, arr(s["theta_after"]))
    return trace


def _f(x):
    return float("nan") if x is None else float(x)
