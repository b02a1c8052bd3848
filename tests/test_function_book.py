"""Function workbooks read back (issue 11, and issue 13's audit): read and resume take the inputs
as edited, audit names a pasted constant or a changed formula by its quantity, a file saved by a
script without values audits clean, an exercise hides its answers and is graded with hints, and
a comparison of runs on one function recalculates in LibreOffice and Gnumeric."""

from __future__ import annotations

import json

import numpy as np
import openpyxl
import pytest
from click.testing import CliRunner

from roundtrip_util import assert_one_line_error, zip_set_values
from sheetnet.book.check import compare
from sheetnet.book.recalc import csv_files, recalc_files
from sheetnet.cli import main
from sheetnet.examples import resolve
from sheetnet.function.engine import train_function
from sheetnet.function.layout import FunctionLayout
from sheetnet.sheet.layout import Cell


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def lay_of(name, steps):
    spec = resolve(name)
    return FunctionLayout(spec.variables, spec.train.optimizer, steps)


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    """The workbooks of this file, written once; the recalculations batched (one start each)."""
    folder = tmp_path_factory.mktemp("function-books")
    paths = {"wakui": folder / "wakui.xlsx", "adam": folder / "adam.xlsx", "ex": folder / "ex.xlsx",
             "exadam": folder / "exadam.xlsx", "cmp": folder / "cmp.xlsx", "lrs": folder / "lrs.xlsx"}
    for args in (["train", "wakui-2-11", "-o", paths["wakui"]], ["train", "rosenbrock", "-o", paths["adam"]],
                 ["exercise", "wakui-2-11", "--steps", 3, "-o", paths["ex"]],
                 ["exercise", "rosenbrock", "--steps", 2, "-o", paths["exadam"]],
                 ["compare", "rosenbrock", "--epochs", 60, "-o", paths["cmp"]]):
        result = run(*args)
        assert result.exit_code == 0, (args, result.stderr)
    lrs = folder / "lrs.toml"
    lrs.write_text('[function]\nf = "(w + 1)^2"\nstart = { w = 5 }\n[train]\nlr = 0.2\nsteps = 12\n'
                   '[compare]\nlr = [0.01, 0.2, 0.9, 1.1]\n', encoding="utf-8")
    result = run("compare", lrs, "-o", paths["lrs"])
    assert result.exit_code == 0, result.stderr
    names = ["cmp", "lrs", "ex", "exadam", "adam"]
    out = {"paths": paths, "stdout": {"lrs": result.stdout}}
    for engine in ("lo", "gnumeric"):
        out[engine] = dict(zip(names, recalc_files([str(paths[n]) for n in names], str(folder / engine), engine=engine)))
    out["csv"] = csv_files([str(paths["ex"]), str(paths["exadam"])], str(folder / "csv"))
    return out


# --------------------------------------------------------------------------- read and resume
def test_an_edited_eta_and_start_are_read_back(books, tmp_path):
    lay = lay_of("wakui-2-11", 30)
    edited = tmp_path / "edited.xlsx"
    zip_set_values(str(books["paths"]["wakui"]), str(edited), {lay.setting("lr"): 0.25, lay.start(1): -1.5})
    result = run("read", edited, "--json")
    assert result.exit_code == 0, result.stderr
    assert "recomputed" in result.stderr  # the stored path is the one from before the edit
    got = json.loads(result.stdout)
    spec = resolve("wakui-2-11").with_train(lr=0.25)
    spec = type(spec)(**{**spec.__dict__, "start": np.array([3.0, -1.5])})
    want = train_function(spec)
    assert got["lr"] == 0.25 and got["start"] == {"x": 3.0, "y": -1.5}
    assert np.array_equal(np.array(got["points"]), want.points)
    assert got["points"][1] == pytest.approx([3 - 0.25 * 6, -1.5 + 0.25 * 3])  # x − η·2x by hand


@pytest.mark.parametrize("example, optimizer", [("wakui-2-11", "sgd"), ("rosenbrock", "adam")])
def test_resume_continues_the_path_to_the_last_bit(tmp_path, example, optimizer):
    """10 steps, then 10 more: the numbers of 20 steps in one go (Adam's state and counter too)."""
    first, second = tmp_path / "ten.xlsx", tmp_path / "twenty.xlsx"
    assert run("train", example, "--epochs", 10, "-o", first).exit_code == 0
    result = run("resume", first, "--epochs", 10, "-o", second, "--json")
    assert result.exit_code == 0, result.stderr
    at_once = train_function(resolve(example).with_train(epochs=20))
    assert at_once.spec.train.optimizer == optimizer
    assert np.array_equal(np.array(json.loads(result.stdout)["points"]), at_once.points)
    back = json.loads(run("read", second, "--json").stdout)
    assert not back["recomputed"] and np.array_equal(np.array(back["points"]), at_once.points)


# --------------------------------------------------------------------------- audit
def test_audit_passes_an_untouched_workbook_and_an_openpyxl_resave(books, tmp_path):
    assert run("audit", books["paths"]["adam"]).exit_code == 0
    resaved = tmp_path / "resaved.xlsx"
    openpyxl.load_workbook(books["paths"]["wakui"]).save(resaved)
    result = run("audit", resaved)
    assert result.exit_code == 0, result.stdout
    assert "no stored value" in result.stderr and result.stderr.count("\n") == 1
    assert "follows from the workbook's inputs" in result.stdout


def test_audit_names_a_pasted_constant_by_its_quantity(books, tmp_path):
    lay = lay_of("wakui-2-11", 30)
    pasted = tmp_path / "pasted.xlsx"
    wb = openpyxl.load_workbook(books["paths"]["wakui"])
    c = lay.cell("g", 2, 0)  # ∂f/∂x of step 3
    wb[c.sheet].cell(c.row + 1, c.col + 1).value = 1.5
    wb.save(pasted)
    result = run("audit", pasted, "--json")
    assert result.exit_code == 1
    first = json.loads(result.stdout)["findings"][0]
    assert first["cell"] == f"Steps!{c.a1()}" and first["quantity"] == "∂f/∂x, step 3" and first["kind"] == "constant"
    # a changed formula
    changed = tmp_path / "changed.xlsx"
    wb = openpyxl.load_workbook(books["paths"]["wakui"])
    c = lay.cell("x+", 4, 1)
    wb[c.sheet].cell(c.row + 1, c.col + 1).value = "=D9-0.2*G9"
    wb.save(changed)
    result = run("audit", changed)
    assert result.exit_code == 1 and "y⁺, step 5: =D9-0.2*G9 where sheetnet wrote" in result.stdout


def test_an_edit_of_eta_in_the_sheet_is_not_a_finding(books, tmp_path):
    """η edited and the file saved by a program that recalculates: it still audits clean."""
    lay = lay_of("wakui-2-11", 30)
    wb = openpyxl.load_workbook(books["paths"]["wakui"])
    c = lay.setting("lr")
    wb[c.sheet].cell(c.row + 1, c.col + 1).value = 0.3
    wb.save(tmp_path / "eta.xlsx")  # openpyxl stores no values: sheetnet evaluates them
    assert run("audit", tmp_path / "eta.xlsx").exit_code == 0


# --------------------------------------------------------------------------- exercise
ANSWERS = {"ex": {0: ([6.0, 4.0], [2.4, 1.6]), 1: ([4.8, 3.2], [1.92, 1.28]), 2: ([3.84, 2.56], [1.536, 1.024])}}


def fill(books, tmp_path, name, change=None):
    """The wakui exercise filled in by hand (the book's numbers), with ``change`` {cell: value}."""
    lay = lay_of("wakui-2-11", 3)
    values = {}
    for k, (g, x) in ANSWERS["ex"].items():
        for j in range(2):
            values[lay.cell("g", k, j)] = g[j]
            values[lay.cell("x+", k, j)] = x[j]
    values.update(change or {})
    out = tmp_path / f"{name}.xlsx"
    zip_set_values(str(books["paths"]["ex"]), str(out), values)
    return out


def test_the_exercise_leaks_no_answer(books):
    """Opened without recalculation (LibreOffice's default), no sheet shows an answer."""
    answers = {f"{v:g}" for g, x in ANSWERS["ex"].values() for v in (*g, *x)}
    for path, sheets in books["csv"].items():
        text = "\n".join(sheets.values())
        cells = {c.strip('"') for line in text.splitlines() for c in line.split(",")}
        if path.endswith("ex.xlsx"):
            assert not answers & cells, answers & cells
        assert "Steps" in "".join(sheets)
    lay = lay_of("wakui-2-11", 3)
    ws = openpyxl.load_workbook(books["paths"]["ex"])["Steps"]
    assert ws[lay.cell("g", 0, 0).a1()].value is None and ws[lay.cell("x+", 2, 1).a1()].value is None
    assert "IF(COUNT(" in ws[lay.cell("x", 1, 0).a1()].value


def test_a_self_check_shows_no_expected_value(books):
    result = run("audit", books["paths"]["ex"], "--json")
    assert result.exit_code == 1
    answers = json.loads(result.stdout)["answers"]
    assert len(answers) == 12 and all(a["verdict"] == "missing" and a["expected"] is None for a in answers)
    lines = run("audit", books["paths"]["ex"]).stdout.splitlines()[1:]
    assert len(lines) == 12 and all(line.endswith(": —: not answered") for line in lines), lines


def test_the_exercise_right_and_with_each_classic_slip(books, tmp_path):
    lay = lay_of("wakui-2-11", 3)
    right = fill(books, tmp_path, "right")
    result = run("audit", right)
    assert result.exit_code == 0, result.stdout
    assert "12 answers: 12 correct" in result.stdout

    slips = {  # the cell, the slip, the verdict, the mistake
        "sign": (lay.cell("x+", 0, 0), 3 + 0.1 * 6, "wrong", "step_sign"),
        "no_lr": (lay.cell("x+", 1, 1), 1.6 - 3.2, "wrong", "no_lr"),
        "half": (lay.cell("g", 1, 0), 2.4, "wrong", "factor_two"),
        "rounded": (lay.cell("x+", 2, 0), 1.54, "rounded", "rounded"),
    }
    for name, (cell, value, verdict, mistake) in slips.items():
        path = fill(books, tmp_path, name, {cell: value})
        result = run("audit", path, "--json")
        assert result.exit_code == 1, (name, result.stdout)
        graded = {a["cell"]: a for a in json.loads(result.stdout)["answers"]}
        a = graded[cell.a1()]
        assert (a["verdict"], a["mistake"]) == (verdict, mistake), (name, a)
        assert sum(not g["ok"] for g in graded.values()) == 1 or name == "sign", name
    # error carried forward: a wrong x⁺ in step 1, then step 2 done right from it
    x1 = 3 + 0.1 * 6
    path = fill(books, tmp_path, "carried", {lay.cell("x+", 0, 0): x1, lay.cell("g", 1, 0): 2 * x1,
                                             lay.cell("x+", 1, 0): x1 - 0.1 * 2 * x1})
    graded = {a["cell"]: a for a in json.loads(run("audit", path, "--json").stdout)["answers"]}
    assert graded[lay.cell("g", 1, 0).a1()]["verdict"] == "consistent"
    assert graded[lay.cell("x+", 1, 0).a1()]["verdict"] == "consistent"


def test_an_adam_exercise_asks_for_the_state_too(books):
    lay = lay_of("rosenbrock", 2)
    result = run("audit", books["paths"]["exadam"], "--json")
    answers = json.loads(result.stdout)["answers"]
    names = [a["name"] for a in answers]
    assert names[:2] == ["∂f/∂x, step 1", "∂f/∂y, step 1"] and "m[x], step 1" in names and "v_hat[y], step 2" in names
    assert len(answers) == 2 * (2 + 2 * (len(lay.state_names) + 1))


def test_function_exercise_options(books, tmp_path):
    result = run("exercise", "wakui-2-11", "--sample", 1, "-o", tmp_path / "x.xlsx")
    assert_one_line_error(result, "--steps and --hide-equations only")
    assert not (tmp_path / "x.xlsx").exists()
    result = run("resume", books["paths"]["ex"], "-o", tmp_path / "y.xlsx")
    assert_one_line_error(result, "an exercise")
    hidden = tmp_path / "hidden.xlsx"
    assert run("exercise", "wakui-2-11", "--hide-equations", "-o", hidden).exit_code == 0
    ws = openpyxl.load_workbook(hidden)["Steps"]
    assert not any(isinstance(c.value, str) and "=" in c.value for c in ws[3])


# --------------------------------------------------------------------------- every engine agrees
@pytest.mark.parametrize("engine", ["lo", "gnumeric"])
@pytest.mark.parametrize("name", ["cmp", "lrs", "ex", "exadam", "adam"])
def test_every_cell_recalculates_to_the_stored_value(books, engine, name):
    n, bad = compare(str(books["paths"][name]), books[engine][name], rtol=1e-9, atol=1e-12)
    assert n > (5 if name.startswith("ex") else 100)
    assert not bad, [str(b) for b in bad[:5]]


def test_a_comparison_of_four_learning_rates(books):
    """lr = [0.01, 0.2, 0.9, 1.1] on (w+1)²: four live runs; 1.1 oscillates outward."""
    wb = openpyxl.load_workbook(books["paths"]["lrs"])
    assert [s for s in wb.sheetnames if s.endswith(" Steps")] == ["η 0.01 Steps", "η 0.2 Steps", "η 0.9 Steps",
                                                                  "η 1.1 Steps"]
    assert {str(d) for d in wb.defined_names} >= {"η_0_2_eta", "η_1_1_start_w"}
    lines = books["stdout"]["lrs"].splitlines()
    # by hand: w⁺ + 1 = (1 − 2η)(w + 1), so after 12 steps w + 1 = 6·(1 − 2η)^12
    for line, lr in zip(lines, (0.01, 0.2, 0.9, 1.1)):
        w = 6 * (1 - 2 * lr) ** 12 - 1
        assert f"at ({w:.6g})" in line, (line, w)
    compare_sheet = wb["Compare"]
    assert compare_sheet["B5"].value.endswith("$B$3") or "B3" in compare_sheet["B5"].value
    result = run("read", books["paths"]["lrs"])
    assert_one_line_error(result, "a comparison of several runs")


def test_a_workbook_whose_inputs_diverge(books, tmp_path):
    """η = 1e308 typed into the sheet: read and audit say where the run diverges; resume has
    nothing to continue (one line, nothing written)."""
    lay = lay_of("wakui-2-11", 30)
    wb = openpyxl.load_workbook(books["paths"]["wakui"])
    c = lay.setting("lr")
    wb[c.sheet].cell(c.row + 1, c.col + 1).value = 1e308
    wb.save(tmp_path / "huge.xlsx")
    result = run("read", tmp_path / "huge.xlsx")
    assert result.exit_code == 0 and "diverged at step 1" in result.stderr
    out = tmp_path / "next.xlsx"
    result = run("resume", tmp_path / "huge.xlsx", "-o", out)
    assert_one_line_error(result, "diverges at step 1", "nothing to continue")
    assert not out.exists()
