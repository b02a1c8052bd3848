"""The CLI contract of SPEC.md: `train --json`, `step`, `examples`, help, and one-line errors (exit 2).

Commands that write a workbook (`demo`, `train -o`) are tested in test_cli_workbook.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner

from sheetnet.cli import main

REPO = Path(__file__).resolve().parents[1]

SMALL = """\
name = "two samples"

[[layers]]
kind = "input"
size = 2
names = ["x1", "x2"]

[[layers]]
kind = "dense"
size = 2
activation = "sigmoid"
names = ["h1", "h2"]
weights = [[0.15, 0.20], [0.25, 0.30]]
biases = [0.35, 0.35]

[[layers]]
kind = "dense"
size = 1
activation = "sigmoid"
names = ["o1"]
weights = [[0.40, 0.45]]
biases = [0.60]

[loss]
kind = "half_sse"

[train]
lr = 0.5
epochs = 1
batch_size = {batch_size}

[data]
inputs = [[0.05, 0.10], [0.20, 0.30]]
targets = [[0.01], [0.99]]
"""


def small(tmp_path, batch_size=0) -> str:
    path = tmp_path / "small.toml"
    path.write_text(SMALL.format(batch_size=batch_size))
    return str(path)


def run(*args):
    return CliRunner().invoke(main, list(args))


def one_json_object(text: str) -> dict:
    """stdout must be exactly one JSON object (and nothing else but whitespace)."""
    obj, end = json.JSONDecoder().raw_decode(text.lstrip())
    assert text.lstrip()[end:].strip() == "", text
    assert isinstance(obj, dict)
    return obj


def assert_one_line_error(result, *expected):
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr, result.exception)
    err = result.stderr
    assert "Traceback" not in err and "Traceback" not in result.stdout
    assert err.count("\n") == 1 and err.endswith("\n"), repr(err)
    assert err.startswith("sheetnet: error:"), err
    assert result.stdout == ""
    for text in expected:
        assert text in err, (text, err)


# --------------------------------------------------------------------------- train
def test_train_mazur_json():
    result = run("train", "mazur", "--json")
    assert result.exit_code == 0, result.stderr
    out = one_json_object(result.stdout)
    assert {"losses", "layers"} <= set(out)
    assert len(out["losses"]) == 1
    assert out["losses"][0] == pytest.approx(0.298371109, abs=1e-9)
    assert len(out["layers"]) == 2
    for layer in out["layers"]:
        assert set(layer) >= {"weights", "biases"}
        assert [len(row) for row in layer["weights"]] == [2, 2]
        assert len(layer["biases"]) == 2
    # Mazur's updated weights (biases frozen)
    np.testing.assert_allclose(out["layers"][1]["weights"], [[0.35891648, 0.408666186], [0.51130127, 0.561370121]],
                               atol=1e-8)
    np.testing.assert_allclose(out["layers"][0]["weights"], [[0.149780716, 0.199561432], [0.249751144, 0.299502287]],
                               atol=1e-9)
    assert out["layers"][0]["biases"] == [0.35, 0.35] and out["layers"][1]["biases"] == [0.6, 0.6]


def test_train_json_shapes_follow_the_spec(tmp_path):
    out = one_json_object(run("train", small(tmp_path), "--json").stdout)
    assert [len(row) for row in out["layers"][0]["weights"]] == [2, 2]
    assert [len(row) for row in out["layers"][1]["weights"]] == [2]
    assert [len(layer["biases"]) for layer in out["layers"]] == [2, 1]


@pytest.mark.parametrize("batch_size, per_epoch", [(0, 1), (1, 2), (2, 1)])
def test_train_epochs_option_changes_the_steps(tmp_path, batch_size, per_epoch):
    spec = small(tmp_path, batch_size)
    default = one_json_object(run("train", spec, "--json").stdout)
    assert len(default["losses"]) == per_epoch
    result = run("train", spec, "--epochs", "3", "--json")
    assert result.exit_code == 0, result.stderr
    three = one_json_object(result.stdout)
    assert len(three["losses"]) == 3 * per_epoch
    assert three["losses"][:per_epoch] == default["losses"]  # the same run, continued


def test_train_without_json_prints_a_summary():
    result = run("train", "mazur")
    assert result.exit_code == 0, result.stderr
    assert "1 step in 1 epoch" in result.stdout and "0.298371109" in result.stdout
    assert "0.291027774 after epoch 1" in result.stdout  # the error after the step (Mazur erratum)


def test_train_mazur_10k_loss():
    """Mazur reports an error of 0.0000351085 after 10,000 steps (the progress bar goes to stderr)."""
    result = run("train", "mazur-10k", "--json")
    assert result.exit_code == 0, result.stderr
    losses = one_json_object(result.stdout)["losses"]
    assert len(losses) == 10_000
    assert losses[-1] == pytest.approx(0.0000351085, rel=1e-3)


# --------------------------------------------------------------------------- step
def test_step_mazur_walkthrough():
    result = run("step", "mazur")
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    for number in ("0.3775", "0.593269992", "0.596884378", "1.10590597", "0.75136507", "0.772928465",
                   "0.298371109", "0.138498562", "0.0821670406", "0.35891648", "0.408666186", "0.51130127",
                   "0.561370121", "0.149780716"):
        assert number in text, number
    for title in ("Forward pass", "Loss", "Backward pass", "Gradients", "Update"):
        assert title in text
    assert max(len(line) for line in text.splitlines()) <= 100
    assert result.stderr == ""


def test_step_json_two_samples(tmp_path):
    result = run("step", small(tmp_path), "--steps", "2", "--sample", "2", "--json")
    assert result.exit_code == 0, result.stderr
    out = one_json_object(result.stdout)
    steps = out["steps"]
    assert len(steps) == 2
    assert [s["step"] for s in steps] == [1, 2]
    assert [s["epoch"] for s in steps] == [1, 2]  # one batch of both samples per epoch
    for s in steps:
        assert s["samples"] == [0, 1] and s["sample"] == 1
        assert s["lr"] == 0.5
        assert s["lines"] and {"section", "name", "equation", "substituted", "value"} <= set(s["lines"][0])
        assert {line["section"] for line in s["lines"]} == {"forward", "loss", "backward", "gradients", "update"}
    # the second sample's forward pass: net_h1 = 0.15·0.20 + 0.20·0.30 + 0.35
    net_h1 = next(line for line in steps[0]["lines"] if line["name"] == "net_h1")
    assert net_h1["value"] == pytest.approx(0.15 * 0.20 + 0.20 * 0.30 + 0.35)
    assert steps[0]["lines"] != steps[1]["lines"]  # the second step starts from updated weights


def test_step_several_steps_text(tmp_path):
    result = run("step", small(tmp_path, batch_size=1), "--steps", "3")
    assert result.exit_code == 0, result.stderr
    assert [line.split(" (")[0] for line in result.stdout.splitlines() if line.startswith("Step ")] == \
        ["Step 1", "Step 2", "Step 3"]
    assert max(len(line) for line in result.stdout.splitlines()) <= 100


# --------------------------------------------------------------------------- examples and help
def test_examples_lists_mazur():
    result = run("examples")
    assert result.exit_code == 0
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert "mazur" in names and "mazur-10k" in names
    assert any(line.startswith("mazur ") and "2-2-2" in line for line in result.stdout.splitlines())


COMMANDS = sorted(main.commands)


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_mentions_every_option(command):
    args = ["--help"] if command is None else [command, "--help"]
    result = run(*args)
    assert result.exit_code == 0, result.stderr
    cmd = main if command is None else main.commands[command]
    for param in cmd.params:
        if isinstance(param, click.Argument):
            assert param.make_metavar(click.Context(cmd)) in result.stdout
        else:
            for opt in param.opts:
                assert opt in result.stdout, (command, opt)
    if command is None:
        for name in COMMANDS:
            assert name in result.stdout


@pytest.mark.parametrize("command, options", [
    ("train", ["-o", "--output", "--epochs", "--json", "--layout", "SPEC"]),
    ("step", ["--steps", "--sample", "--json", "SPEC"]),
    ("demo", ["-o", "--output"]),
])
def test_help_names_the_documented_options(command, options):
    result = run(command, "-h")
    assert result.exit_code == 0
    for opt in options:
        assert opt in result.stdout


def test_version():
    result = run("--version")
    assert result.exit_code == 0 and result.stdout.startswith("sheetnet ")


# --------------------------------------------------------------------------- unusable input: exit 2, one line
def test_missing_spec_file(tmp_path):
    path = str(tmp_path / "absent.toml")
    assert_one_line_error(run("train", path, "--json"), "absent.toml", "no such file")
    assert_one_line_error(run("step", path), "absent.toml", "no such file")


def test_unknown_example_name():
    assert_one_line_error(run("train", "mazurr"), "mazurr", "did you mean 'mazur'?")
    assert_one_line_error(run("step", "mazzur", "--json"), "mazzur", "did you mean 'mazur'?")


def test_invalid_spec_via_step(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(SMALL.format(batch_size=0).replace('"sigmoid"', '"sigmod"', 1))
    assert_one_line_error(run("step", str(path)), "bad.toml", "layer 2 (dense)", "did you mean 'sigmoid'?")


@pytest.mark.parametrize("args, expected", [
    (["step", "mazur", "--sample", "2"], ["--sample 2", "only 1 sample"]),
    (["step", "mazur", "--sample", "0"], ["--sample"]),
    (["step", "mazur", "--sample", "two"], ["--sample"]),
    (["step", "mazur", "--steps", "0"], ["--steps"]),
    (["train", "mazur", "--epochs", "0"], ["--epochs"]),
    (["train", "mazur", "--epochs", "1.5"], ["--epochs"]),
    (["train", "mazur", "--layout", "wide"], ["--layout"]),
    (["train"], ["SPEC"]),
    (["train", "mazur", "--bogus"], ["--bogus"]),
    (["frobnicate"], ["frobnicate"]),
])
def test_bad_usage_is_one_line(args, expected):
    assert_one_line_error(run(*args), *expected)


def test_bad_sample_on_two_sample_spec(tmp_path):
    spec = small(tmp_path, batch_size=1)  # batches of one sample
    assert_one_line_error(run("step", spec, "--sample", "2"), "--sample 2")


# --------------------------------------------------------------------------- from a checkout
def test_cli_py_from_a_checkout():
    result = subprocess.run([sys.executable, "cli.py", "--help"], cwd=REPO, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    for name in ("train", "step", "demo", "examples"):
        assert name in result.stdout


def test_cli_py_train_json_from_a_checkout():
    result = subprocess.run([sys.executable, "cli.py", "train", "mazur", "--json"], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert len(one_json_object(result.stdout)["losses"]) == 1


def test_cli_py_error_from_a_checkout(tmp_path):
    result = subprocess.run([sys.executable, "cli.py", "train", str(tmp_path / "x.toml")], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("sheetnet: error:")
    assert "x.toml" in result.stderr and "Traceback" not in result.stderr
