"""`sheetnet compare`: several runs of one problem in one workbook, each live on its own
sheets (sheet-local names), recalculated by LibreOffice and Gnumeric; an edit to one run's
η moves that run only."""

from __future__ import annotations

import numpy as np
import openpyxl
import pytest
from click.testing import CliRunner

import sheetnet
from sheetnet.book.cells import read_cells
from sheetnet.book.check import compare as compare_cells
from sheetnet.cli import main
from sheetnet.compare import runs, write_comparison
from sheetnet.errors import SpecError
from sheetnet.book.recalc import recalc_files


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare")
    spec = sheetnet.example("optimizers").with_train(epochs=12)
    specs = runs(spec)
    path = str(folder / "optimizers.xlsx")
    traces = write_comparison(specs, path)
    # an edited copy: adam's η halved, nothing else
    wb = openpyxl.load_workbook(path)
    wb["adam Settings"]["B4"] = specs["adam"].train.lr / 2
    edited = str(folder / "edited.xlsx")
    wb.save(edited)
    lo = recalc_files([path, edited], str(folder / "lo"))
    gnumeric = recalc_files([path], str(folder / "gnumeric"), engine="gnumeric")[0]
    return {"path": path, "specs": specs, "traces": traces, "lo": lo[0], "edited": lo[1], "gnumeric": gnumeric}


def test_one_run_per_optimizer_of_the_compare_table(book):
    assert list(book["specs"]) == ["sgd", "momentum", "adagrad", "rmsprop", "adam"]
    assert book["specs"]["adam"].train.lr == 0.1 and book["specs"]["sgd"].train.lr == 4.0
    assert book["specs"]["adagrad"].train.eps == 1e-10 and book["specs"]["adam"].train.eps == 1e-8


@pytest.mark.parametrize("engine", ["lo", "gnumeric"])
def test_every_formula_cell_recalculates_to_the_stored_value(book, engine):
    n, bad = compare_cells(book["path"], book[engine])
    assert n > 0 and not bad, bad[:3]


def test_each_runs_history_is_that_optimizers_run(book):
    cells = read_cells(book["lo"])
    for label, spec in book["specs"].items():
        expected = sheetnet.train(spec).loss
        hist = cells[f"{label} Losses"]
        got = [hist[(3 + k, 2)][1] for k in range(len(expected))]
        np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_editing_one_runs_eta_moves_that_run_only(book):
    cells = read_cells(book["edited"])
    for label, spec in book["specs"].items():
        if label == "adam":
            spec = spec.with_train(lr=spec.train.lr / 2)
        expected = sheetnet.train(spec).loss
        hist = cells[f"{label} Losses"]
        got = [hist[(3 + k, 2)][1] for k in range(len(expected))]
        np.testing.assert_allclose(got, expected, rtol=1e-9, err_msg=label)


def test_the_compare_table_must_name_optimizers_with_positive_rates(tmp_path):
    base = (sheetnet.example("optimizers").path)
    text = open(base).read()
    for bad, message in (("adamm = 0.1", "did you mean 'adam'"), ("adam = 0", "> 0"), ("adam = \"x\"", "number")):
        path = tmp_path / "bad.toml"
        path.write_text(text.replace("adam = 0.1", bad))
        with pytest.raises(SpecError, match=message):
            sheetnet.load_spec(str(path))


def test_cli_compare_and_a_clear_refusal_to_read_a_comparison(tmp_path):
    out = tmp_path / "o.xlsx"
    r = CliRunner().invoke(main, ["compare", "optimizers", "-o", str(out), "--epochs", "3"])
    assert r.exit_code == 0, r.output
    assert [line.split()[0] for line in r.stdout.splitlines()] == ["sgd", "momentum", "adagrad", "rmsprop", "adam"]
    r = CliRunner().invoke(main, ["read", str(out), "--json"])
    assert r.exit_code == 2 and "comparison of several runs" in r.output and "Traceback" not in r.output


# --------------------------------------------------------------------------- sweeps
SWEEP_BASE = """
[[layers]]
kind = "input"
size = 2

[[layers]]
kind = "dense"
size = 3
activation = "sigmoid"

[[layers]]
kind = "dense"
size = 1
activation = "sigmoid"

[loss]
kind = "half_sse"

[train]
lr = 1.0
epochs = 4
seed = 2

[data]
inputs = [[0, 0], [0, 1], [1, 0], [1, 1]]
targets = [[0], [1], [1], [0]]

[compare]
"""


def sweep_spec(tmp_path, table: str):
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP_BASE + table)
    return sheetnet.load_spec(str(path))


def test_a_sweep_over_four_learning_rates_is_four_runs(tmp_path):
    spec = sweep_spec(tmp_path, "lr = [0.1, 0.5, 2.0, 8.0]")
    got = runs(spec)
    assert list(got) == ["η 0.1", "η 0.5", "η 2", "η 8"]
    assert [s.train.lr for s in got.values()] == [0.1, 0.5, 2.0, 8.0]
    assert all(s.train.optimizer == "sgd" and s.train.epochs == 4 for s in got.values())


def test_a_sweep_over_two_settings_is_every_combination(tmp_path):
    spec = sweep_spec(tmp_path, 'batch_size = [0, 1]\nactivation = ["sigmoid", "relu"]')
    got = runs(spec, epochs=2)
    assert list(got) == ["whole batch, sigmoid", "whole batch, relu", "batch 1, sigmoid", "batch 1, relu"]
    relu = got["batch 1, relu"]
    assert [layer.activation for layer in relu.layers[1:]] == ["relu", "sigmoid"]  # the output layer keeps its own
    assert relu.train.batch_size == 1 and relu.train.epochs == 2


def test_a_sweep_workbook_holds_every_run_live(tmp_path):
    spec = sweep_spec(tmp_path, "lr = [0.5, 4.0]")
    out = tmp_path / "sweep.xlsx"
    traces = write_comparison(runs(spec), str(out))
    cells = read_cells(str(out))
    assert {"η 0.5 Run", "η 4 Run", "η 0.5 Losses", "η 4 Losses", "Compare"} <= set(cells)
    for label, trace in traces.items():
        hist = cells[f"{label} Losses"]
        np.testing.assert_allclose([hist[(3 + k, 2)][1] for k in range(trace.n_steps)], trace.loss, rtol=0)
    assert cells["Compare"][(4, 0)][1] == "η 0.5"


@pytest.mark.parametrize("table, where, message", [
    ("lr = [0.1, -1]", "[compare] key 'lr', item 2", "must be > 0"),
    ('activation = ["sigmod"]', "[compare] key 'activation', item 1", "did you mean 'sigmoid'"),
    ('activation = ["softmax"]', "[compare] key 'activation', item 1", "only for the output layer"),
    ('optimizer = ["adam", "adamw"]', "[compare] key 'optimizer', item 2", "unknown optimizer"),
    ("batch_size = [1.5]", "[compare] key 'batch_size', item 1", "whole number"),
    ("momentum = [0.5]", "[compare] key 'momentum'", "cannot compare over 'momentum'"),
    ("lr = []", "[compare] key 'lr'", "at least one value"),
    ("lr = 0.5", "[compare] key 'lr'", "expected a list of values"),
    ("lr = [0.5]\nadam = 0.1", "[compare]", "not both"),
])
def test_a_bad_sweep_is_one_line(tmp_path, table, where, message):
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP_BASE + table)
    result = CliRunner().invoke(main, ["compare", str(path), "-o", str(tmp_path / "x.xlsx")])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and where in result.stderr and message in result.stderr, result.stderr
    assert not (tmp_path / "x.xlsx").exists()


def test_a_run_name_too_long_for_a_sheet_is_refused(tmp_path):
    spec = sweep_spec(tmp_path, "lr_decay = [0.125]\nbatch_size = [1]\nseed = [3]\nl2 = [0.5]")
    with pytest.raises(SpecError, match="at most 20 characters"):
        runs(spec)
