"""A Spec written back as TOML: the inverse of ``spec.parse_spec`` (data always inline)."""

from __future__ import annotations

import json

import numpy as np

from .model import Spec
from .settings import TRAIN_DEFAULTS


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a TOML basic string is a JSON string
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(type(v))


def _rows(matrix) -> str:
    rows = [_value(list(r)) for r in np.asarray(matrix).tolist()]
    return "[\n  " + ",\n  ".join(rows) + ",\n]" if len(rows) > 1 else "[" + rows[0] + "]"


def _map_layer(layer, wb) -> list[str]:
    """The keys of a conv or maxpool layer."""
    if layer.kind == "maxpool":
        return [f"size = {layer.pool}", f"names = {_value(list(layer.map_names))}"]
    F, k = layer.maps[0], layer.kernel
    out = [f"filters = {F}", f"kernel = {k}", f"activation = {_value(layer.activation)}",
           f"names = {_value(list(layer.map_names))}"]
    w, b = wb if wb is not None else (layer.weights, layer.biases)
    if w is None:
        return out + [f"init = {_value(layer.init)}"]
    kernels = np.asarray(w).reshape(F, k, k)
    out.append("weights = [\n" + "".join(f"  {_rows(kern)},\n" for kern in kernels) + "]")
    return out + [f"biases = {_value(np.asarray(b))}"]


def to_toml(spec: Spec, theta=None, params=None) -> str:
    """The spec as TOML.  With ``theta`` (a flat parameter vector) and its ``params``
    (network.Parameters), every dense layer gets those explicit weights and biases."""
    out = []
    if spec.name:
        out.append(f"name = {_value(spec.name)}\n")
    for l, layer in enumerate(spec.layers):
        out.append("[[layers]]")
        out.append(f"kind = {_value(layer.kind)}")
        if layer.kind in ("conv", "maxpool"):
            out += _map_layer(layer, None if theta is None else (params.W(theta, l - 1), params.b(theta, l - 1)))
            out.append("")
            continue
        if layer.kind == "input" and layer.shape is not None:
            out.append(f"shape = {_value(list(layer.shape))}")
        else:
            out.append(f"size = {layer.size}")
        if layer.activation:
            out.append(f"activation = {_value(layer.activation)}")
        out.append(f"names = {_value(list(layer.names))}")
        if layer.kind == "dense":
            if theta is not None:
                w, b = params.W(theta, l - 1), params.b(theta, l - 1)
            else:
                w, b = layer.weights, layer.biases
            if w is not None:
                out.append(f"weights = {_rows(w)}")
                out.append(f"biases = {_value(np.asarray(b))}")
            else:
                out.append(f"init = {_value(layer.init)}")
            if layer.weight_names is not None:
                out.append(f"weight_names = {_value([list(r) for r in layer.weight_names])}")
            if layer.bias_names is not None:
                out.append(f"bias_names = {_value(list(layer.bias_names))}")
        out.append("")
    out.append("[loss]")
    out.append(f"kind = {_value(spec.loss.kind)}")
    out.append(f"reduction = {_value(spec.loss.reduction)}")
    out.append(f"delta = {_value(spec.loss.delta)}\n")
    out.append("[train]")
    for key in TRAIN_DEFAULTS:
        out.append(f"{key} = {_value(getattr(spec.train, key))}")
    out.append("")
    if spec.compare:
        out.append("[compare]")
        out += [f"{opt} = {_value(lr)}" for opt, lr in spec.compare]
        out.append("")
    out.append("[data]")
    out.append(f"inputs = {_rows(spec.data.inputs)}")
    out.append(f"targets = {_rows(spec.data.targets)}")
    if spec.data.test_inputs is not None:
        out.append(f"test_inputs = {_rows(spec.data.test_inputs)}")
        out.append(f"test_targets = {_rows(spec.data.test_targets)}")
    return "\n".join(out) + "\n"
