"""Published numbers: Matt Mazur, "A Step by Step Backpropagation Example" (2015).

The 2-2-2 sigmoid network, inputs 0.05/0.10, targets 0.01/0.99, E = Σ ½(target − out)²,
learning rate 0.5, biases kept fixed (``sheetnet.example("mazur")``).  Each expected value is
the number as printed in the article; a computed value matches when it rounds to it, i.e.
it lies within half a unit of the last printed digit.

The last test uses the PyTorch float32 printout published for the same network with the
biases updated too (one step, lr 0.5), printed to 4 decimals.
"""

from __future__ import annotations

import numpy as np
import pytest

import sheetnet


def rounds_to(value: float, printed: str) -> bool:
    """Does ``value`` round to the decimal ``printed`` (half a unit of its last digit)?"""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return abs(float(value) - float(printed)) <= 0.5 * 10.0 ** -decimals * (1 + 1e-9)


def assert_printed(value, printed: str, what: str):
    assert rounds_to(value, printed), f"{what}: computed {float(value)!r}, published {printed}"


@pytest.fixture(scope="module")
def step():
    trace = sheetnet.train(sheetnet.example("mazur"))
    assert trace.n_steps == 1
    return trace.step(1)


@pytest.mark.parametrize("unit,col,printed", [
    ("h1", "net", "0.3775"),
    ("h1", "out", "0.593269992"),
    ("h2", "out", "0.596884378"),
    ("o1", "net", "1.105905967"),
    ("o1", "out", "0.75136507"),
    ("o2", "out", "0.772928465"),
])
def test_forward_pass(step, unit, col, printed):
    assert_printed(step.forward.loc[(0, unit), col], printed, f"{col}_{unit}")


def test_total_error(step):
    assert_printed(step.batch_loss, "0.298371109", "E_total")
    assert_printed(step.loss.loc[0], "0.298371109", "E_total (per-sample loss of the only sample)")


@pytest.mark.parametrize("weight,printed", [
    ("w5", "0.35891648"),
    ("w6", "0.408666186"),
    ("w7", "0.511301270"),
    ("w8", "0.561370121"),
    ("w1", "0.149780716"),
    ("w2", "0.19956143"),
    ("w3", "0.24975114"),
    ("w4", "0.29950229"),
])
def test_updated_weights(step, weight, printed):
    assert_printed(step.update.loc[weight, "after"], printed, f"{weight}+")


@pytest.mark.parametrize("weight,printed", [("w5", "0.082167041"), ("w1", "0.000438568")])
def test_gradients_worked_out_in_the_text(step, weight, printed):
    """∂E_total/∂w5 and ∂E_total/∂w1 as the article works them out."""
    assert_printed(step.update.loc[weight, "gradient"], printed, f"dE/d{weight}")


def test_biases_are_kept(step):
    up = step.update
    for label, value in (("b[h1]", 0.35), ("b[h2]", 0.35), ("b[o1]", 0.60), ("b[o2]", 0.60)):
        assert up.loc[label, "before"] == up.loc[label, "after"] == value


def test_update_is_sgd_on_the_gradient_from_the_old_weights(step):
    up = step.update
    weights = [f"w{i}" for i in range(1, 9)]
    np.testing.assert_allclose(up.loc[weights, "after"], up.loc[weights, "before"] - 0.5 * up.loc[weights, "gradient"],
                               rtol=1e-15)


def test_error_after_10000_iterations():
    spec = sheetnet.example("mazur-10k")
    assert spec.train.freeze_biases and spec.train.epochs == 10_000
    trace = sheetnet.train(spec)
    assert trace.n_steps == 10_000
    assert_printed(trace.loss[-1], "0.0000351085", "error after 10,000 iterations")
    assert np.all(np.diff(trace.loss) < 0)  # one sample, small steps: the error falls every step
    js = trace.to_json()
    assert js["layers"][0]["biases"] == [0.35, 0.35] and js["layers"][1]["biases"] == [0.60, 0.60]


# --------------------------------------------------------------------------- PyTorch printout
@pytest.fixture(scope="module")
def torch_step():
    spec = sheetnet.example("mazur").with_train(freeze_biases=False)
    return sheetnet.train(spec).step(1)


def test_pytorch_printout_weight_gradients(torch_step):
    g = torch_step.update["gradient"]
    hidden = [["0.0004", "0.0009"], ["0.0005", "0.0010"]]
    output = [["0.0822", "0.0827"], ["-0.0226", "-0.0227"]]
    for names, printed in ((("w1", "w2"), ("w3", "w4")), hidden), ((("w5", "w6"), ("w7", "w8")), output):
        for row_names, row_printed in zip(names, printed):
            for name, p in zip(row_names, row_printed):
                assert_printed(g[name], p, f"grad {name}")


def test_pytorch_printout_biases_after_the_step(torch_step):
    after = torch_step.update["after"]
    for label, printed in (("b[h1]", "0.3456"), ("b[h2]", "0.3450"), ("b[o1]", "0.5308"), ("b[o2]", "0.6190")):
        assert_printed(after[label], printed, label)


def test_pytorch_printout_same_weights_as_mazur(torch_step, step):
    """Updating the biases too does not change the first step's weights (gradients come from the old values)."""
    weights = [f"w{i}" for i in range(1, 9)]
    np.testing.assert_array_equal(torch_step.update.loc[weights, "after"], step.update.loc[weights, "after"])
    np.testing.assert_array_equal(np.asarray(torch_step.trace.grads[0]), np.asarray(step.trace.grads[0]))
