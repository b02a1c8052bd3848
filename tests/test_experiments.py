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
