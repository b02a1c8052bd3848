"""Reading a spec: TOML file -> validated, frozen ``Spec``.

Each error is one line naming the file and the key or row (``mazur.toml, layer 2 (dense),
key 'activation': unknown activation 'sigmod'; did you mean 'sigmoid'?``).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib

from ..errors import at_key, SpecError, suggest
from ..limits import MAX_SPEC_BYTES, check_name
from ..ops import ACTIVATIONS, OPTIMIZERS
from .checks import as_number, as_table, no_unknown
from .source import read_text_file
from .data import parse_data
from .layers import parse_layers
from .model import TOP_KEYS, Spec
from .settings import Loss, parse_loss, parse_train
from ..i18n import N_, _


def load_spec(path: str) -> Spec:
    """Read and validate a TOML spec file (UTF-8, with or without a byte-order mark)."""
    return parse_spec(read_toml(path), path=path)


def read_toml(path: str) -> dict:
    """A spec file's TOML as a dict (one-line errors for a missing, unreadable or invalid file)."""
    name = os.path.basename(path)
    data = read_text_file(path, MAX_SPEC_BYTES, N_("spec file"))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError(_("not a text file (not UTF-8)"), name) from None
    return parse_toml(text.removeprefix("\ufeff"), name)


def parse_toml(text: str, where: str) -> dict:
    """tomllib.loads with its failures as one SpecError (nesting too deep included)."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SpecError(_("not valid TOML: {e}").format(e=e), where) from None
    except RecursionError:
        raise SpecError(_("not valid TOML for sheetnet: arrays or tables nested too deeply"), where) from None


def parse_spec(raw: dict, path: str = "<spec>") -> Spec:
    """Validate a spec given as a dict (as tomllib reads it)."""
    fname = os.path.basename(path)
    base_dir = os.path.dirname(os.path.abspath(path)) if path != "<spec>" else os.getcwd()
    no_unknown(raw, TOP_KEYS, fname)
    for key in ("layers", "loss", "data"):  # [train] has a default for every key
        if key not in raw:
            raise SpecError(_("missing required [[layers]] tables") if key == "layers" else
                            _("missing required [{key}] table").format(key=key), fname)
    name = raw.get("name", "")
    if not isinstance(name, str):
        raise SpecError(_("must be a string"), at_key(fname, "name"))
    why = check_name(name)
    if why:
        raise SpecError(why, at_key(fname, "name"))
    layers = parse_layers(raw["layers"], fname)
    loss = parse_loss(as_table(raw["loss"], "[loss]", fname), fname)
    train = parse_train(as_table(raw.get("train", {}), "[train]", fname), fname)
    data = parse_data(as_table(raw["data"], "[data]", fname), fname, base_dir, layers, loss)
    check_pairing(layers, loss, fname)
    compare = parse_compare(as_table(raw.get("compare", {}), "[compare]", fname), fname, train, layers)
    return Spec(layers=layers, loss=loss, train=train, data=data, name=name, compare=compare, path=path,
                base_dir=base_dir)


SWEEPS = ("optimizer", "lr", "batch_size", "activation", "seed", "lr_decay", "l1", "l2")


def parse_compare(t, fname, train, layers) -> tuple:
    """[compare], for `sheetnet compare`: either optimizers with their learning rates (``adam = 0.1``:
    one run per optimizer) -> ((optimizer, lr), …), or settings with lists of values
    (``lr = [0.1, 1, 10]``: one run per value, every combination where several are listed)
    -> ((setting, (value, …)), …).  ``activation`` sets the hidden layers' activation."""
    listed = [key for key, value in t.items() if isinstance(value, list)]
    if listed and len(listed) != len(t):
        raise SpecError(_("give either optimizers with their learning rates or settings with lists of values, not "
                          "both"), f"{fname}, [compare]")
    if not listed:
        return tuple(_optimizer_rate(key, value, f"{fname}, [compare] key {key!r}") for key, value in t.items())
    out = []
    for key, values in t.items():
        where = _("{fname}, [compare] key {key}").format(fname=fname, key=repr(key))
        if key not in SWEEPS:
            raise SpecError(_("cannot compare over {key}").format(
                key=repr(key)) + suggest(key, SWEEPS) + _("; choose from ") + ", ".join(SWEEPS), where)
        if not values:
            raise SpecError(_("expected a list of at least one value"), where)
        for i, value in enumerate(values, start=1):
            _check_sweep_value(key, value, train, layers, f"{where}, item {i}", fname)
        out.append((key, tuple(values)))
    return tuple(out)


def _optimizer_rate(opt, lr, where):
    if opt in SWEEPS:
        raise SpecError(_("expected a list of values to compare, got {lr}").format(lr=repr(lr)), where)
    OPTIMIZERS.get_named(opt, where)
    lr = as_number(lr, where)
    if lr <= 0:
        raise SpecError(_("a learning rate must be > 0, got {lr}").format(lr=lr), where)
    return opt, lr


def _check_sweep_value(key, value, train, layers, where, fname):
    """One value of a compared setting, checked as the spec's own setting would be."""
    if key == "activation":
        ACTIVATIONS.get_named(value, where)
        if value == "softmax":
            raise SpecError(_("softmax is only for the output layer; compare the hidden layers' activations"),
                where)
        if not any(layer.activation for layer in layers[1:-1]):
            raise SpecError(_("the network has no hidden layer whose activation could change"), where)
        return
    raw = {**dataclasses.asdict(train), key: value}
    if key == "optimizer":
        raw["eps"] = None  # each optimizer with its own default ε
    try:
        parse_train(raw, fname)
    except SpecError as e:
        raise SpecError(e.message, where) from None


def check_pairing(layers, loss: Loss, fname):
    out = layers[-1]
    for i, layer in enumerate(layers[1:-1], start=2):
        if layer.activation == "softmax":
            raise SpecError(_("softmax is only allowed on the output layer (with loss 'cross_entropy')"),
                            _("{fname}, layer {i} (dense), key 'activation'").format(fname=fname, i=i))
    if loss.kind == "cross_entropy" and out.activation != "softmax":
        raise SpecError(_("loss 'cross_entropy' needs a softmax output layer, got '{activation}'").format(
            activation=out.activation),
                        f"{fname}, [loss] key 'kind'")
    if out.activation == "softmax" and loss.kind != "cross_entropy":
        raise SpecError(_("a softmax output layer needs loss 'cross_entropy', got '{kind}'").format(
            kind=loss.kind),
                        f"{fname}, [loss] key 'kind'")
