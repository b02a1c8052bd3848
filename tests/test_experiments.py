"""Learning experiments that tell the truth: the whole training set's loss after each epoch (which
compares across batch sizes, unlike the last batch's loss), right answers counted, the loss after
a one-step run, and the gradient size per layer (vanishing gradients)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import sheetnet
from sheetnet.cli import main
from sheetnet.engine.evaluate import right, target_kind


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def forward(layers_json, x, hidden=sigmoid, out=sigmoid):
    """The network of a run's JSON, computed here from its final weights."""
    a = np.asarray(x, dtype=float)
    for i, layer in enumerate(layers_json):
        z = a @ np.asarray(layer["weights"]).T + np.asarray(layer["biases"])
        a = hidden(z) if i < len(layers_json) - 1 else out(z)
    return a


@pytest.fixture(scope="module")
def digits_by_batch_size():
    spec = sheetnet.example("digits01")
    return {bs: sheetnet.train(spec.with_train(batch_size=bs)) for bs in (0, 1, 5)}


def test_batch_sizes_compare_on_the_whole_training_set(digits_by_batch_size):
    """The last batch's loss makes SGD look 8× better than batch GD (0.046 vs 0.38); on the whole
    training set after the last epoch the three runs are within a few percent (0.347, 0.363, 0.355)."""
    last_batch = {bs: t.final_loss for bs, t in digits_by_batch_size.items()}
    assert last_batch[0] / last_batch[1] > 5
    whole = {bs: t.epochs["loss"].iloc[-1] for bs, t in digits_by_batch_size.items()}
    assert max(whole.values()) / min(whole.values()) < 1.06, whole


def test_the_epoch_loss_is_the_loss_of_the_whole_set(digits_by_batch_size):
    """½ Σ_k (y − t)² per sample, summed over the 12 samples (reduction "sum"), from the final weights."""
    spec = sheetnet.example("digits01")
    assert spec.loss.kind == "half_sse" and spec.loss.reduction == "sum"
    for trace in digits_by_batch_size.values():
        y = forward(trace.to_json()["layers"], spec.data.inputs)
        expected = 0.5 * np.sum((y - spec.data.targets) ** 2)
        assert trace.epochs["loss"].iloc[-1] == pytest.approx(expected, rel=1e-12)
        assert list(trace.epochs.index) == list(range(spec.train.epochs + 1))


def test_iris_right_answers_are_a_hand_count():
    spec = sheetnet.example("iris")
    trace = sheetnet.train(spec)
    logits = forward(trace.to_json()["layers"], spec.data.inputs, out=lambda z: z)
    hand = int(np.sum(logits.argmax(axis=1) == np.asarray(spec.data.targets).argmax(axis=1)))
    assert trace.epochs["correct"].iloc[-1] == hand
    assert trace.epochs["accuracy"].iloc[-1] == pytest.approx(hand / 150)
    result = CliRunner().invoke(main, ["train", "iris", "--json"])
    last = json.loads(result.stdout)["epochs"][-1]
    assert last == {"after_epoch": spec.train.epochs, "loss": trace.epochs["loss"].iloc[-1], "correct": hand,
                    "accuracy": hand / 150}


@pytest.mark.parametrize("targets, kind", [
    ([[1, 0, 0], [0, 0, 1]], "one-hot"), ([[0], [1]], "binary"), ([[-1, 1], [1, 1]], "sign"),
    ([[0.01, 0.99]], None), ([[1, 1, 0]], None), ([[0.5], [1]], None),
])
def test_which_targets_are_classes(targets, kind):
    assert target_kind(np.array(targets, dtype=float)) == kind


def test_right_answers_by_target_kind():
    assert right(np.array([[0.2, 0.7, 0.1], [0.5, 0.3, 0.2]]), np.array([[0, 1, 0], [0, 0, 1.]])).tolist() == [True, False]
    assert right(np.array([[0.49], [0.5]]), np.array([[0.], [1.]])).tolist() == [True, True]
    assert right(np.array([[0.3, -0.1]]), np.array([[1., -1.]])).tolist() == [True]
    assert right(np.array([[0.3]]), np.array([[0.3]])) is None


def test_a_one_step_run_shows_the_loss_after_its_step():
    result = CliRunner().invoke(main, ["train", "mazur"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.stderr
    # Mazur's error after one step, with the hidden deltas from the weights before the update
    assert "0.298371109 at the start → 0.291027774 after epoch 1" in result.stdout
    assert "1 step in 1 epoch" in result.stdout and "batch loss (before the step's update)" in result.stdout


DEEP = {"layers": [{"kind": "input", "size": 4}] + [{"kind": "dense", "size": 6, "activation": "sigmoid"}] * 7
        + [{"kind": "dense", "size": 2, "activation": "sigmoid"}],
        "loss": {"kind": "half_sse"}, "train": {"lr": 0.5, "epochs": 3, "seed": 1},
        "data": {"inputs": [[0, 0, 1, 1], [1, 0, 1, 0], [0, 1, 0, 1], [1, 1, 0, 0]],
                 "targets": [[1, 0], [0, 1], [1, 0], [0, 1]]}}


def test_gradients_vanish_toward_the_input_of_a_deep_sigmoid_net():
    trace = sheetnet.train(sheetnet.parse_spec(DEEP))
    sizes = trace.gradient_sizes
    assert list(sizes.columns) == [f"layer {l}" for l in range(1, 9)]
    for k in range(trace.n_steps):
        row = sizes.iloc[k].to_numpy()
        assert np.all(np.diff(row) > 0), (k, row)  # smaller at every layer toward the input
    assert sizes.iloc[0, 0] < 1e-3 * sizes.iloc[0, -1]
    # the table is the mean |∂L/∂w| of each layer's weights, from the recorded gradient
    P = trace.params
    assert sizes.iloc[1, 3] == pytest.approx(np.abs(P.W(trace.grads[1], 3)).mean(), rel=1e-15)


# --------------------------------------------------------------------------- a test set
XOR_TOML = """
[[layers]]
kind = "input"
size = 2
names = ["x1", "x2"]

[[layers]]
kind = "dense"
size = 2
activation = "sigmoid"
weights = [[0.2, -0.8], [0.4, 0.6]]
biases = [-0.9, 0.8]

[[layers]]
kind = "dense"
size = 1
activation = "sigmoid"
names = ["y"]
weights = [[0.6, -0.9]]
biases = [0.1]

[loss]
kind = "half_sse"

[train]
lr = 4.0
epochs = 300

[data]
{data}
"""
TRAIN_ROWS = 'inputs = [[0, 0], [0, 1], [1, 0], [1, 1]]\ntargets = [[0], [1], [1], [0]]'
TEST_ROWS = 'test_inputs = [[0.1, 0.0], [0.9, 0.1], [0.0, 0.8]]\ntest_targets = [[0], [1], [1]]'


def write(tmp_path, text, name="xor.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_test_set_is_evaluated_after_every_epoch_and_never_trained_on(tmp_path):
    with_test = sheetnet.load_spec(write(tmp_path, XOR_TOML.format(data=TRAIN_ROWS + "\n" + TEST_ROWS)))
    without = sheetnet.load_spec(write(tmp_path, XOR_TOML.format(data=TRAIN_ROWS), "plain.toml"))
    a, b = sheetnet.train(with_test), sheetnet.train(without)
    np.testing.assert_array_equal(a.loss, b.loss)  # the test rows change nothing in training
    table = a.epochs
    assert {"test_loss", "test_correct", "test_accuracy"} <= set(table.columns)
    x, t = np.array([[0.1, 0.0], [0.9, 0.1], [0.0, 0.8]]), np.array([[0.], [1.], [1.]])
    y = forward(a.to_json()["layers"], x)
    assert table["test_loss"].iloc[-1] == pytest.approx(np.mean(0.5 * (y - t)[:, 0] ** 2), rel=1e-12)
    assert table["test_correct"].iloc[-1] == int(np.sum((y[:, 0] >= 0.5) == (t[:, 0] == 1)))
    result = CliRunner().invoke(main, ["train", write(tmp_path, XOR_TOML.format(data=TRAIN_ROWS + "\n" + TEST_ROWS))],
                                env={"COLUMNS": "100"})
    assert "test-set loss:" in result.stdout and "/3 → " in result.stdout


def test_a_test_set_from_a_csv_file_with_the_data_columns(tmp_path):
    (tmp_path / "train.csv").write_text("a,b,label\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n")
    (tmp_path / "test.csv").write_text("label,b,a\n1,0.9,0.1\n0,0.9,0.9\n")
    data = 'csv = "train.csv"\ntest_csv = "test.csv"\ninput_columns = ["a", "b"]\ntarget_columns = ["label"]'
    spec = sheetnet.load_spec(write(tmp_path, XOR_TOML.format(data=data)))
    np.testing.assert_array_equal(spec.data.test_inputs, [[0.1, 0.9], [0.9, 0.9]])
    np.testing.assert_array_equal(spec.data.test_targets, [[1.], [0.]])
    assert spec.data.test_source == "test.csv"


@pytest.mark.parametrize("data, where, message", [
    (TRAIN_ROWS + "\ntest_inputs = [[0.1, 0.0]]", "xor.toml, [data]", "missing required key 'test_targets'"),
    (TRAIN_ROWS + "\ntest_inputs = [[0.1, 0.0]]\ntest_targets = [[0], [1]]", "key 'test_targets'",
     "expected 1 rows"),
    (TRAIN_ROWS + "\ntest_inputs = [[0.1]]\ntest_targets = [[0]]", "key 'test_inputs'", "expected 2 numbers"),
    (TRAIN_ROWS + '\ntest_csv = "nowhere.csv"', "key 'test_csv' (nowhere.csv)", "cannot read the CSV file"),
    (TRAIN_ROWS + '\ntest_csv = "t.csv"\ntest_inputs = [[0, 0]]', "xor.toml, [data]", "not both"),
])
def test_a_bad_test_set_is_one_line(tmp_path, data, where, message):
    result = CliRunner().invoke(main, ["train", write(tmp_path, XOR_TOML.format(data=data))])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert where in result.stderr and message in result.stderr, result.stderr


def test_the_test_set_goes_into_the_workbook_and_comes_back(tmp_path):
    from sheetnet.book.reader import open_book
    from sheetnet.sheet import write_workbook

    spec = sheetnet.load_spec(write(tmp_path, XOR_TOML.format(data=TRAIN_ROWS + "\n" + TEST_ROWS)))
    spec = spec.with_train(epochs=3)
    write_workbook(sheetnet.train(spec), str(tmp_path / "x.xlsx"))
    back = open_book(str(tmp_path / "x.xlsx")).spec
    np.testing.assert_array_equal(back.data.test_inputs, spec.data.test_inputs)
    np.testing.assert_array_equal(back.data.test_targets, spec.data.test_targets)


# --------------------------------------------------------------------------- predict
def test_predict_runs_the_trained_network_and_counts_right_answers(tmp_path):
    (tmp_path / "new.csv").write_text("x2,x1,y\n0,0,0\n1,0,1\n0,1,1\n1,1,0\n0.9,0.1,1\n")
    spec_path = write(tmp_path, XOR_TOML.format(data=TRAIN_ROWS))
    result = CliRunner().invoke(main, ["predict", spec_path, str(tmp_path / "new.csv"), "--json"])
    assert result.exit_code == 0, result.stderr
    got = json.loads(result.stdout)
    layers = sheetnet.train(sheetnet.load_spec(spec_path)).to_json()["layers"]
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1], [0.1, 0.9]])  # (x1, x2): the file's columns are swapped
    y = forward(layers, x)[:, 0]
    assert [r["outputs"]["y"] for r in got["rows"]] == pytest.approx(y, rel=1e-12)
    assert [r["class"] for r in got["rows"]] == ["1" if v >= 0.5 else "0" for v in y]
    assert [r["row"] for r in got["rows"]] == [2, 3, 4, 5, 6]
    assert got["correct"] == sum(r["right"] for r in got["rows"]) == int(np.sum((y >= 0.5) == np.array([0, 1, 1, 0, 1])))
    text = CliRunner().invoke(main, ["predict", spec_path, str(tmp_path / "new.csv")]).stdout
    assert text.splitlines()[0].split() == ["row", "y", "class", "right"]
    assert text.splitlines()[-1] == f"right: {got['correct']} of 5"


def test_predict_from_a_workbook_uses_its_parameters_as_edited(tmp_path):
    from roundtrip_util import set_cells
    from sheetnet.engine import Model
    from sheetnet.sheet import write_workbook
    from sheetnet.sheet.layout import Sheets

    spec = sheetnet.example("mazur")
    book = str(tmp_path / "m.xlsx")
    write_workbook(sheetnet.train(spec), book)
    (tmp_path / "in.csv").write_text("i1,i2\n0.05,0.10\n0.3,0.7\n")
    def outputs(source):
        result = CliRunner().invoke(main, ["predict", source, str(tmp_path / "in.csv"), "--json"])
        assert result.exit_code == 0, result.stderr
        return [list(r["outputs"].values()) for r in json.loads(result.stdout)["rows"]]
    assert outputs(book) == outputs("mazur")
    # a starting weight changed in the workbook: the run, and so the trained network, changes with it
    edited = set_cells(book, str(tmp_path / "edited.xlsx"), {Sheets(Model(spec)).param(0): 0.9})
    d = tomllib_example("mazur")
    d["layers"][1]["weights"][0][0] = 0.9
    expected = forward(sheetnet.train(sheetnet.parse_spec(d)).to_json()["layers"], [[0.05, 0.10], [0.3, 0.7]])
    np.testing.assert_allclose(outputs(edited), expected, rtol=1e-12)
    assert outputs(edited) != outputs(book)


def tomllib_example(name):
    import tomllib

    from sheetnet.examples import example_path
    with open(example_path(name), "rb") as fh:
        return tomllib.load(fh)


@pytest.mark.parametrize("text, message", [
    ("i1\n0.05\n", "new.csv: no column 'i2': the network's inputs are i1, i2"),
    ("i1,i2\n0.05,abc\n", "new.csv, row 2, column 'i2': not a number: 'abc'"),
    ("i1,i2\n", "new.csv: the CSV file has a header but no rows"),
    ("i1,i2\n0.1,0.2,0.3\n", "new.csv, row 2: expected 2 fields, got 3"),
])
def test_predict_bad_inputs_are_one_line(tmp_path, text, message):
    (tmp_path / "new.csv").write_text(text)
    result = CliRunner().invoke(main, ["predict", "mazur", str(tmp_path / "new.csv")])
    assert result.exit_code == 2
    assert result.stderr == f"sheetnet: error: {message}\n"
