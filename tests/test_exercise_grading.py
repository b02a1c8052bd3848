"""Grading a student can use, and an audit of files saved without values: several classic
mistakes in one submission, each named by its own hint (none fires for another cause);
answers rounded too early; answers typed as formulas by a script (no stored values); an
audit of an openpyxl re-save and of a pasted constant.

The right answers are the engine's (``sheetnet.train``); the wrong ones are worked out here
by hand from Mazur's published numbers.
"""

from __future__ import annotations

import openpyxl
import pytest

import sheetnet
from roundtrip_util import assert_one_line_error, one_json, run, set_cells, zip_set_values
from sheetnet.book.cells import read_cells
from sheetnet.engine import Model
from sheetnet.sheet.formulas import StepFormulas
from sheetnet.sheet.layout import choose_layout
from sheetnet.sheet.refs import CellRefs
from sheetnet.sheet.values import StepValues

ALL = ("net", "exp", "out", "term", "loss", "data_loss", "delta", "g", "p1")


class Mazur:
    def __init__(self, folder):
        self.path = str(folder / "ex.xlsx")
        assert run("exercise", "mazur", "-o", self.path).exit_code == 0
        self.spec = sheetnet.example("mazur")
        self.trace = sheetnet.train(self.spec)
        self.model = Model(self.spec)
        self.lay = choose_layout(self.model, self.trace.steps, self.trace.orders, "steps")
        vals = StepValues(self.trace, self.model, 0)
        self.cells = [(c, kind, layer, item, pos) for c, kind, layer, item, pos in self.lay.step_cells(0)
                      if kind in ALL]
        self.right = {c: float(f"{vals.get(kind, layer, item, pos):.6g}") for c, kind, layer, item, pos in self.cells}

    def cell(self, kind, layer, item):
        return self.lay.cell(kind, layer, item, 0)


@pytest.fixture(scope="module")
def mazur(tmp_path_factory):
    return Mazur(tmp_path_factory.mktemp("grading"))


def grade(path, *args):
    result = run("audit", path, "--json", *args)
    assert result.exit_code in (0, 1), result.stderr
    got = one_json(result.stdout)
    return got, {a["cell"]: a for a in got["answers"]}


def test_each_classic_mistake_gets_its_own_hint_with_the_others_present(mazur, tmp_path):
    m = mazur
    labels = m.model.params.labels
    lr, i1 = 0.5, 0.05
    d_h1, d_o1 = 0.00877135468, 0.138498562  # Mazur's δ_h1 (via ∂E/∂out_h1 = 0.036350306) and δ_o1
    out_h1 = 0.593269992
    w5_new, w7_new, d_o2 = 0.35891648, 0.511301270, -0.0380982366
    stale = (d_o1 * w5_new + d_o2 * w7_new) * out_h1 * (1 - out_h1)  # from the already-updated w5, w7
    b_h1, b_o1 = labels.index("b[h1]"), labels.index("b[o1]")
    mistakes = {
        m.cell("term", None, 0): ((0.75136507 - 0.01) ** 2, "half"),  # no ½
        m.cell("delta", 0, 0): (stale, "stale"),
        m.cell("p1", None, b_h1): (0.35 - lr * d_h1, "frozen_bias"),  # the bias updated the PyTorch way
        m.cell("p1", None, b_o1): (0.60 - lr * d_o1, "frozen_bias"),
        m.cell("g", None, labels.index("w5")): (0.0822, "rounded"),  # copied at 4 decimals
    }
    answers = m.right | {c: v for c, (v, _) in mistakes.items()}
    got, by_cell = grade(zip_set_values(m.path, str(tmp_path / "mixed.xlsx"), answers))
    assert got["ok"] is False
    for c, (_, kind) in mistakes.items():
        a = by_cell[c.a1()]
        assert a["mistake"] == kind, a
    frozen = by_cell[m.cell("p1", None, b_h1).a1()]
    assert frozen["hint"].startswith("biases are not updated in this exercise") and frozen["verdict"] == "wrong"
    rounded = by_cell[m.cell("g", None, labels.index("w5")).a1()]
    assert rounded["verdict"] == "rounded" and rounded["digits"] == 3
    assert rounded["verdict_text"] == "right to 3 significant digits"
    others = [a for c, a in by_cell.items() if c not in {x.a1() for x in mistakes}]
    assert others and all(a["verdict"] == "correct" and not a["hint"] for a in others), \
        [a for a in others if a["verdict"] != "correct"]
    counts = got["mistakes"]
    assert counts["frozen_bias"] == 2 and counts["half"] == 1 and counts["stale"] == 1 and counts["rounded"] == 1
    assert sum(counts.values()) == 5
    text = run("audit", str(tmp_path / "mixed.xlsx")).stdout
    assert "a frozen bias updated: 2 answer(s)" in text and "rounded too early: 1 answer(s)" in text
    # with --digits 3 the rounded answer is right
    _, by_cell = grade(str(tmp_path / "mixed.xlsx"), "--digits", "3")
    assert by_cell[m.cell("g", None, labels.index("w5")).a1()]["verdict"] == "correct"


def test_answers_typed_as_formulas_by_a_script_are_evaluated(mazur, tmp_path):
    """Every answer written by openpyxl as the formula a student would type (no stored values:
    openpyxl computes nothing, and the sheet's own =Data!B4 cells lose theirs too)."""
    m = mazur
    refs = CellRefs(m.lay)
    refs.step = 0
    build = StepFormulas(m.model, refs)
    formulas = {c: "=" + build.formula(kind, layer, item, 0, pos) for c, kind, layer, item, pos in m.cells}
    path = set_cells(m.path, str(tmp_path / "formulas.xlsx"), formulas)
    got, by_cell = grade(path)
    assert got["ok"] is True and len(by_cell) == len(m.cells)
    assert all(a["verdict"] == "correct" for a in by_cell.values())
    # one formula wrong: graded wrong, not "not answered"
    c = m.cell("out", 0, 0)
    path = set_cells(m.path, str(tmp_path / "one.xlsx"), formulas | {c: f"={refs.one('net', 0, 0)}*0.5+0.3"})
    _, by_cell = grade(path)
    assert by_cell[c.a1()]["verdict"] == "wrong" and by_cell[c.a1()]["found"] == pytest.approx(0.3775 * 0.5 + 0.3)


@pytest.mark.parametrize("example", ["mazur", "xor"])  # a sheet per step; one row per step (40 steps)
def test_audit_of_a_resave_without_values_and_of_a_pasted_constant(tmp_path, example):
    path = str(tmp_path / f"{example}.xlsx")
    epochs = 40 if example == "xor" else 1
    assert run("train", example, "-o", path, "--epochs", epochs).exit_code == 0
    resaved = set_cells(path, str(tmp_path / "resaved.xlsx"), {})
    result = run("audit", resaved)
    assert result.exit_code == 0, result.stdout[:2000]
    notes = [line for line in result.stderr.splitlines() if "evaluated them itself" in line]
    assert len(notes) == 1 and "no stored value" in notes[0]
    spec = sheetnet.example(example).with_train(epochs=epochs)
    trace = sheetnet.train(spec)
    model = Model(spec)
    lay = choose_layout(model, trace.steps, trace.orders, "auto")
    target = lay.cell("out", len(model.acts) - 1, 0, 0)
    pasted = set_cells(path, str(tmp_path / "pasted.xlsx"), {target: 0.75})
    result = run("audit", pasted)
    assert result.exit_code == 1
    root = next(line for line in result.stdout.splitlines() if line.startswith("likely root cause"))
    name = spec.layers[-1].names[0]
    assert f"out_{name}" in root and "step 1" in root and "a constant overwrote the formula" in root
    assert target.a1() in root


def test_levels_hide_the_equations_and_derive_asks_for_formulas(mazur, tmp_path):
    m = mazur
    shown = read_cells(m.path)["Step 1"]
    eq_row = m.cell("delta", 0, 0).row
    assert "δ_o1" in shown[(eq_row, 1)][1]  # the default level shows the equation
    for level in ("--hide-equations", "--derive"):
        path = str(tmp_path / f"{level[2:]}.xlsx")
        assert run("exercise", "mazur", "-o", path, level).exit_code == 0
        cells = read_cells(path)["Step 1"]
        for c, *_ in m.cells:
            assert cells.get((c.row, 1), (None, None))[1] in (None, ""), c  # no equation beside an answer
            assert cells[(c.row, 0)][1]  # the quantity's name stays
    derive = str(tmp_path / "derive.xlsx")
    refs = CellRefs(m.lay)
    refs.step = 0
    build = StepFormulas(m.model, refs)
    formulas = {c: "=" + build.formula(kind, layer, item, 0, pos) for c, kind, layer, item, pos in m.cells}
    got, by_cell = grade(set_cells(derive, str(tmp_path / "f.xlsx"), formulas))
    assert got["ok"] is True
    typed = m.cell("out", 0, 0)
    got, by_cell = grade(set_cells(derive, str(tmp_path / "n.xlsx"), formulas | {typed: m.right[typed]}))
    a = by_cell[typed.a1()]
    assert a["verdict"] == "wrong" and a["mistake"] == "not_derived" and "formula" in a["hint"]
    assert sum(not b["ok"] for b in by_cell.values()) == 1


def test_step_walks_through_a_workbook_as_edited(tmp_path):
    path = str(tmp_path / "m.xlsx")
    assert run("train", "mazur", "-o", path).exit_code == 0
    edited = str(tmp_path / "eta.xlsx")
    wb = openpyxl.load_workbook(path)
    wb["Settings"]["B4"] = 0.8  # eta
    wb.save(edited)
    result = run("step", edited)
    assert result.exit_code == 0, result.stderr
    # Mazur's ∂E/∂w5 = 0.082167041; with η = 0.8: 0.4 − 0.8·0.082167041
    assert f"{0.4 - 0.8 * 0.082167041:.6f}"[:8] in result.stdout and "η = 0.8" in result.stdout
    assert_one_line_error(run("step", str(tmp_path / "none.xlsx")), "none.xlsx")
