"""The spec contract of SPEC.md: every validation rule, one test each, and the documented defaults.

Each invalid spec is written as a TOML file to ``tmp_path`` and must raise SpecError from
``load_spec`` with a one-line message naming the file and the key or row; the same files
through the CLI must exit 2 with exactly one line on stderr and no traceback.
"""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sheetnet import SpecError, load_spec, parse_spec
from sheetnet.cli import main

SPEC_NAME = "net.toml"


# --------------------------------------------------------------------------- helpers
def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(v)


def to_toml(raw: dict) -> str:
    """A spec dict as TOML: top-level keys, then [[layers]] and the other tables."""
    lines = []
    scalars = {k: v for k, v in raw.items() if not isinstance(v, dict) and k != "layers"}
    for k, v in scalars.items():
        lines.append(f"{k} = {toml_value(v)}")
    if "layers" in raw:
        if isinstance(raw["layers"], list) and all(isinstance(t, dict) for t in raw["layers"]):
            for t in raw["layers"]:
                lines.append("\n[[layers]]")
                lines += [f"{k} = {toml_value(v)}" for k, v in t.items()]
        else:
            lines.insert(0, f"layers = {toml_value(raw['layers'])}")
    for k, v in raw.items():
        if isinstance(v, dict):
            lines.append(f"\n[{k}]")
            lines += [f"{kk} = {toml_value(vv)}" for kk, vv in v.items()]
    return "\n".join(lines) + "\n"


def base() -> dict:
    """A valid 2-2-2 network with two samples (Mazur's weights)."""
    return {
        "name": "small",
        "layers": [
            {"kind": "input", "size": 2, "names": ["x1", "x2"]},
            {"kind": "dense", "size": 2, "activation": "sigmoid", "names": ["h1", "h2"],
             "weights": [[0.15, 0.20], [0.25, 0.30]], "biases": [0.35, 0.35]},
            {"kind": "dense", "size": 2, "activation": "sigmoid", "names": ["o1", "o2"],
             "weights": [[0.40, 0.45], [0.50, 0.55]], "biases": [0.60, 0.60]},
        ],
        "loss": {"kind": "half_sse"},
        "train": {"optimizer": "sgd", "lr": 0.5, "epochs": 1},
        "data": {"inputs": [[0.05, 0.10], [0.20, 0.30]], "targets": [[0.01, 0.99], [0.50, 0.50]]},
    }


def write(tmp_path, raw_or_text, name=SPEC_NAME) -> str:
    path = tmp_path / name
    path.write_text(raw_or_text if isinstance(raw_or_text, str) else to_toml(raw_or_text))
    return str(path)


def spec_error(path) -> SpecError:
    with pytest.raises(SpecError) as info:
        load_spec(path)
    msg = str(info.value)
    assert "\n" not in msg, msg
    return info.value


def check_cli(path, *expected):
    """The CLI on an unusable spec: exit 2, one line on stderr, no traceback, nothing on stdout."""
    result = CliRunner().invoke(main, ["train", path, "--json"])
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr, result.exception)
    assert result.stdout == ""
    err = result.stderr
    assert "Traceback" not in err
    assert err.endswith("\n") and err.count("\n") == 1, repr(err)
    assert err.startswith("sheetnet: error:"), err
    for text in expected:
        assert text in err, (text, err)
    return err


# --------------------------------------------------------------------------- mutations
def setter(section, key, value, layer=None):
    def mutate(raw):
        if section == "layers":
            raw["layers"][layer][key] = value
        elif section is None:
            raw[key] = value
        else:
            raw[section][key] = value
    return mutate


def deleter(section, key, layer=None):
    def mutate(raw):
        if section == "layers":
            del raw["layers"][layer][key]
        elif section is None:
            del raw[key]
        else:
            del raw[section][key]
    return mutate


def chain(*fns):
    def mutate(raw):
        for fn in fns:
            fn(raw)
    return mutate


def no_weights(layer):
    return chain(deleter("layers", "weights", layer), deleter("layers", "biases", layer))


def softmax_ce(raw):
    raw["layers"][2]["activation"] = "softmax"
    raw["loss"]["kind"] = "cross_entropy"
    raw["data"]["targets"] = [[0.0, 1.0], [1.0, 0.0]]


def targets(rows):
    return setter("data", "targets", rows)


# (id, mutation, substrings the message must contain; the file name is always checked)
CASES = [
    # unknown keys, with suggestions
    ("unknown-top-key", setter(None, "layer", 3), ["unknown key 'layer'", "did you mean 'layers'?"]),
    ("unknown-top-key-no-match", setter(None, "banana", 1), ["unknown key 'banana'", "choose from"]),
    ("unknown-layer-key", setter("layers", "activaton", "tanh", 1),
     ["layer 2 (dense)", "unknown key 'activaton'", "did you mean 'activation'?"]),
    ("unknown-input-layer-key", setter("layers", "activation", "tanh", 0),
     ["layer 1 (input)", "unknown key 'activation'"]),
    ("unknown-loss-key", setter("loss", "reduce", "sum"),
     ["[loss]", "unknown key 'reduce'", "did you mean 'reduction'?"]),
    ("unknown-train-key", setter("train", "epoch", 3), ["[train]", "unknown key 'epoch'", "did you mean 'epochs'?"]),
    ("unknown-train-key-no-match", setter("train", "banana", 3), ["[train]", "unknown key 'banana'", "choose from"]),
    ("unknown-data-key", setter("data", "input", [[1.0, 2.0]]),
     ["[data]", "unknown key 'input'", "did you mean 'inputs'?"]),
    # unknown names
    ("unknown-layer-kind", setter("layers", "kind", "dens", 1),
     ["layer 2", "key 'kind'", "unknown layer kind 'dens'", "did you mean 'dense'?"]),
    ("unknown-activation", setter("layers", "activation", "sigmod", 1),
     ["layer 2 (dense)", "key 'activation'", "'sigmod'", "did you mean 'sigmoid'?"]),
    ("unknown-loss-kind", setter("loss", "kind", "half_see"),
     ["[loss]", "key 'kind'", "'half_see'", "did you mean 'half_sse'?"]),
    ("unknown-optimizer", setter("train", "optimizer", "adma"),
     ["[train]", "key 'optimizer'", "'adma'", "did you mean 'adam'?"]),
    ("unknown-reduction", setter("loss", "reduction", "means"),
     ["[loss]", "key 'reduction'", "'means'", "did you mean 'mean'?"]),
    ("unknown-init", chain(no_weights(1), setter("layers", "init", "he_unifrom", 1)),
     ["layer 2 (dense)", "key 'init'", "'he_unifrom'", "did you mean 'he_uniform'?"]),
    ("activation-not-a-string", setter("layers", "activation", ["sigmoid"], 1),
     ["layer 2 (dense)", "key 'activation'", "unknown activation"]),
    # missing required keys
    ("missing-layers", deleter(None, "layers"), ["missing required", "[[layers]]"]),
    ("missing-loss", deleter(None, "loss"), ["missing required [loss]"]),
    ("missing-data", deleter(None, "data"), ["missing required [data]"]),
    ("missing-layer-kind", deleter("layers", "kind", 1), ["layer 2", "missing required key 'kind'"]),
    ("missing-size", deleter("layers", "size", 1), ["layer 2 (dense)", "missing required key 'size'"]),
    ("missing-input-size", deleter("layers", "size", 0), ["layer 1 (input)", "missing required key 'size'"]),
    ("missing-activation", deleter("layers", "activation", 2),
     ["layer 3 (dense)", "missing required key 'activation'"]),
    ("missing-loss-kind", deleter("loss", "kind"), ["[loss]", "missing required key 'kind'"]),
    ("missing-inputs", deleter("data", "inputs"), ["[data]", "missing required key 'inputs'"]),
    ("missing-targets", deleter("data", "targets"), ["[data]", "missing required key 'targets'"]),
    ("only-input-layer", lambda raw: raw.update(layers=raw["layers"][:1]), ["need an input layer and at least"]),
    ("first-layer-not-input", lambda raw: raw["layers"].pop(0), ["layer 1 (dense)", "first layer must be the input"]),
    ("second-input-layer", lambda raw: raw["layers"].insert(1, {"kind": "input", "size": 2}),
     ["layer 2 (input)", "only the first"]),
    # shapes that do not fit
    ("weights-rows", setter("layers", "weights", [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]], 1),
     ["layer 2 (dense)", "key 'weights'", "expected 2 rows of 2 numbers, got 3 rows"]),
    ("weights-cols", setter("layers", "weights", [[0.1, 0.2, 0.3], [0.3, 0.4]], 2),
     ["layer 3 (dense)", "key 'weights'", "row 1: expected 2 numbers, got 3"]),
    ("weights-not-a-list", setter("layers", "weights", 0.5, 1), ["layer 2 (dense)", "key 'weights'"]),
    ("biases-length", setter("layers", "biases", [0.1, 0.2, 0.3], 1),
     ["layer 2 (dense)", "key 'biases'", "expected 2 numbers, got 3"]),
    ("input-row-length", setter("data", "inputs", [[0.05, 0.10], [0.2, 0.3, 0.4]]),
     ["[data]", "key 'inputs'", "row 2: expected 2 numbers, got 3"]),
    ("targets-row-length", targets([[0.01, 0.99], [0.5]]),
     ["[data]", "key 'targets'", "row 2: expected 2 numbers, got 1"]),
    ("targets-row-count", targets([[0.01, 0.99]]),
     ["[data]", "key 'targets'", "expected 2 rows (one per input row), got 1"]),
    ("names-count", setter("layers", "names", ["h1"], 1), ["layer 2 (dense)", "key 'names'", "2"]),
    ("input-names-count", setter("layers", "names", ["a", "b", "c"], 0), ["layer 1 (input)", "key 'names'"]),
    ("names-not-distinct", setter("layers", "names", ["h", "h"], 1), ["layer 2 (dense)", "distinct"]),
    ("names-used-twice", setter("layers", "names", ["h1", "x1"], 1),
     ["layer 2 (dense)", "key 'names'", "'x1' is used twice"]),
    ("weights-without-biases", deleter("layers", "biases", 1),
     ["layer 2 (dense)", "give both 'weights' and 'biases'"]),
    ("biases-without-weights", deleter("layers", "weights", 2),
     ["layer 3 (dense)", "give both 'weights' and 'biases'"]),
    ("weights-and-init", setter("layers", "init", "zeros", 1), ["layer 2 (dense)", "'init', not both"]),
    ("shape-and-size-disagree", setter("layers", "shape", [3, 3], 0), ["layer 1 (input)", "does not match shape"]),
    ("weight-names-shape", setter("layers", "weight_names", [["a", "b"]], 1), ["layer 2 (dense)", "'weight_names'"]),
    ("parameter-names-used-twice",
     chain(setter("layers", "weight_names", [["w1", "w2"], ["w3", "w4"]], 1),
           setter("layers", "weight_names", [["w5", "w6"], ["w1", "w8"]], 2)),
     ["layer 3 (dense)", "key 'weight_names'", "'w1' is used twice"]),
    ("parameter-names-repeated-in-a-layer", setter("layers", "weight_names", [["w1", "w2"], ["w1", "w4"]], 1),
     ["layer 2 (dense)", "key 'weight_names'", "'w1' is used twice"]),
    ("bias-name-equals-weight-name",
     chain(setter("layers", "weight_names", [["w1", "w2"], ["w3", "w4"]], 1),
           setter("layers", "bias_names", ["w4", "b2"], 1)),
     ["layer 2 (dense)", "key 'bias_names'", "'w4' is used twice"]),
    # non-numbers where a number belongs
    ("lr-string", setter("train", "lr", "0.5"), ["[train]", "key 'lr'", "expected a number, got '0.5'"]),
    ("lr-boolean", setter("train", "lr", True), ["[train]", "key 'lr'", "expected a number, got True"]),
    ("epochs-string", setter("train", "epochs", "3"), ["[train]", "key 'epochs'", "expected a number"]),
    ("size-string", setter("layers", "size", "2", 1), ["layer 2 (dense)", "key 'size'", "expected a number"]),
    ("size-boolean", setter("layers", "size", True, 0), ["layer 1 (input)", "key 'size'", "expected a number"]),
    ("delta-string", setter("loss", "delta", "big"), ["[loss]", "key 'delta'", "expected a number"]),
    ("weight-string", setter("layers", "weights", [[0.15, "x"], [0.25, 0.30]], 1),
     ["layer 2 (dense)", "key 'weights'", "row 1, column 2", "expected a number, got 'x'"]),
    ("bias-boolean", setter("layers", "biases", [0.6, False], 2),
     ["layer 3 (dense)", "key 'biases'", "item 2", "expected a number, got False"]),
    ("input-boolean", setter("data", "inputs", [[0.05, True], [0.2, 0.3]]),
     ["[data]", "key 'inputs'", "row 1, column 2", "expected a number, got True"]),
    ("target-string", targets([[0.01, 0.99], ["0.5", 0.5]]),
     ["[data]", "key 'targets'", "row 2, column 1", "expected a number"]),
    ("shuffle-not-boolean", setter("train", "shuffle", 1), ["[train]", "key 'shuffle'", "expected true or false"]),
    ("freeze-biases-not-boolean", setter("train", "freeze_biases", "yes"),
     ["[train]", "key 'freeze_biases'", "expected true or false"]),
    ("name-not-a-string", setter(None, "name", 3), ["key 'name'", "must be a string"]),
    # NaN and inf, in data and in settings
    ("input-nan", setter("data", "inputs", [[0.05, 0.10], [float("nan"), 0.3]]),
     ["[data]", "key 'inputs'", "row 2, column 1", "finite"]),
    ("target-inf", targets([[0.01, float("inf")], [0.5, 0.5]]),
     ["[data]", "key 'targets'", "row 1, column 2", "finite"]),
    ("target-minus-inf", targets([[0.01, 0.99], [0.5, float("-inf")]]),
     ["[data]", "key 'targets'", "row 2, column 2", "finite"]),
    ("weight-nan", setter("layers", "weights", [[0.15, 0.20], [float("nan"), 0.30]], 1),
     ["layer 2 (dense)", "key 'weights'", "row 2, column 1", "finite"]),
    ("bias-inf", setter("layers", "biases", [float("inf"), 0.6], 2), ["layer 3 (dense)", "key 'biases'", "finite"]),
    ("lr-nan", setter("train", "lr", float("nan")), ["[train]", "key 'lr'", "finite"]),
    ("lr-inf", setter("train", "lr", float("inf")), ["[train]", "key 'lr'", "finite"]),
    ("momentum-nan", setter("train", "momentum", float("nan")), ["[train]", "key 'momentum'", "finite"]),
    ("l2-inf", setter("train", "l2", float("inf")), ["[train]", "key 'l2'", "finite"]),
    ("delta-inf", setter("loss", "delta", float("inf")), ["[loss]", "key 'delta'", "finite"]),
    ("epochs-inf", setter("train", "epochs", float("inf")), ["[train]", "key 'epochs'", "finite"]),
    # empty data
    ("inputs-empty", chain(setter("data", "inputs", []), targets([])), ["[data]", "key 'inputs'", "empty"]),
    # softmax and cross-entropy go together, on the output layer only
    ("softmax-without-cross-entropy", setter("layers", "activation", "softmax", 2),
     ["[loss]", "key 'kind'", "softmax output layer needs loss 'cross_entropy'", "'half_sse'"]),
    ("cross-entropy-without-softmax", chain(setter("loss", "kind", "cross_entropy"), targets([[0.0, 1.0], [1.0, 0.0]])),
     ["[loss]", "key 'kind'", "needs a softmax output layer", "'sigmoid'"]),
    ("softmax-on-hidden-layer", chain(softmax_ce, setter("layers", "activation", "softmax", 1)),
     ["layer 2 (dense)", "key 'activation'", "only allowed on the output layer"]),
    # targets that the loss cannot take
    ("cross-entropy-not-one-hot", chain(softmax_ce, targets([[0.0, 1.0], [0.5, 0.5]])),
     ["[data]", "key 'targets'", "row 2", "one-hot"]),
    ("cross-entropy-two-ones", chain(softmax_ce, targets([[1.0, 1.0], [1.0, 0.0]])),
     ["[data]", "key 'targets'", "row 1", "one-hot"]),
    ("cross-entropy-all-zero", chain(softmax_ce, targets([[0.0, 1.0], [0.0, 0.0]])),
     ["[data]", "key 'targets'", "row 2", "one-hot"]),
    ("bce-above-1", chain(setter("loss", "kind", "binary_cross_entropy"), targets([[0.0, 1.0], [1.5, 0.0]])),
     ["[data]", "key 'targets'", "row 2", "in [0, 1]"]),
    ("bce-below-0", chain(setter("loss", "kind", "binary_cross_entropy"), targets([[-0.1, 1.0], [1.0, 0.0]])),
     ["[data]", "key 'targets'", "row 1", "in [0, 1]"]),
    ("hinge-not-plus-minus-1", chain(setter("loss", "kind", "hinge"), targets([[1.0, -1.0], [0.0, 1.0]])),
     ["[data]", "key 'targets'", "row 2", "-1 or +1"]),
    ("hinge-half", chain(setter("loss", "kind", "hinge"), targets([[0.5, -1.0], [1.0, 1.0]])),
     ["[data]", "key 'targets'", "row 1", "-1 or +1"]),
    # every range rule of SPEC.md
    ("lr-zero", setter("train", "lr", 0.0), ["[train]", "key 'lr'", "must be > 0"]),
    ("lr-negative", setter("train", "lr", -0.1), ["[train]", "key 'lr'", "must be > 0"]),
    ("epochs-zero", setter("train", "epochs", 0), ["[train]", "key 'epochs'", "at least 1"]),
    ("epochs-fraction", setter("train", "epochs", 1.5), ["[train]", "key 'epochs'", "whole number"]),
    ("batch-size-negative", setter("train", "batch_size", -1), ["[train]", "key 'batch_size'", ">= 0"]),
    ("batch-size-fraction", setter("train", "batch_size", 0.5), ["[train]", "key 'batch_size'", "whole number"]),
    ("seed-fraction", setter("train", "seed", 0.5), ["[train]", "key 'seed'", "whole number"]),
    ("momentum-one", setter("train", "momentum", 1.0), ["[train]", "key 'momentum'", "in [0, 1)"]),
    ("momentum-negative", setter("train", "momentum", -0.1), ["[train]", "key 'momentum'", "in [0, 1)"]),
    ("beta1-one", setter("train", "beta1", 1), ["[train]", "key 'beta1'", "in [0, 1)"]),
    ("beta2-negative", setter("train", "beta2", -0.1), ["[train]", "key 'beta2'", "in [0, 1)"]),
    ("beta2-one", setter("train", "beta2", 1.0), ["[train]", "key 'beta2'", "in [0, 1)"]),
    ("alpha-zero", setter("train", "alpha", 0), ["[train]", "key 'alpha'", "in (0, 1)"]),
    ("alpha-one", setter("train", "alpha", 1), ["[train]", "key 'alpha'", "in (0, 1)"]),
    ("eps-zero", setter("train", "eps", 0.0), ["[train]", "key 'eps'", "> 0"]),
    ("eps-negative", setter("train", "eps", -1e-8), ["[train]", "key 'eps'", "> 0"]),
    ("l1-negative", setter("train", "l1", -0.01), ["[train]", "key 'l1'", ">= 0"]),
    ("l2-negative", setter("train", "l2", -0.01), ["[train]", "key 'l2'", ">= 0"]),
    ("lr-decay-negative", setter("train", "lr_decay", -0.5), ["[train]", "key 'lr_decay'", ">= 0"]),
    ("delta-zero", setter("loss", "delta", 0.0), ["[loss]", "key 'delta'", "> 0"]),
    ("delta-negative", setter("loss", "delta", -1.0), ["[loss]", "key 'delta'", "> 0"]),
    ("size-zero", setter("layers", "size", 0, 1), ["layer 2 (dense)", "key 'size'", "at least 1"]),
    ("input-size-zero", setter("layers", "size", 0, 0), ["layer 1 (input)", "key 'size'", "at least 1"]),
    ("size-fraction", setter("layers", "size", 2.5, 1), ["layer 2 (dense)", "key 'size'", "whole number"]),
    # inline data and csv do not mix
    ("csv-and-inline", setter("data", "csv", "d.csv"), ["[data]", "either 'csv' or inline"]),
    ("columns-without-csv", setter("data", "input_columns", ["a", "b"]), ["[data]", "'input_columns' needs 'csv'"]),
    # tables of the wrong type
    ("loss-not-a-table", setter(None, "loss", "half_sse"), ["[loss] must be a table"]),
    ("layers-not-tables", setter(None, "layers", [1, 2]), ["[[layers]] must be a list of tables"]),
]


@pytest.mark.parametrize("mutate, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_spec_raises(tmp_path, mutate, expected):
    raw = base()
    mutate(raw)
    err = spec_error(write(tmp_path, raw))
    msg = str(err)
    assert msg.startswith(SPEC_NAME), msg
    for text in expected:
        assert text in msg, (text, msg)


@pytest.mark.parametrize("mutate, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_spec_through_cli(tmp_path, mutate, expected):
    raw = base()
    mutate(raw)
    check_cli(write(tmp_path, raw), SPEC_NAME, *expected)


def test_base_spec_is_valid(tmp_path):
    spec = load_spec(write(tmp_path, base()))
    assert [layer.size for layer in spec.layers] == [2, 2, 2]
    np.testing.assert_array_equal(spec.data.inputs, [[0.05, 0.10], [0.20, 0.30]])
    np.testing.assert_array_equal(spec.layers[2].weights, [[0.40, 0.45], [0.50, 0.55]])


def test_to_toml_round_trips():
    import tomllib
    raw = base()
    assert tomllib.loads(to_toml(raw)) == raw


# --------------------------------------------------------------------------- files
def test_invalid_toml_syntax(tmp_path):
    path = write(tmp_path, "[train\nlr = 0.5\n")
    err = spec_error(path)
    assert str(err).startswith(SPEC_NAME) and "not valid TOML" in str(err)
    check_cli(path, SPEC_NAME, "not valid TOML")


def test_duplicate_toml_key_is_invalid_toml(tmp_path):
    text = to_toml(base()).replace("lr = 0.5", "lr = 0.5\nlr = 0.1")
    err = spec_error(write(tmp_path, text))
    assert "not valid TOML" in str(err)


def test_spec_file_missing(tmp_path):
    path = str(tmp_path / "nowhere.toml")
    err = spec_error(path)
    assert "nowhere.toml" in str(err) and "no such file" in str(err)
    check_cli(path, "nowhere.toml", "no such file")


def test_spec_path_is_a_directory(tmp_path):
    d = tmp_path / "specs.toml"
    d.mkdir()
    err = spec_error(str(d))
    assert "specs.toml" in str(err) and "directory" in str(err)
    check_cli(str(d), "specs.toml", "directory")


def test_spec_not_text(tmp_path):
    path = tmp_path / SPEC_NAME
    path.write_bytes(b"\xff\xfe\x00bad")
    err = spec_error(str(path))
    assert SPEC_NAME in str(err)
    check_cli(str(path), SPEC_NAME)


def test_spec_unreadable(tmp_path, monkeypatch):
    import sheetnet.spec.source

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    path = write(tmp_path, base())
    monkeypatch.setattr(sheetnet.spec.source, "open", denied, raising=False)
    err = spec_error(path)
    assert SPEC_NAME in str(err) and "Permission denied" in str(err)
    check_cli(path, SPEC_NAME, "Permission denied")


# --------------------------------------------------------------------------- CSV data
CSV_BODY = "x1,x2,y1,y2\n0.05,0.10,0.01,0.99\n0.20,0.30,0.50,0.50\n0.7,0.8,0.1,0.2\n"


def csv_spec(tmp_path, csv_text=CSV_BODY, csv_name="data.csv", sub="specs", **data):
    """A spec in tmp_path/sub whose [data] reads csv_name next to it."""
    folder = tmp_path / sub
    folder.mkdir(exist_ok=True)
    if csv_text is not None:
        (folder / csv_name).write_text(csv_text)
    raw = base()
    raw["data"] = {"csv": csv_name, "input_columns": ["x1", "x2"], "target_columns": ["y1", "y2"], **data}
    return write(folder, raw)


def test_csv_loads_relative_to_the_spec(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not the spec's folder: the path must be resolved next to the spec
    spec = load_spec(csv_spec(tmp_path))
    np.testing.assert_array_equal(spec.data.inputs, [[0.05, 0.10], [0.20, 0.30], [0.7, 0.8]])
    np.testing.assert_array_equal(spec.data.targets, [[0.01, 0.99], [0.50, 0.50], [0.1, 0.2]])
    assert spec.data.inputs.dtype == np.float64
    assert spec.data.source == "data.csv"
    assert spec.data.input_columns == ("x1", "x2") and spec.data.target_columns == ("y1", "y2")


def test_csv_columns_in_any_order_and_extra_columns(tmp_path):
    text = "id,y2,x2,note,y1,x1\n1,0.99,0.10,a,0.01,0.05\n2,0.5,0.3,b,0.5,0.2\n"
    spec = load_spec(csv_spec(tmp_path, text))  # 'id' and 'note' are not used, 'note' is not a number
    np.testing.assert_array_equal(spec.data.inputs, [[0.05, 0.10], [0.2, 0.3]])
    np.testing.assert_array_equal(spec.data.targets, [[0.01, 0.99], [0.5, 0.5]])


def test_csv_in_a_subfolder_and_with_bom(tmp_path):
    folder = tmp_path / "specs" / "data"
    folder.mkdir(parents=True)
    (folder / "d.csv").write_bytes(b"\xef\xbb\xbf" + CSV_BODY.encode())
    spec = load_spec(csv_spec(tmp_path, None, csv_name="data/d.csv"))
    assert spec.data.inputs.shape == (3, 2)


def test_csv_trains_through_cli(tmp_path):
    result = CliRunner().invoke(main, ["train", csv_spec(tmp_path), "--json"])
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)["losses"]) == 1


CSV_CASES = [
    ("missing-input-column", dict(input_columns=["x1", "xx2"]), CSV_BODY,
     ["[data]", "key 'input_columns'", "no column 'xx2'", "did you mean 'x2'?"]),
    ("missing-target-column", dict(target_columns=["y1", "target"]), CSV_BODY,
     ["[data]", "key 'target_columns'", "no column 'target'", "choose from"]),
    ("column-count", dict(input_columns=["x1"]), CSV_BODY, ["[data]", "key 'input_columns'", "expected 2"]),
    ("missing-target-columns-key", dict(target_columns=None), CSV_BODY,
     ["[data]", "missing required key 'target_columns'"]),
    ("non-number-cell", {}, "x1,x2,y1,y2\n0.05,0.10,0.01,0.99\n0.2,abc,0.5,0.5\n",
     ["data.csv", "row 3, column 'x2'", "not a number: 'abc'"]),
    ("empty-cell", {}, "x1,x2,y1,y2\n0.05,0.10,0.01,0.99\n0.2,0.3,,0.5\n",
     ["data.csv", "row 3, column 'y1'", "not a number"]),
    ("nan-cell", {}, "x1,x2,y1,y2\n0.05,nan,0.01,0.99\n",
     ["data.csv", "row 2, column 'x2'", "finite"]),
    ("inf-cell", {}, "x1,x2,y1,y2\n0.05,0.1,0.01,0.99\n0.2,0.3,-inf,0.5\n",
     ["data.csv", "row 3, column 'y1'", "finite"]),
    ("ragged-row", {}, "x1,x2,y1,y2\n0.05,0.10,0.01,0.99\n0.2,0.3,0.5\n",
     ["data.csv", "row 3", "expected 4 fields, got 3"]),
    ("row-number-counts-blank-lines", {}, "x1,x2,y1,y2\n\n0.05,0.10,0.01,0.99\n0.2,zz,0.5,0.5\n",
     ["data.csv", "row 4, column 'x2'", "not a number: 'zz'"]),
    ("header-only", {}, "x1,x2,y1,y2\n", ["data.csv", "empty", "header but no rows"]),
    ("empty-file", {}, "", ["data.csv", "empty"]),
]


@pytest.mark.parametrize("data, text, expected", [c[1:] for c in CSV_CASES], ids=[c[0] for c in CSV_CASES])
def test_csv_errors(tmp_path, data, text, expected):
    extra = {k: v for k, v in data.items() if v is not None}
    path = csv_spec(tmp_path, text, **extra)
    if any(v is None for v in data.values()):
        raw = load_toml(path)
        for k, v in data.items():
            if v is None:
                del raw["data"][k]
        write(tmp_path / "specs", raw)
    err = spec_error(path)
    for t in expected:
        assert t in str(err), (t, str(err))
    check_cli(path, *expected)


def load_toml(path):
    import tomllib
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def test_csv_targets_checked_against_the_loss(tmp_path):
    path = csv_spec(tmp_path, "x1,x2,y1,y2\n0.05,0.10,0.0,1.0\n0.2,0.3,0.5,0.5\n")
    raw = load_toml(path)
    softmax_ce(raw)
    del raw["data"]["targets"]
    write(tmp_path / "specs", raw)
    err = spec_error(path)
    assert "data.csv" in str(err) and "row 2" in str(err) and "one-hot" in str(err)


def test_csv_missing_file(tmp_path):
    path = csv_spec(tmp_path, None, csv_name="nope.csv")
    err = spec_error(path)
    assert str(err).startswith(SPEC_NAME)
    assert "key 'csv'" in str(err) and "nope.csv" in str(err) and "cannot read" in str(err)
    check_cli(path, SPEC_NAME, "nope.csv")


def test_csv_not_a_string(tmp_path):
    raw = base()
    raw["data"] = {"csv": 3, "input_columns": ["x1", "x2"], "target_columns": ["y1", "y2"]}
    err = spec_error(write(tmp_path, raw))
    assert "key 'csv'" in str(err)


# --------------------------------------------------------------------------- defaults
def minimal(**train) -> dict:
    return {
        "layers": [{"kind": "input", "size": 3}, {"kind": "dense", "size": 4, "activation": "tanh"},
                   {"kind": "dense", "size": 2, "activation": "linear"}],
        "loss": {"kind": "mse"},
        "train": dict(train),
        "data": {"inputs": [[1.0, 2.0, 3.0]], "targets": [[0.0, 1.0]]},
    }


def test_defaults(tmp_path):
    spec = load_spec(write(tmp_path, minimal()))
    tr = spec.train
    assert (tr.optimizer, tr.lr, tr.epochs, tr.batch_size, tr.shuffle, tr.seed, tr.freeze_biases) == \
        ("sgd", 0.5, 1, 0, False, 0, False)
    assert (tr.momentum, tr.beta1, tr.beta2, tr.alpha, tr.eps) == (0.9, 0.9, 0.999, 0.99, 1e-8)
    assert (tr.l1, tr.l2, tr.lr_decay) == (0.0, 0.0, 0.0)
    assert spec.loss.reduction == "mean" and spec.loss.delta == 1.0
    assert spec.name == ""
    assert [layer.init for layer in spec.layers[1:]] == ["xavier_uniform", "xavier_uniform"]
    assert all(layer.weights is None and layer.biases is None for layer in spec.layers[1:])
    assert spec.layers[0].names == ("i1", "i2", "i3")
    assert spec.layers[1].names == ("L1.u1", "L1.u2", "L1.u3", "L1.u4")
    assert spec.layers[2].names == ("L2.u1", "L2.u2")
    assert len(set(sum((layer.names for layer in spec.layers), ()))) == 9
    assert isinstance(tr.epochs, int) and isinstance(tr.lr, float)


def test_the_train_table_is_optional(tmp_path):
    raw = minimal()
    del raw["train"]
    spec = load_spec(write(tmp_path, raw))
    assert spec.train.optimizer == "sgd" and spec.train.lr == 0.5 and spec.train.epochs == 1
    assert spec.train == load_spec(write(tmp_path, minimal(), name="with.toml")).train


@pytest.mark.parametrize("optimizer, eps", [("sgd", 1e-8), ("momentum", 1e-8), ("adam", 1e-8),
                                            ("rmsprop", 1e-8), ("adagrad", 1e-10)])
def test_default_eps(tmp_path, optimizer, eps):
    assert load_spec(write(tmp_path, minimal(optimizer=optimizer))).train.eps == eps


def test_explicit_eps_wins_for_adagrad(tmp_path):
    assert load_spec(write(tmp_path, minimal(optimizer="adagrad", eps=1e-6))).train.eps == 1e-6


def test_whole_number_floats_are_accepted(tmp_path):
    spec = load_spec(write(tmp_path, minimal(epochs=3.0, batch_size=1.0)))
    assert spec.train.epochs == 3 and isinstance(spec.train.epochs, int)
    assert spec.train.batch_size == 1


def test_image_input_names(tmp_path):
    raw = minimal()
    raw["layers"][0] = {"kind": "input", "shape": [1, 3]}
    spec = load_spec(write(tmp_path, raw))
    assert spec.layers[0].size == 3 and spec.layers[0].names == ("x1_1", "x1_2", "x1_3")


def test_keys_of_other_optimizers_and_losses_are_accepted(tmp_path):
    spec = load_spec(write(tmp_path, minimal(optimizer="sgd", beta1=0.5, alpha=0.5, momentum=0.0)))
    assert spec.train.beta1 == 0.5


@pytest.mark.parametrize("scheme", ["xavier_uniform", "xavier_normal", "he_uniform", "he_normal", "uniform", "zeros"])
def test_every_init_scheme_loads(tmp_path, scheme):
    raw = minimal()
    raw["layers"][1]["init"] = scheme
    assert load_spec(write(tmp_path, raw)).layers[1].init == scheme


def test_parse_spec_path_in_messages():
    raw = base()
    raw["train"]["lr"] = -1.0
    with pytest.raises(SpecError, match=r"^<spec>, \[train\] key 'lr'"):
        parse_spec(raw)


def test_error_attributes(tmp_path):
    raw = base()
    raw["train"]["epoch"] = 2
    err = spec_error(write(tmp_path, raw))
    assert err.exit_code == 2
    assert err.where == f"{SPEC_NAME}, [train]"
    assert err.message.startswith("unknown key 'epoch'")


# --------------------------------------------------------------------------- with_train
@pytest.fixture
def spec(tmp_path):
    return load_spec(write(tmp_path, base()))


def test_with_train_changes_a_copy(spec):
    other = spec.with_train(epochs=3, lr=0.1)
    assert (other.train.epochs, other.train.lr) == (3, 0.1)
    assert (spec.train.epochs, spec.train.lr) == (1, 0.5)
    assert other.layers is spec.layers and other.data is spec.data


def test_with_train_epochs_zero_raises(spec):
    with pytest.raises(SpecError, match="key 'epochs'"):
        spec.with_train(epochs=0)


@pytest.mark.parametrize("changes, key", [
    (dict(epochs=1.5), "epochs"), (dict(epochs="3"), "epochs"), (dict(lr=-1.0), "lr"),
    (dict(lr=float("nan")), "lr"), (dict(momentum=1.0), "momentum"), (dict(batch_size=-2), "batch_size"),
    (dict(shuffle=1), "shuffle"), (dict(optimizer="adma"), "optimizer"), (dict(epoch=3), "epoch"),
])
def test_with_train_validates_like_the_file(spec, changes, key):
    with pytest.raises(SpecError, match=f"'{key}'"):
        spec.with_train(**changes)


def test_with_train_accepts_numpy_numbers(spec):
    other = spec.with_train(epochs=np.int64(2), lr=np.float64(0.25))
    assert other.train.epochs == 2 and isinstance(other.train.epochs, int) and other.train.lr == 0.25


# --------------------------------------------------------------------------- properties
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(lr=st.floats(min_value=1e-12, max_value=1e6), momentum=st.floats(min_value=0, max_value=0.999),
       alpha=st.floats(min_value=1e-6, max_value=0.999), epochs=st.integers(1, 1000))
def test_in_range_settings_load(tmp_path, lr, momentum, alpha, epochs):
    raw = base()
    raw["train"].update(lr=lr, momentum=momentum, alpha=alpha, epochs=epochs)
    tr = load_spec(write(tmp_path, raw)).train
    assert (tr.lr, tr.momentum, tr.alpha, tr.epochs) == (lr, momentum, alpha, epochs)


@FAST
@given(key=st.sampled_from(["momentum", "beta1", "beta2"]),
       value=st.one_of(st.floats(max_value=-1e-9, allow_nan=False), st.floats(min_value=1.0, allow_nan=False)))
def test_out_of_range_settings_raise(tmp_path, key, value):
    raw = base()
    raw["train"][key] = value
    with pytest.raises(SpecError, match=f"key '{key}'"):
        load_spec(write(tmp_path, raw))


@FAST
@given(rows=st.lists(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=2, max_size=2),
                     min_size=1, max_size=5))
def test_inline_data_round_trips(tmp_path, rows):
    raw = base()
    raw["data"] = {"inputs": rows, "targets": rows}
    spec = load_spec(write(tmp_path, raw))
    np.testing.assert_array_equal(spec.data.inputs, np.array(rows))
    np.testing.assert_array_equal(spec.data.targets, np.array(rows))


def test_base_is_not_shared():
    a, b = base(), base()
    a["layers"][1]["size"] = 9
    assert b["layers"][1]["size"] == 2 and copy.deepcopy(a) == a
