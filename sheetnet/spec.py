"""The TOML spec -> frozen dataclasses, with every validation rule of SPEC.md.

Each error is one line naming the file and the key or row (``mazur.toml, layer 2 (dense),
key 'activation': unknown activation 'sigmod'; did you mean 'sigmoid'?``).
"""

from __future__ import annotations

import csv
import dataclasses
import math
import numbers
import os
import tomllib
from dataclasses import dataclass, field

import numpy as np

from .errors import SpecError, suggest
from .ops import ACTIVATIONS, LOSSES, OPTIMIZERS

LAYER_KINDS = ("input", "dense", "conv", "maxpool")
INIT_SCHEMES = ("xavier_uniform", "xavier_normal", "he_uniform", "he_normal", "uniform", "zeros")

TOP_KEYS = ("name", "layers", "loss", "train", "data")
LAYER_KEYS = {
    "input": ("kind", "size", "shape", "names"),
    "dense": ("kind", "size", "activation", "names", "weights", "biases", "init",
              "weight_names", "bias_names"),
    "conv": ("kind", "filters", "kernel", "activation", "names", "weights", "biases", "init"),
    "maxpool": ("kind", "size", "names"),
}
LOSS_KEYS = ("kind", "reduction", "delta")
TRAIN_DEFAULTS = dict(optimizer="sgd", lr=0.5, epochs=1, batch_size=0, shuffle=False, seed=0,
                      freeze_biases=False, momentum=0.9, beta1=0.9, beta2=0.999, alpha=0.99,
                      eps=None, l2=0.0, l1=0.0, lr_decay=0.0)
DATA_KEYS = ("inputs", "targets", "csv", "input_columns", "target_columns")


@dataclass(frozen=True, eq=False)
class Layer:
    """One layer. ``weights[j][i]`` connects unit i of the previous layer to unit j of this one."""

    kind: str
    size: int
    names: tuple[str, ...]
    activation: str | None = None
    weights: np.ndarray | None = None
    biases: np.ndarray | None = None
    init: str = "xavier_uniform"
    shape: tuple[int, ...] | None = None
    weight_names: tuple[tuple[str, ...], ...] | None = None
    bias_names: tuple[str, ...] | None = None
    # conv and maxpool: the maps (filters, height, width) the layer outputs, its filters' names,
    # the kernel size k (conv: weights[f][u][v]) or the pooling size p (maxpool)
    maps: tuple[int, int, int] | None = None
    map_names: tuple[str, ...] | None = None
    kernel: int | None = None
    pool: int | None = None


@dataclass(frozen=True)
class Loss:
    kind: str = "half_sse"
    reduction: str = "mean"
    delta: float = 1.0


@dataclass(frozen=True)
class Train:
    optimizer: str = "sgd"
    lr: float = 0.5
    epochs: int = 1
    batch_size: int = 0
    shuffle: bool = False
    seed: int = 0
    freeze_biases: bool = False
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    alpha: float = 0.99
    eps: float = 1e-8
    l2: float = 0.0
    l1: float = 0.0
    lr_decay: float = 0.0


@dataclass(frozen=True, eq=False)
class Data:
    inputs: np.ndarray  # (N, n_in)
    targets: np.ndarray  # (N, K)
    source: str = "inline"  # "inline" or the CSV path as written in the spec
    input_columns: tuple[str, ...] | None = None
    target_columns: tuple[str, ...] | None = None


@dataclass(frozen=True, eq=False)
class Spec:
    layers: tuple[Layer, ...]
    loss: Loss
    train: Train
    data: Data
    name: str = ""
    path: str = "<spec>"  # where it was read from, for messages
    base_dir: str = field(default=".", repr=False)

    @property
    def dense_layers(self) -> tuple[Layer, ...]:
        return self.layers[1:]

    def with_train(self, **changes) -> "Spec":
        """A copy with some [train] settings changed (validated like the file)."""
        raw = {**dataclasses.asdict(self.train), **changes}
        train = _parse_train(raw, os.path.basename(self.path))
        return dataclasses.replace(self, train=train)


# --------------------------------------------------------------------------- loading
def load_spec(path: str) -> Spec:
    """Read and validate a TOML spec file."""
    name = os.path.basename(path)
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise SpecError("no such file", path) from None
    except IsADirectoryError:
        raise SpecError("is a directory, not a spec file", path) from None
    except OSError as e:
        raise SpecError(f"cannot read the file: {e.strerror}", path) from None
    except tomllib.TOMLDecodeError as e:
        raise SpecError(f"not valid TOML: {e}", name) from None
    except UnicodeDecodeError:
        raise SpecError("not a text file", name) from None
    return parse_spec(raw, path=path)


def parse_spec(raw: dict, path: str = "<spec>") -> Spec:
    """Validate a spec given as a dict (as tomllib reads it)."""
    fname = os.path.basename(path)
    base_dir = os.path.dirname(os.path.abspath(path)) if path != "<spec>" else os.getcwd()
    _no_unknown(raw, TOP_KEYS, fname)
    for key in ("layers", "loss", "train", "data"):
        if key not in raw:
            raise SpecError(f"missing required {'[[layers]] tables' if key == 'layers' else f'[{key}] table'}", fname)
    name = raw.get("name", "")
    if not isinstance(name, str):
        raise SpecError("must be a string", f"{fname}, key 'name'")
    layers = _parse_layers(raw["layers"], fname)
    loss = _parse_loss(_table(raw["loss"], "[loss]", fname), fname)
    train = _parse_train(_table(raw["train"], "[train]", fname), fname)
    data = _parse_data(_table(raw["data"], "[data]", fname), fname, base_dir, layers, loss)
    _check_pairing(layers, loss, fname)
    return Spec(layers=layers, loss=loss, train=train, data=data, name=name, path=path, base_dir=base_dir)


def _table(value, what, fname):
    if not isinstance(value, dict):
        raise SpecError(f"{what} must be a table", fname)
    return value


def _no_unknown(table: dict, allowed, where: str, section: str = ""):
    for key in table:
        if key not in allowed:
            raise SpecError(f"unknown key {key!r}" + suggest(key, allowed), f"{where}{section}")


# --------------------------------------------------------------------------- numbers
def _number(value, where: str, integer: bool = False) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise SpecError(f"expected a number, got {value!r}", where)
    if not math.isfinite(value):
        raise SpecError(f"must be a finite number, got {value}", where)
    if integer:
        if isinstance(value, float) and not value.is_integer():
            raise SpecError(f"expected a whole number, got {value}", where)
        return int(value)
    return float(value)


def _matrix(value, rows: int, cols: int, where: str) -> np.ndarray:
    if not isinstance(value, list) or len(value) != rows:
        got = len(value) if isinstance(value, list) else type(value).__name__
        raise SpecError(f"expected {rows} rows of {cols} numbers, got {got} rows", where)
    out = np.empty((rows, cols))
    for r, row in enumerate(value):
        if not isinstance(row, list) or len(row) != cols:
            got = len(row) if isinstance(row, list) else repr(row)
            raise SpecError(f"row {r + 1}: expected {cols} numbers, got {got}", where)
        for c, v in enumerate(row):
            out[r, c] = _number(v, f"{where} row {r + 1}, column {c + 1}")
    return out


def _vector(value, n: int, where: str) -> np.ndarray:
    if not isinstance(value, list) or len(value) != n:
        got = len(value) if isinstance(value, list) else repr(value)
        raise SpecError(f"expected {n} numbers, got {got}", where)
    return np.array([_number(v, f"{where} item {i + 1}") for i, v in enumerate(value)])


def _names(value, n: int, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) != n or not all(isinstance(v, str) and v for v in value):
        raise SpecError(f"expected a list of {n} non-empty names", where)
    if len(set(value)) != n:
        raise SpecError("names must be distinct", where)
    return tuple(value)


# --------------------------------------------------------------------------- layers
def _parse_layers(raw, fname) -> tuple[Layer, ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(t, dict) for t in raw):
        raise SpecError("[[layers]] must be a list of tables", fname)
    if len(raw) < 2:
        raise SpecError("need an input layer and at least one more layer", f"{fname}, [[layers]]")
    layers: list[Layer] = []
    used_names: set[str] = set()
    used_params: set[str] = set()
    for i, t in enumerate(raw, start=1):
        kind = t.get("kind")
        where = f"{fname}, layer {i}"
        if kind is None:
            raise SpecError("missing required key 'kind'", where)
        if kind not in LAYER_KINDS:
            raise SpecError(f"unknown layer kind {kind!r}" + suggest(kind, LAYER_KINDS), f"{where}, key 'kind'")
        where = f"{fname}, layer {i} ({kind})"
        _no_unknown(t, LAYER_KEYS[kind], where)
        if (i == 1) != (kind == "input"):
            raise SpecError("the first layer must be the input layer, and only the first", where)
        if kind == "input":
            layer = _parse_input(t, where)
        elif kind == "dense":
            layer = _parse_dense(t, where, layers[-1].size, i)
        elif kind == "conv":
            layer = _parse_conv(t, where, layers[-1], i)
        else:
            layer = _parse_maxpool(t, where, layers[-1])
        clash = used_names.intersection(layer.names)
        if clash:
            raise SpecError(f"unit name {sorted(clash)[0]!r} is used twice", f"{where}, key 'names'")
        used_names.update(layer.names)
        given = {"weight_names": [n for row in layer.weight_names or () for n in row],
                 "bias_names": list(layer.bias_names or ())}
        for key, labels in given.items():
            for label in labels:
                if label in used_params:
                    raise SpecError(f"parameter name {label!r} is used twice", f"{where}, key '{key}'")
                used_params.add(label)
        layers.append(layer)
    return tuple(layers)


def _size(t, where) -> int:
    if "size" not in t:
        raise SpecError("missing required key 'size'", where)
    size = _number(t["size"], f"{where}, key 'size'", integer=True)
    if size < 1:
        raise SpecError(f"must be at least 1, got {size}", f"{where}, key 'size'")
    return size


def _parse_input(t, where) -> Layer:
    shape = None
    if "shape" in t:
        s = t["shape"]
        if not isinstance(s, list) or not s or len(s) > 2:
            raise SpecError("expected [height, width]", f"{where}, key 'shape'")
        shape = tuple(_number(v, f"{where}, key 'shape'", integer=True) for v in s)
        if min(shape) < 1:
            raise SpecError("sizes must be at least 1", f"{where}, key 'shape'")
        size = math.prod(shape)
        if "size" in t and _size(t, where) != size:
            raise SpecError(f"size {t['size']} does not match shape {list(shape)} ({size} units)", where)
    else:
        size = _size(t, where)
    names = _names(t["names"], size, f"{where}, key 'names'") if "names" in t else None
    if names is None:
        if shape is not None and len(shape) == 2:
            names = tuple(f"x{r + 1}_{c + 1}" for r in range(shape[0]) for c in range(shape[1]))
        else:
            names = tuple(f"i{k + 1}" for k in range(size))
    return Layer(kind="input", size=size, names=names, shape=shape)


def _parse_dense(t, where, fan_in: int, index: int) -> Layer:
    size = _size(t, where)
    if "activation" not in t:
        raise SpecError("missing required key 'activation'", where)
    act = t["activation"]
    ACTIVATIONS.get_named(act, f"{where}, key 'activation'")
    names = _names(t["names"], size, f"{where}, key 'names'") if "names" in t else \
        tuple(f"L{index - 1}.u{k + 1}" for k in range(size))
    has_w, has_b = "weights" in t, "biases" in t
    if has_w != has_b:
        raise SpecError("give both 'weights' and 'biases', or neither (then 'init')", where)
    weights = biases = None
    if has_w:
        if "init" in t:
            raise SpecError("give either 'weights'/'biases' or 'init', not both", where)
        weights = _matrix(t["weights"], size, fan_in, f"{where}, key 'weights'")
        biases = _vector(t["biases"], size, f"{where}, key 'biases'")
    init = t.get("init", "xavier_uniform")
    if init not in INIT_SCHEMES:
        raise SpecError(f"unknown init {init!r}" + suggest(init, INIT_SCHEMES), f"{where}, key 'init'")
    weight_names = bias_names = None
    if "weight_names" in t:
        wn = t["weight_names"]
        if not isinstance(wn, list) or len(wn) != size:
            raise SpecError(f"expected {size} rows of {fan_in} names", f"{where}, key 'weight_names'")
        weight_names = tuple(_names(row, fan_in, f"{where}, key 'weight_names'") for row in wn)
    if "bias_names" in t:
        bias_names = _names(t["bias_names"], size, f"{where}, key 'bias_names'")
    return Layer(kind="dense", size=size, names=names, activation=act, weights=weights, biases=biases,
                 init=init, weight_names=weight_names, bias_names=bias_names)


def _parse_conv(t, where, prev: Layer, index: int) -> Layer:
    """F filters of k×k over a single-channel image, stride 1, no padding (SPEC.md, v1)."""
    if index != 2 or prev.shape is None or len(prev.shape) != 2:
        raise SpecError("a conv layer must come right after an input layer with shape = [height, width]", where)
    for key in ("filters", "kernel", "activation"):
        if key not in t:
            raise SpecError(f"missing required key '{key}'", where)
    F = _number(t["filters"], f"{where}, key 'filters'", integer=True)
    k = _number(t["kernel"], f"{where}, key 'kernel'", integer=True)
    H, W = prev.shape
    if F < 1:
        raise SpecError(f"must be at least 1, got {F}", f"{where}, key 'filters'")
    if not 1 <= k <= min(H, W):
        raise SpecError(f"must be between 1 and {min(H, W)} (the image is {H}x{W}), got {k}", f"{where}, key 'kernel'")
    act = t["activation"]
    ACTIVATIONS.get_named(act, f"{where}, key 'activation'")
    if act == "softmax":
        raise SpecError("softmax is only allowed on the output layer", f"{where}, key 'activation'")
    filters = _names(t["names"], F, f"{where}, key 'names'") if "names" in t else tuple(f"f{n + 1}" for n in range(F))
    weights = biases = None
    has_w, has_b = "weights" in t, "biases" in t
    if has_w != has_b:
        raise SpecError("give both 'weights' and 'biases', or neither (then 'init')", where)
    if has_w:
        if "init" in t:
            raise SpecError("give either 'weights'/'biases' or 'init', not both", where)
        raw = t["weights"]
        if not isinstance(raw, list) or len(raw) != F:
            raise SpecError(f"expected {F} filters of {k}x{k} numbers", f"{where}, key 'weights'")
        weights = np.stack([_matrix(f, k, k, f"{where}, key 'weights', filter {n + 1}") for n, f in enumerate(raw)])
        biases = _vector(t["biases"], F, f"{where}, key 'biases'")
    init = t.get("init", "xavier_uniform")
    if init not in INIT_SCHEMES:
        raise SpecError(f"unknown init {init!r}" + suggest(init, INIT_SCHEMES), f"{where}, key 'init'")
    Ho, Wo = H - k + 1, W - k + 1
    return Layer(kind="conv", size=F * Ho * Wo, names=_map_units(filters, Ho, Wo), activation=act,
                 weights=weights, biases=biases, init=init, maps=(F, Ho, Wo), map_names=filters, kernel=k)


def _parse_maxpool(t, where, prev: Layer) -> Layer:
    """Non-overlapping p×p windows over the maps of the conv layer before it."""
    if prev.kind != "conv":
        raise SpecError("a maxpool layer must follow a conv layer", where)
    p = _size(t, where)
    F, H, W = prev.maps
    if H % p or W % p:
        raise SpecError(f"the pooling size {p} must divide the {H}x{W} maps of the conv layer", f"{where}, key 'size'")
    names = _names(t["names"], F, f"{where}, key 'names'") if "names" in t else \
        tuple(f"max_{n}" for n in prev.map_names)
    Hp, Wp = H // p, W // p
    return Layer(kind="maxpool", size=F * Hp * Wp, names=_map_units(names, Hp, Wp), activation="linear",
                 maps=(F, Hp, Wp), map_names=names, pool=p)


def _map_units(maps, H, W) -> tuple[str, ...]:
    """Unit names of feature maps in (map, row, column) order: ``f1[1,2]``."""
    return tuple(f"{m}[{r + 1},{c + 1}]" for m in maps for r in range(H) for c in range(W))


# --------------------------------------------------------------------------- loss/train
def _parse_loss(t, fname) -> Loss:
    where = f"{fname}, [loss]"
    _no_unknown(t, LOSS_KEYS, where)
    if "kind" not in t:
        raise SpecError("missing required key 'kind'", where)
    LOSSES.get_named(t["kind"], f"{where} key 'kind'")
    reduction = t.get("reduction", "mean")
    if reduction not in ("mean", "sum"):
        raise SpecError(f"unknown reduction {reduction!r}" + suggest(reduction, ("mean", "sum")),
                        f"{where} key 'reduction'")
    delta = _number(t.get("delta", 1.0), f"{where} key 'delta'")
    if delta <= 0:
        raise SpecError(f"must be > 0, got {delta}", f"{where} key 'delta'")
    return Loss(kind=t["kind"], reduction=reduction, delta=delta)


def _parse_train(t, fname) -> Train:
    where = f"{fname}, [train]"
    _no_unknown(t, TRAIN_DEFAULTS, where)
    opt = t.get("optimizer", "sgd")
    OPTIMIZERS.get_named(opt, f"{where} key 'optimizer'")
    values = {}
    for key, default in TRAIN_DEFAULTS.items():
        if key == "optimizer":
            continue
        v = t.get(key, default)
        kw = f"{where} key '{key}'"
        if key in ("shuffle", "freeze_biases"):
            if not isinstance(v, bool):
                raise SpecError(f"expected true or false, got {v!r}", kw)
        elif key == "eps" and v is None:
            v = 1e-10 if opt == "adagrad" else 1e-8
        else:
            v = _number(v, kw, integer=key in ("epochs", "batch_size", "seed"))
        values[key] = v
    train = Train(optimizer=opt, **values)
    _check_train_ranges(train, fname)
    return train


def _check_train_ranges(tr: Train, fname: str):
    where = f"{fname}, [train]"
    rules = [
        ("lr", tr.lr > 0, "> 0"), ("epochs", tr.epochs >= 1, "at least 1"),
        ("batch_size", tr.batch_size >= 0, ">= 0"), ("seed", tr.seed >= 0, ">= 0"),
        ("momentum", 0 <= tr.momentum < 1, "in [0, 1)"), ("beta1", 0 <= tr.beta1 < 1, "in [0, 1)"),
        ("beta2", 0 <= tr.beta2 < 1, "in [0, 1)"), ("alpha", 0 < tr.alpha < 1, "in (0, 1)"),
        ("eps", tr.eps > 0, "> 0"), ("l1", tr.l1 >= 0, ">= 0"), ("l2", tr.l2 >= 0, ">= 0"),
        ("lr_decay", tr.lr_decay >= 0, ">= 0"),
    ]
    for key, ok, rule in rules:
        if not ok:
            raise SpecError(f"must be {rule}, got {getattr(tr, key)}", f"{where} key '{key}'")


def _check_pairing(layers, loss: Loss, fname):
    out = layers[-1]
    for i, layer in enumerate(layers[1:-1], start=2):
        if layer.activation == "softmax":
            raise SpecError("softmax is only allowed on the output layer (with loss 'cross_entropy')",
                            f"{fname}, layer {i} (dense), key 'activation'")
    if loss.kind == "cross_entropy" and out.activation != "softmax":
        raise SpecError(f"loss 'cross_entropy' needs a softmax output layer, got '{out.activation}'",
                        f"{fname}, [loss] key 'kind'")
    if out.activation == "softmax" and loss.kind != "cross_entropy":
        raise SpecError(f"a softmax output layer needs loss 'cross_entropy', got '{loss.kind}'",
                        f"{fname}, [loss] key 'kind'")


# --------------------------------------------------------------------------- data
def _parse_data(t, fname, base_dir, layers, loss: Loss) -> Data:
    where = f"{fname}, [data]"
    _no_unknown(t, DATA_KEYS, where)
    n_in, n_out = layers[0].size, layers[-1].size
    if "csv" in t:
        for key in ("inputs", "targets"):
            if key in t:
                raise SpecError(f"give either 'csv' or inline '{key}', not both", where)
        data = _read_csv(t, where, base_dir, n_in, n_out)
        rows_where = data.source
    else:
        for key in ("input_columns", "target_columns"):
            if key in t:
                raise SpecError(f"'{key}' needs 'csv'", where)
        for key in ("inputs", "targets"):
            if key not in t:
                raise SpecError(f"missing required key '{key}' (or 'csv')", where)
        raw_in, raw_t = t["inputs"], t["targets"]
        if not isinstance(raw_in, list) or not raw_in:
            raise SpecError("the data set is empty: need at least one sample", f"{where} key 'inputs'")
        n = len(raw_in)
        inputs = _matrix(raw_in, n, n_in, f"{where} key 'inputs'")
        if not isinstance(raw_t, list) or len(raw_t) != n:
            got = len(raw_t) if isinstance(raw_t, list) else repr(raw_t)
            raise SpecError(f"expected {n} rows (one per input row), got {got}", f"{where} key 'targets'")
        targets = _matrix(raw_t, n, n_out, f"{where} key 'targets'")
        data = Data(inputs=inputs, targets=targets)
        rows_where = f"{where} key 'targets'"
    _check_targets(data.targets, loss, rows_where)
    return data


def _check_targets(targets: np.ndarray, loss: Loss, where: str):
    rules = {
        "cross_entropy": (lambda r: np.all((r == 0) | (r == 1)) and r.sum() == 1, "one-hot (a single 1, the rest 0)"),
        "binary_cross_entropy": (lambda r: np.all((r >= 0) & (r <= 1)), "in [0, 1]"),
        "hinge": (lambda r: np.all(np.abs(r) == 1), "-1 or +1"),
    }
    if loss.kind not in rules:
        return
    ok, what = rules[loss.kind]
    for n, row in enumerate(targets, start=1):
        if not ok(row):
            raise SpecError(f"row {n}: targets for loss '{loss.kind}' must be {what}, got {row.tolist()}", where)


def _read_csv(t, where, base_dir, n_in, n_out) -> Data:
    rel = t["csv"]
    if not isinstance(rel, str):
        raise SpecError("expected a file name", f"{where} key 'csv'")
    path = os.path.join(base_dir, rel)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except OSError as e:
        raise SpecError(f"cannot read the CSV file: {e.strerror}", f"{where} key 'csv' ({rel})") from None
    except UnicodeDecodeError:
        raise SpecError("not a UTF-8 text file", rel) from None
    numbered = [(r, row) for r, row in enumerate(rows, start=1) if any(c.strip() for c in row)]
    if not numbered:
        raise SpecError("the CSV file is empty", rel)
    header = [h.strip() for h in numbered[0][1]]
    cols = {}
    for key, n in (("input_columns", n_in), ("target_columns", n_out)):
        if key not in t:
            raise SpecError(f"missing required key '{key}' (with 'csv')", where)
        names = t[key]
        if not isinstance(names, list) or len(names) != n:
            raise SpecError(f"expected {n} column names", f"{where} key '{key}'")
        for c in names:
            if c not in header:
                raise SpecError(f"no column {c!r} in {rel}" + suggest(c, header), f"{where} key '{key}'")
        cols[key] = [header.index(c) for c in names]
    body = numbered[1:]
    if not body:
        raise SpecError("the data set is empty: the CSV file has a header but no rows", rel)
    values = np.empty((len(body), len(header)))
    wanted = cols["input_columns"] + cols["target_columns"]
    for pos, (r, row) in enumerate(body):
        if len(row) != len(header):
            raise SpecError(f"expected {len(header)} fields, got {len(row)}", f"{rel}, row {r}")
        for c in wanted:
            cell = row[c].strip()
            try:
                v = float(cell)
            except ValueError:
                raise SpecError(f"not a number: {cell!r}", f"{rel}, row {r}, column {header[c]!r}") from None
            if not math.isfinite(v):
                raise SpecError(f"must be a finite number, got {cell}", f"{rel}, row {r}, column {header[c]!r}")
            values[pos, c] = v
    return Data(inputs=values[:, cols["input_columns"]].copy(), targets=values[:, cols["target_columns"]].copy(),
                source=rel, input_columns=tuple(t["input_columns"]), target_columns=tuple(t["target_columns"]))
