"""[[layers]] of a spec: input, dense, conv and maxpool layers, validated (see spec.py)."""

from __future__ import annotations

import math

import numpy as np

from ..errors import at_key, SpecError, suggest
from ..limits import MAX_LAYERS, MAX_PARAMETERS, MAX_TOTAL_UNITS, MAX_UNITS
from ..ops import ACTIVATIONS
from .checks import as_matrix, as_names, as_number, as_vector, no_unknown
from .model import INIT_SCHEMES, LAYER_KEYS, LAYER_KINDS, Layer
from ..i18n import _


def parse_layers(raw, fname) -> tuple[Layer, ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(t, dict) for t in raw):
        raise SpecError(_("[[layers]] must be a list of tables"), fname)
    if len(raw) < 2:
        raise SpecError(_("need an input layer and at least one more layer"), f"{fname}, [[layers]]")
    if len(raw) > MAX_LAYERS:
        raise SpecError(_("{n} layers, more than sheetnet's limit of {limit}").format(
            n=len(raw), limit=MAX_LAYERS), f"{fname}, [[layers]]")
    layers: list[Layer] = []
    used_names: set[str] = set()
    used_params: set[str] = set()
    for i, t in enumerate(raw, start=1):
        kind = t.get("kind")
        where = _("{fname}, layer {i}").format(fname=fname, i=i)
        if kind is None:
            raise SpecError(_("missing required key 'kind'"), where)
        if kind not in LAYER_KINDS:
            raise SpecError(_("unknown layer kind {kind}").format(
                kind=repr(kind)) + suggest(kind, LAYER_KINDS), at_key(where, "kind"))
        where = _("{fname}, layer {i} ({kind})").format(fname=fname, i=i, kind=kind)
        no_unknown(t, LAYER_KEYS[kind], where)
        if (i == 1) != (kind == "input"):
            raise SpecError(_("the first layer must be the input layer, and only the first"), where)
        if kind == "input":
            layer = _parse_input(t, where)
        elif kind == "dense":
            layer = _parse_dense(t, where, layers[-1].size, i)
        elif kind == "conv":
            layer = _parse_conv(t, where, layers[-1], i)
        else:
            layer = _parse_maxpool(t, where, layers[-1])
        _check_budget(layers, layer, where)
        clash = used_names.intersection(layer.names)
        if clash:
            raise SpecError(_("unit name {value} is used twice").format(
                value=repr(sorted(clash)[0])), at_key(where, "names"))
        used_names.update(layer.names)
        given = {"weight_names": [n for row in layer.weight_names or () for n in row],
                 "bias_names": list(layer.bias_names or ())}
        for key, labels in given.items():
            for label in labels:
                if label in used_params:
                    raise SpecError(_("parameter name {label} is used twice").format(
                        label=repr(label)), at_key(where, key))
                used_params.add(label)
        layers.append(layer)
    return tuple(layers)


def _check_budget(before, layer, where):
    """Units and parameters so far within sheetnet's limits (limits.py)."""
    units = sum(lay.size for lay in before) + layer.size
    if units > MAX_TOTAL_UNITS:
        raise SpecError(_("the network would have {units:,} units, more than sheetnet's limit of {limit:,}").format(
            units=units, limit=MAX_TOTAL_UNITS), where)
    if before and layer.kind != "maxpool":
        fan_in = layer.kernel ** 2 if layer.kind == "conv" else before[-1].size
        n_out = layer.maps[0] if layer.kind == "conv" else layer.size
        params = n_out * (fan_in + 1) + sum(
            (lay.maps[0] * (lay.kernel ** 2 + 1) if lay.kind == "conv" else
             lay.size * (prev.size + 1) if lay.kind == "dense" else 0)
            for prev, lay in zip(before, before[1:]))
        if params > MAX_PARAMETERS:
            raise SpecError(_("the network would have {params:,} parameters, more than sheetnet's limit of "
                              "{limit:,}").format(params=params, limit=MAX_PARAMETERS), where)


def _count(value, key, where, limit=MAX_UNITS) -> int:
    """A whole number from 1 to ``limit``."""
    n = as_number(value, at_key(where, key), integer=True)
    if n < 1:
        raise SpecError(_("must be at least 1, got {n}").format(n=n), at_key(where, key))
    if n > limit:
        raise SpecError(_("{n:,} is more than sheetnet's limit of {limit:,}").format(
            n=n, limit=limit), at_key(where, key))
    return n


def _size(t, where) -> int:
    if "size" not in t:
        raise SpecError(_("missing required key 'size'"), where)
    return _count(t["size"], "size", where)


def _parse_input(t, where) -> Layer:
    shape = None
    if "shape" in t:
        s = t["shape"]
        if not isinstance(s, list) or not s or len(s) > 2:
            raise SpecError(_("expected [height, width]"), at_key(where, "shape"))
        shape = tuple(as_number(v, at_key(where, "shape"), integer=True) for v in s)
        if min(shape) < 1:
            raise SpecError(_("sizes must be at least 1"), at_key(where, "shape"))
        size = math.prod(shape)
        if size > MAX_UNITS:
            raise SpecError(_("an image of {size:,} pixels, more than sheetnet's limit of {limit:,} units").format(
                size=size, limit=MAX_UNITS),
                            at_key(where, "shape"))
        if "size" in t and _size(t, where) != size:
            raise SpecError(_("size {size} does not match shape {value} ({size2} units)").format(
                size=t['size'], value=list(shape), size2=size), where)
    else:
        size = _size(t, where)
    names = as_names(t["names"], size, at_key(where, "names")) if "names" in t else None
    if names is None:
        if shape is not None and len(shape) == 2:
            names = tuple(f"x{r + 1}_{c + 1}" for r in range(shape[0]) for c in range(shape[1]))
        else:
            names = tuple(f"i{k + 1}" for k in range(size))
    return Layer(kind="input", size=size, names=names, shape=shape)


def _parse_dense(t, where, fan_in: int, index: int) -> Layer:
    size = _size(t, where)
    if "activation" not in t:
        raise SpecError(_("missing required key 'activation'"), where)
    act = t["activation"]
    ACTIVATIONS.get_named(act, at_key(where, "activation"))
    names = as_names(t["names"], size, at_key(where, "names")) if "names" in t else \
        tuple(f"L{index - 1}.u{k + 1}" for k in range(size))
    has_w, has_b = "weights" in t, "biases" in t
    if has_w != has_b:
        raise SpecError(_("give both 'weights' and 'biases', or neither (then 'init')"), where)
    weights = biases = None
    if has_w:
        if "init" in t:
            raise SpecError(_("give either 'weights'/'biases' or 'init', not both"), where)
        weights = as_matrix(t["weights"], size, fan_in, at_key(where, "weights"))
        biases = as_vector(t["biases"], size, at_key(where, "biases"))
    init = t.get("init", "xavier_uniform")
    if init not in INIT_SCHEMES:
        raise SpecError(_("unknown init {init}").format(
            init=repr(init)) + suggest(init, INIT_SCHEMES), at_key(where, "init"))
    weight_names = bias_names = None
    if "weight_names" in t:
        wn = t["weight_names"]
        if not isinstance(wn, list) or len(wn) != size:
            raise SpecError(_("expected {size} rows of {fan_in} names").format(
                size=size, fan_in=fan_in), at_key(where, "weight_names"))
        weight_names = tuple(as_names(row, fan_in, at_key(where, "weight_names")) for row in wn)
    if "bias_names" in t:
        bias_names = as_names(t["bias_names"], size, at_key(where, "bias_names"))
    return Layer(kind="dense", size=size, names=names, activation=act, weights=weights, biases=biases,
                 init=init, weight_names=weight_names, bias_names=bias_names)


def _parse_conv(t, where, prev: Layer, index: int) -> Layer:
    """F filters of k×k over a single-channel image, stride 1, no padding (SPEC.md, v1)."""
    if index != 2 or prev.shape is None or len(prev.shape) != 2:
        raise SpecError(_("a conv layer must come right after an input layer with shape = [height, width]"), where)
    for key in ("filters", "kernel", "activation"):
        if key not in t:
            raise SpecError(_("missing required key '{key}'").format(key=key), where)
    F = _count(t["filters"], "filters", where)
    k = as_number(t["kernel"], at_key(where, "kernel"), integer=True)
    H, W = prev.shape
    if F * (H - min(k, H) + 1) * (W - min(k, W) + 1) > MAX_TOTAL_UNITS:
        raise SpecError(_("{f:,} filters give more than sheetnet's limit of {limit:,} units").format(
            f=F, limit=MAX_TOTAL_UNITS),
                        at_key(where, "filters"))
    if not 1 <= k <= min(H, W):
        raise SpecError(_("must be between 1 and {value} (the image is {h}x{w}), got {k}").format(
            value=min(H, W), h=H, w=W, k=k), at_key(where, "kernel"))
    act = t["activation"]
    ACTIVATIONS.get_named(act, at_key(where, "activation"))
    if act == "softmax":
        raise SpecError(_("softmax is only allowed on the output layer"), at_key(where, "activation"))
    filters = as_names(t["names"], F, at_key(where, "names")) if "names" in t else tuple(f"f{n + 1}" for n in range(F))
    weights = biases = None
    has_w, has_b = "weights" in t, "biases" in t
    if has_w != has_b:
        raise SpecError(_("give both 'weights' and 'biases', or neither (then 'init')"), where)
    if has_w:
        if "init" in t:
            raise SpecError(_("give either 'weights'/'biases' or 'init', not both"), where)
        raw = t["weights"]
        if not isinstance(raw, list) or len(raw) != F:
            raise SpecError(_("expected {f} filters of {k}x{k} numbers").format(
                f=F, k=k), at_key(where, "weights"))
        weights = np.stack([as_matrix(f, k, k, _("{where}, key 'weights', filter {value}").format(
            where=where, value=n + 1)) for n, f in enumerate(raw)])
        biases = as_vector(t["biases"], F, at_key(where, "biases"))
    init = t.get("init", "xavier_uniform")
    if init not in INIT_SCHEMES:
        raise SpecError(_("unknown init {init}").format(
            init=repr(init)) + suggest(init, INIT_SCHEMES), at_key(where, "init"))
    Ho, Wo = H - k + 1, W - k + 1
    return Layer(kind="conv", size=F * Ho * Wo, names=_map_units(filters, Ho, Wo), activation=act,
                 weights=weights, biases=biases, init=init, maps=(F, Ho, Wo), map_names=filters, kernel=k)


def _parse_maxpool(t, where, prev: Layer) -> Layer:
    """Non-overlapping p×p windows over the maps of the conv layer before it."""
    if prev.kind != "conv":
        raise SpecError(_("a maxpool layer must follow a conv layer"), where)
    p = _size(t, where)
    F, H, W = prev.maps
    if H % p or W % p:
        raise SpecError(_("the pooling size {p} must divide the {h}x{w} maps of the conv layer").format(
            p=p, h=H, w=W), at_key(where, "size"))
    names = as_names(t["names"], F, at_key(where, "names")) if "names" in t else \
        tuple(f"max_{n}" for n in prev.map_names)
    Hp, Wp = H // p, W // p
    return Layer(kind="maxpool", size=F * Hp * Wp, names=_map_units(names, Hp, Wp), activation="linear",
                 maps=(F, Hp, Wp), map_names=names, pool=p)


def _map_units(maps, H, W) -> tuple[str, ...]:
    """Unit names of feature maps in (map, row, column) order: ``f1[1,2]``."""
    return tuple(f"{m}[{r + 1},{c + 1}]" for m in maps for r in range(H) for c in range(W))
