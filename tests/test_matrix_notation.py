"""The matrix notation's walk-through writes each dense layer's weight gradient as one matrix,
dW = W.grad, as code-first posts print PyTorch's ``weight.grad``: checked against PyTorch
autograd (float64) and against the element lines of the same walk-through."""

from __future__ import annotations

import json
import re
import tomllib

import numpy as np
import pytest
from click.testing import CliRunner

import sheetnet
from sheetnet.cli import main
from sheetnet.examples import example_path
from sheetnet.text import display_width

from torch_reference import torch_train


@pytest.mark.parametrize("name", ["mazur", "digits01"])
def test_each_layer_gradient_matrix_is_torch_weight_grad(name):
    result = CliRunner().invoke(main, ["step", name, "--notation", "matrix", "--json"])
    assert result.exit_code == 0, result.output
    lines = json.loads(result.output)["steps"][0]["lines"]
    matrices = {ln["name"].split(" = ")[0]: np.array(ln["matrix"]) for ln in lines if ln.get("matrix")}
    spec = sheetnet.example(name)
    assert list(matrices) == [f"dW{l + 1}" for l in range(len(spec.layers) - 1)]

    with open(example_path(name), "rb") as fh:
        raw = tomllib.load(fh)
    raw["data"] = {"inputs": spec.data.inputs.tolist(), "targets": spec.data.targets.tolist()}
    trace = sheetnet.train(spec.with_train(epochs=1))
    for l, layer in enumerate(raw["layers"][1:]):  # the torch run starts where sheetnet does
        layer["weights"] = trace.weights(l + 1, 0).to_numpy().tolist()
        layer["biases"] = trace.biases(l + 1, 0).to_numpy().tolist()
    raw["train"]["epochs"] = 1
    ref = torch_train(raw)
    for l, (dW, _db) in enumerate(ref.grads[0]):
        np.testing.assert_allclose(matrices[f"dW{l + 1}"], dW, rtol=1e-12, atol=1e-15)

    # the matrix is the element lines, laid out rows-receive, columns-send
    element = {ln["name"]: ln["value"] for ln in lines if re.fullmatch(r"dW\d\[\d+,\d+\]", ln["name"])}
    for key, value in element.items():
        l, j, i = map(int, re.fullmatch(r"dW(\d)\[(\d+),(\d+)\]", key).groups())
        assert matrices[f"dW{l}"][j - 1, i - 1] == value


def test_the_matrix_lines_fit_an_80_column_terminal():
    result = CliRunner().invoke(main, ["step", "digits01", "--notation", "matrix"], env={"COLUMNS": "80"})
    text = result.output
    assert "dW1 = W1.grad (3×12) = Σ dZ1·Xᵀ =" in text
    assert max(display_width(line) for line in text.splitlines()) <= 80
