"""The TOML spec -> frozen dataclasses, with every validation rule of SPEC.md.

Each error is one line naming the file and the key or row (``mazur.toml, layer 2 (dense),
key 'activation': unknown activation 'sigmod'; did you mean 'sigmoid'?``).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
import tomllib
from dataclasses import dataclass, field

import numpy as np

from .errors import SpecError, suggest
from .ops import LOSSES, OPTIMIZERS

LAYER_KINDS = ("input", "dense", "conv", "maxpool")
INIT_SCHEMES = ("xavier_uniform", "xavier_normal", "he_uniform", "he_normal", "uniform", "zeros")

TOP_KEYS = ("name", "layers", "loss", "train", "data", "compare")
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
    compare: tuple[tuple[str, float], ...] = ()  # [compare]: optimizer -> learning rate, for `sheetnet compare`
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
    from .spec_data import parse_data  # noqa: PLC0415 - these modules build on this one's types
    from .spec_layers import parse_layers

    layers = parse_layers(raw["layers"], fname)
    loss = _parse_loss(_table(raw["loss"], "[loss]", fname), fname)
    train = _parse_train(_table(raw["train"], "[train]", fname), fname)
    data = parse_data(_table(raw["data"], "[data]", fname), fname, base_dir, layers, loss)
    _check_pairing(layers, loss, fname)
    compare = _parse_compare(_table(raw.get("compare", {}), "[compare]", fname), fname)
    return Spec(layers=layers, loss=loss, train=train, data=data, name=name, compare=compare, path=path,
                base_dir=base_dir)


def _parse_compare(t, fname) -> tuple[tuple[str, float], ...]:
    """[compare]: the optimizers `sheetnet compare` runs side by side, each with its learning rate."""
    out = []
    for opt, lr in t.items():
        OPTIMIZERS.get_named(opt, f"{fname}, [compare] key {opt!r}")
        lr = _number(lr, f"{fname}, [compare] key {opt!r}")
        if lr <= 0:
            raise SpecError(f"a learning rate must be > 0, got {lr}", f"{fname}, [compare] key {opt!r}")
        out.append((opt, lr))
    return tuple(out)


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
