"""The spec as frozen dataclasses: layers, data and the whole run (SPEC.md)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field

import numpy as np

from .settings import Loss, Train, parse_train

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
DATA_KEYS = ("inputs", "targets", "csv", "input_columns", "target_columns",
             "test_inputs", "test_targets", "test_csv")


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


@dataclass(frozen=True, eq=False)
class Data:
    inputs: np.ndarray  # (N, n_in)
    targets: np.ndarray  # (N, K)
    source: str = "inline"  # "inline" or the CSV path as written in the spec
    input_columns: tuple[str, ...] | None = None
    target_columns: tuple[str, ...] | None = None
    # a held-out test set, evaluated after every epoch but never trained on (None: none given)
    test_inputs: np.ndarray | None = None
    test_targets: np.ndarray | None = None
    test_source: str = "inline"


@dataclass(frozen=True, eq=False)
class Spec:
    layers: tuple[Layer, ...]
    loss: Loss
    train: Train
    data: Data
    name: str = ""
    # [compare], for `sheetnet compare`: (optimizer, lr) pairs, or (setting, (value, …)) lists to sweep
    compare: tuple[tuple[str, object], ...] = ()
    path: str = "<spec>"  # where it was read from, for messages
    base_dir: str = field(default=".", repr=False)

    @property
    def dense_layers(self) -> tuple[Layer, ...]:
        return self.layers[1:]

    def with_train(self, **changes) -> "Spec":
        """A copy with some [train] settings changed (validated like the file)."""
        raw = {**dataclasses.asdict(self.train), **changes}
        train = parse_train(raw, os.path.basename(self.path))
        return dataclasses.replace(self, train=train)
