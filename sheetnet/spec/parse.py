"""Reading a spec: TOML file -> validated, frozen ``Spec``.

Each error is one line naming the file and the key or row (``mazur.toml, layer 2 (dense),
key 'activation': unknown activation 'sigmod'; did you mean 'sigmoid'?``).
"""

from __future__ import annotations

import os
import tomllib

from ..errors import SpecError
from ..ops import OPTIMIZERS
from .checks import as_number, as_table, no_unknown
from .data import parse_data
from .layers import parse_layers
from .model import TOP_KEYS, Spec
from .settings import Loss, parse_loss, parse_train


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
    no_unknown(raw, TOP_KEYS, fname)
    for key in ("layers", "loss", "data"):  # [train] has a default for every key
        if key not in raw:
            raise SpecError(f"missing required {'[[layers]] tables' if key == 'layers' else f'[{key}] table'}", fname)
    name = raw.get("name", "")
    if not isinstance(name, str):
        raise SpecError("must be a string", f"{fname}, key 'name'")
    layers = parse_layers(raw["layers"], fname)
    loss = parse_loss(as_table(raw["loss"], "[loss]", fname), fname)
    train = parse_train(as_table(raw.get("train", {}), "[train]", fname), fname)
    data = parse_data(as_table(raw["data"], "[data]", fname), fname, base_dir, layers, loss)
    check_pairing(layers, loss, fname)
    compare = parse_compare(as_table(raw.get("compare", {}), "[compare]", fname), fname)
    return Spec(layers=layers, loss=loss, train=train, data=data, name=name, compare=compare, path=path,
                base_dir=base_dir)


def parse_compare(t, fname) -> tuple[tuple[str, float], ...]:
    """[compare]: the optimizers `sheetnet compare` runs side by side, each with its learning rate."""
    out = []
    for opt, lr in t.items():
        OPTIMIZERS.get_named(opt, f"{fname}, [compare] key {opt!r}")
        lr = as_number(lr, f"{fname}, [compare] key {opt!r}")
        if lr <= 0:
            raise SpecError(f"a learning rate must be > 0, got {lr}", f"{fname}, [compare] key {opt!r}")
        out.append((opt, lr))
    return tuple(out)


def check_pairing(layers, loss: Loss, fname):
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
