"""`sheetnet exercise` and the grading of a filled-in exercise by `sheetnet audit`:
blank answer cells, right answers, error carried forward (an early slip with later answers
consistent with it), tolerances, the hints for the classic confusions, the graded copy.

The answers are computed here: from ``sheetnet.train``'s trace, by arithmetic in the test
(the wrong turns), or by LibreOffice (the answers consistent with a slip).
"""

from __future__ import annotations

import math
import os

import numpy as np
import openpyxl
import pytest

import sheetnet
from corpus import make
from roundtrip_util import (assert_one_line_error, example_dict, fingerprint, one_json, run, set_cells, spec_of,
                            zip_set_values)
from sheetnet.book.cells import read_cells
from sheetnet.engine import Model
from sheetnet.sheet.layout import EXERCISE_SECTIONS, choose_layout
from sheetnet.book.recalc import recalc_files
from sheetnet.spec.toml_out import to_toml

PARTS = "forward,loss,backward,update"
ANSWER_KEYS = {"sheet", "cell", "name", "found", "expected", "consistent_value", "verdict", "hint", "where", "ok",
               "mistake", "digits", "quantity", "verdict_text"}


def _mazur_free():
    d = example_dict("mazur")
    d["train"]["freeze_biases"] = False
    return d


SPECS = {
    "mazur": example_dict("mazur"),
    "mazur-free": _mazur_free(),  # biases updated too
    "mean2": make(n=2, n_hidden=2, batch_size=0, epochs=1, reduction="mean", seed=31),  # a batch of 2, averaged
    "ce": make(out="softmax", loss="cross_entropy", n=1, n_out=3, epochs=1, seed=32),
}


class Exercise:
    """An exercise written by the CLI, its layout, and the engine's answer for every blank cell."""

    def __init__(self, name, folder):
        self.name = name
        self.spec = spec_of(SPECS[name], name)
        toml = os.path.join(folder, f"{name}.toml")
        with open(toml, "w") as fh:
            fh.write(to_toml(self.spec))
        self.path = os.path.join(folder, f"{name}-ex.xlsx")
        result = run("exercise", toml, "-o", self.path, "--steps", 1, "--blank", PARTS)
        assert result.exit_code == 0, (result.stderr, result.exception)
        self.trace = sheetnet.train(self.spec)
        assert self.trace.n_steps == 1
        self.lay = choose_layout(Model(self.spec), self.trace.steps, self.trace.orders, "steps")
        kinds = {k for part in PARTS.split(",") for k in EXERCISE_SECTIONS[part]}
        self.cells = [(c, kind, layer, item, pos) for c, kind, layer, item, pos in self.lay.step_cells(0)
                      if kind in kinds]
        self.answers = {c: self.engine(kind, layer, item, pos) for c, kind, layer, item, pos in self.cells}

    def cell(self, kind, layer, item, pos=0):
        return self.lay.cell(kind, layer, item, 0, pos)

    def engine(self, kind, layer, item, pos):
        """The engine's value of a quantity of step 1 (from the trace's arrays)."""
        t = self.trace
        e, lo, hi = t.steps[0]
        n = lo + pos
        target = self.spec.data.targets[t.orders[e, n]]
        if kind == "net":
            return t.z[layer][e, n, item]
        if kind == "out":
            return t.a[layer][e, n, item]
        if kind == "exp":
            z = t.z[layer][e, n]
            return math.exp(z[item] - z.max())
        if kind == "term":
            y = t.a[-1][e, n, item]
            if self.spec.loss.kind == "half_sse":
                return 0.5 * (y - target[item]) ** 2
            assert self.spec.loss.kind == "cross_entropy"
            return -target[item] * math.log(y)
        if kind == "loss":
            return t.sample_loss[e, n]
        if kind == "data_loss":
            losses = t.sample_loss[e, lo:hi]
            return losses.mean() if self.spec.loss.reduction == "mean" else losses.sum()
        if kind == "delta":
            return t.delta[layer][e, n, item]
        if kind == "gs":
            return t.step(1).per_sample_gradients()[pos, item]
        if kind == "g":
            return t.grads[0, item]
        if kind == "p1":
            return t.thetas[1, item]
        raise AssertionError(kind)

    def fill(self, dst, answers):
        """The exercise with ``answers`` {cell: number} typed in (every other byte as written)."""
        return zip_set_values(self.path, dst, answers)

    def rounded(self, digits=6):
        """Every answer, rounded to ``digits`` significant digits (as a student would write it)."""
        return {c: float(f"{v:.{digits}g}") for c, v in self.answers.items()}


def grade(path, *args):
    result = run("audit", path, "--json", *args)
    assert result.exit_code in (0, 1), (result.stderr, result.exception)
    got = one_json(result.stdout)
    assert set(got) >= {"ok", "graded", "answers"} and got["ok"] is (result.exit_code == 0)
    for a in got["answers"]:
        assert set(a) == ANSWER_KEYS
    return result.exit_code, {(a["sheet"], a["cell"]): a for a in got["answers"]}


def key(cell):
    from openpyxl.utils import get_column_letter
    return cell.sheet, f"{get_column_letter(cell.col + 1)}{cell.row + 1}"


@pytest.fixture(scope="module")
def ex(tmp_path_factory):
    """The exercises, and what needs LibreOffice in one start: Mazur's worked workbook with an
    early slip typed over out_h1 (to recalculate what follows from it), and an exercise filled
    in with openpyxl (saved by LibreOffice, as a student's spreadsheet would)."""
    folder = str(tmp_path_factory.mktemp("exercise"))
    out = {name: Exercise(name, folder) for name in SPECS}
    m = out["mazur"]
    worked = os.path.join(folder, "worked.xlsx")
    assert run("train", "mazur", "-o", worked).exit_code == 0
    out["slip_cell"] = m.cell("out", 0, 0)
    slipped = set_cells(worked, os.path.join(folder, "slipped.xlsx"), {out["slip_cell"]: SLIP})
    student = set_cells(m.path, os.path.join(folder, "student.xlsx"), m.rounded(6))
    lo = recalc_files([slipped, student], os.path.join(folder, "lo"))
    out["slipped_lo"], out["student_lo"] = lo
    return out


SLIP = 0.6  # out_h1 is 0.593269992


# --------------------------------------------------------------------------- the exercise
def test_the_answer_cells_are_left_empty(ex):
    m = ex["mazur"]
    # 2 hidden + 2 outputs: net 4, out 4, E terms 2, E 1, batch E 1, deltas 4; 12 parameters: g 12, updated 12
    assert len(m.cells) == 40
    cells = read_cells(m.path)
    for c, *_ in m.cells:
        assert cells.get(c.sheet, {}).get((c.row, c.col), (None, None)) == (None, None), c
    inputs = [m.cell("in", None, 0), m.cell("p0", None, 0), m.cell("lr", None, 0)]
    for c in inputs:  # what the student starts from is there, as formulas
        formula, value = cells[c.sheet][(c.row, c.col)]
        assert formula and isinstance(value, float)
    code, answers = grade(m.path)
    assert code == 1 and len(answers) == 40 and all(a["verdict"] == "missing" for a in answers.values())


def test_every_part_can_be_left_blank_alone(tmp_path):
    for part in PARTS.split(","):
        path = tmp_path / f"{part}.xlsx"
        assert run("exercise", "mazur", "-o", path, "--blank", part).exit_code == 0
        code, answers = grade(path)
        kinds = EXERCISE_SECTIONS[part]
        assert code == 1 and answers
        assert all(a["verdict"] == "missing" for a in answers.values())
        assert len(answers) == {"forward": 8, "loss": 4, "backward": 4, "update": 24}[part], kinds
    assert_one_line_error(run("exercise", "mazur", "-o", tmp_path / "x.xlsx", "--blank", "forwrd"), "forwrd")


@pytest.mark.parametrize("name", SPECS)
def test_right_answers_to_six_digits_are_all_correct(ex, tmp_path, name):
    e = ex[name]
    path = e.fill(str(tmp_path / "answered.xlsx"), e.rounded(6))
    before = fingerprint(path)
    code, answers = grade(path, "--teacher")
    assert code == 0, [a for a in answers.values() if not a["ok"]]
    assert len(answers) == len(e.cells) and all(a["verdict"] == "correct" for a in answers.values())
    for c, *_ in e.cells:
        assert answers[key(c)]["expected"] == pytest.approx(e.answers[c], rel=1e-12, abs=1e-15)
    assert fingerprint(path) == before


def test_a_student_file_saved_by_libreoffice_is_graded(ex):
    code, answers = grade(ex["student_lo"])
    assert code == 0 and len(answers) == 40 and all(a["verdict"] == "correct" for a in answers.values())
    text = run("audit", ex["student_lo"])
    assert text.exit_code == 0 and "40 answers: 40 correct" in text.stdout


def test_a_blank_answer_is_missing(ex, tmp_path):
    m = ex["mazur"]
    answers = m.rounded(6)
    skipped = m.cell("delta", 0, 1)
    del answers[skipped]
    code, got = grade(m.fill(str(tmp_path / "a.xlsx"), answers))
    assert code == 1 and got[key(skipped)]["verdict"] == "missing"
    assert sum(a["verdict"] == "correct" for a in got.values()) == 39


# --------------------------------------------------------------------------- error carried forward
def test_answers_consistent_with_an_early_slip_count(ex, tmp_path):
    """out_h1 miscalculated as 0.6; every later answer computed from it (by LibreOffice, in the
    worked workbook with 0.6 typed over out_h1) is consistent, not wrong."""
    m = ex["mazur"]
    lo = read_cells(ex["slipped_lo"])
    answers = {c: lo[c.sheet][(c.row, c.col)][1] for c, *_ in m.cells}
    slip = ex["slip_cell"]
    assert answers[slip] == SLIP
    path = m.fill(str(tmp_path / "slipped.xlsx"), answers)
    code, got = grade(path)
    assert code == 1  # the slip itself is wrong
    assert got[key(slip)]["verdict"] == "wrong"
    consistent = 0
    for c, *_ in m.cells:
        if c == slip:
            continue
        a, want = got[key(c)], m.answers[c]
        if abs(answers[c] - want) <= 1e-12 + 1e-4 * abs(want):
            assert a["verdict"] == "correct", a  # untouched by the slip (net_h2, out_h2, …)
        else:
            assert a["verdict"] == "consistent", a
            assert a["consistent_value"] == pytest.approx(answers[c], rel=1e-9, abs=1e-15)
            consistent += 1
    assert consistent >= 20  # net_o, out_o, E, δ, g and updated weights downstream of out_h1
    for name in (("out", 0, 1), ("net", 0, 0), ("net", 0, 1)):
        assert got[key(m.cell(*name))]["verdict"] == "correct"
    for name in (("net", 1, 0), ("out", 1, 1), ("delta", 0, 0), ("p1", None, 4 + 2)):
        assert got[key(m.cell(*name))]["verdict"] == "consistent"


# --------------------------------------------------------------------------- tolerance
def test_digits_and_rtol(ex, tmp_path):
    m = ex["mazur"]
    four = m.fill(str(tmp_path / "four.xlsx"), m.rounded(4))
    code, got = grade(four)  # default: relative error 1e-4
    assert code == 1
    for c, *_ in m.cells:
        x = m.answers[c]
        r4 = float(f"{x:.4g}")
        correct = abs(r4 - x) <= 1e-12 + 1e-4 * abs(x)
        assert (got[key(c)]["verdict"] == "correct") is bool(correct), (c, x, r4)
        assert got[key(c)]["verdict"] != "missing"
    code, got = grade(four, "--digits", 4)
    assert code == 0 and all(a["verdict"] == "correct" for a in got.values())
    code, got = grade(four, "--rtol", 1e-3)  # 4 significant digits are within 5e-4
    assert code == 0 and all(a["verdict"] == "correct" for a in got.values())
    code, got = grade(four, "--digits", 6)
    assert code == 1
    for c, *_ in m.cells:
        x = m.answers[c]
        r4 = float(f"{x:.4g}")
        half_unit = 0.5 * 10.0 ** (math.floor(math.log10(abs(x))) - 5)
        assert (got[key(c)]["verdict"] == "correct") is bool(abs(r4 - x) <= half_unit * (1 + 1e-9)), (c, x)
    six = m.fill(str(tmp_path / "six.xlsx"), m.rounded(6))
    code, got = grade(six, "--rtol", 1e-7)
    for c, *_ in m.cells:
        x = m.answers[c]
        r6 = float(f"{x:.6g}")
        assert (got[key(c)]["verdict"] == "correct") is bool(abs(r6 - x) <= 1e-12 + 1e-7 * abs(x)), (c, x)
    assert any(a["verdict"] != "correct" for a in got.values())


# --------------------------------------------------------------------------- hints
def _one_wrong(e, tmp_path, cell, value, *args):
    path = e.fill(str(tmp_path / "hint.xlsx"), e.rounded(6) | {cell: value})
    code, got = grade(path, *args)
    assert code == 1
    a = got[key(cell)]
    assert a["verdict"] == "wrong", a
    others = [b for k, b in got.items() if k != key(cell)]
    assert all(b["verdict"] == "correct" for b in others), [b for b in others if b["verdict"] != "correct"]
    return a, path


def test_hint_missing_half(ex, tmp_path):
    m = ex["mazur"]
    t = m.trace
    y, target = t.a[1][0, 0, 0], 0.01
    a, _ = _one_wrong(m, tmp_path, m.cell("term", None, 0), (y - target) ** 2)  # no ½
    assert "½" in a["hint"] and "twice" in a["hint"]


def test_hint_sum_instead_of_mean(ex, tmp_path):
    e = ex["mean2"]
    t = e.trace
    y = t.a[1][0, :2]
    targets = e.spec.data.targets[t.orders[0, :2]]
    per_sample = 0.5 * ((y - targets) ** 2).sum(axis=1)
    total = float(per_sample.sum())
    assert total == pytest.approx(2 * e.answers[e.cell("data_loss", None, 0)], rel=1e-12)
    a, _ = _one_wrong(e, tmp_path, e.cell("data_loss", None, 0), total)
    assert "summed over the samples" in a["hint"] and "mean" in a["hint"]


def test_hint_bias_not_updated(ex, tmp_path):
    e = ex["mazur-free"]
    idx = 4  # b[h1]: w1..w4, then the two hidden biases
    assert e.trace.params.labels[idx] == "b[h1]"
    a, _ = _one_wrong(e, tmp_path, e.cell("p1", None, idx), 0.35)  # the starting bias
    assert "bias kept its old value" in a["hint"]


def _mazur_by_hand(m):
    """Mazur's step by hand: the deltas of the outputs, the updated w5 and w7, and the hidden
    delta δ_h1 the wrong way (from the updated w5⁺, w7⁺) and the right way."""
    t = m.trace
    i1 = 0.05
    out_h1 = t.a[0][0, 0, 0]
    (o1, o2), (t1, t2) = t.a[1][0, 0], (0.01, 0.99)
    d_o1, d_o2 = (o1 - t1) * o1 * (1 - o1), (o2 - t2) * o2 * (1 - o2)
    w5, w7, lr = 0.40, 0.50, 0.5
    w5_new, w7_new = w5 - lr * d_o1 * out_h1, w7 - lr * d_o2 * out_h1
    wrong = (d_o1 * w5_new + d_o2 * w7_new) * out_h1 * (1 - out_h1)
    right = (d_o1 * w5 + d_o2 * w7) * out_h1 * (1 - out_h1)
    return dict(i1=i1, lr=lr, wrong=wrong, right=right, w5_new=w5_new, w7_new=w7_new)


def test_hint_hidden_delta_from_updated_weights(ex, tmp_path):
    m = ex["mazur"]
    h = _mazur_by_hand(m)
    assert h["w5_new"] == pytest.approx(0.35891648, abs=1e-8)  # Mazur's published w5⁺ and w7⁺
    assert h["w7_new"] == pytest.approx(0.511301270, abs=1e-9)
    assert h["right"] == pytest.approx(m.answers[m.cell("delta", 0, 0)], rel=1e-12)
    assert abs(h["wrong"] - h["right"]) > 1e-4 * abs(h["right"])
    a, _ = _one_wrong(m, tmp_path, m.cell("delta", 0, 0), h["wrong"])
    assert "already-updated weights" in a["hint"]
    # the same confusion seen in the gradient and in the updated w1
    a, _ = _one_wrong(m, tmp_path, m.cell("g", None, 0), h["wrong"] * h["i1"])
    assert "already-updated weights" in a["hint"]
    a, _ = _one_wrong(m, tmp_path, m.cell("p1", None, 0), 0.15 - h["lr"] * h["wrong"] * h["i1"])
    assert "already-updated weights" in a["hint"]


def test_hint_log_instead_of_ln(ex, tmp_path):
    e = ex["ce"]
    t = e.trace
    target = e.spec.data.targets[0]
    k = int(np.argmax(target))
    y = t.a[1][0, 0, k]
    a, _ = _one_wrong(e, tmp_path, e.cell("term", None, k), -math.log10(y))
    assert "LOG (base 10)" in a["hint"] and "LN" in a["hint"]


# --------------------------------------------------------------------------- the graded copy
def test_the_graded_copy_marks_the_answers_and_the_student_file_is_unchanged(ex, tmp_path):
    m = ex["mazur"]
    h = _mazur_by_hand(m)
    wrong_cell = m.cell("delta", 0, 0)
    path = m.fill(str(tmp_path / "student.xlsx"), m.rounded(6) | {wrong_cell: h["wrong"]})
    before = fingerprint(path)
    result = run("audit", path)
    assert result.exit_code == 1
    assert "40 answers: 39 correct, 0 consistent with earlier values, 1 wrong, 0 not answered" in result.stdout
    graded = tmp_path / "student.graded.xlsx"
    assert graded.is_file() and f"wrote {graded}" in result.stderr
    assert fingerprint(path) == before
    wb = openpyxl.load_workbook(graded)
    for c, *_ in m.cells:
        cell = wb[c.sheet].cell(c.row + 1, c.col + 1)
        colour = cell.fill.fgColor.rgb
        if c == wrong_cell:
            assert colour.endswith("FFC7CE")  # red
            assert cell.comment.text.startswith("wrong\nhint:") and "already-updated weights" in cell.comment.text
            assert "expected" not in cell.comment.text and "0.0877" not in cell.comment.text
            assert cell.value == pytest.approx(h["wrong"], rel=1e-15)  # the student's answer stays
        else:
            assert colour.endswith("C6EFCE"), c  # green
            assert cell.comment.text.startswith("correct")
    # another place for the graded copy; never over the student's file
    other = tmp_path / "marks.xlsx"
    assert run("audit", path, "--graded", other).exit_code == 1 and other.is_file()
    assert_one_line_error(run("audit", path, "--graded", path), "refusing to write over")
    assert fingerprint(path) == before


def test_each_hint_fires_for_its_own_cause_with_other_mistakes_present(ex, tmp_path):
    """Two or three classic mistakes in one submission: each cell gets the hint of its own
    mistake, every other answer stays correct."""
    mean2, free, ce = ex["mean2"], ex["mazur-free"], ex["ce"]
    b_h1 = free.trace.params.labels.index("b[h1]")
    y_ce = ce.trace.a[-1][0, 0]
    k = int(np.argmax(ce.spec.data.targets[ce.trace.orders[0, 0]]))
    ce_bias = next(i for i, w in enumerate(ce.trace.params.is_weight) if not w)
    plans = {
        mean2: {mean2.cell("data_loss", None, 0): (2 * mean2.answers[mean2.cell("data_loss", None, 0)], "sum_mean"),
                mean2.cell("term", None, 0, 1): (2 * mean2.answers[mean2.cell("term", None, 0, 1)], "half")},
        free: {free.cell("p1", None, b_h1): (0.35, "bias_kept"),
               free.cell("term", None, 1): (2 * free.answers[free.cell("term", None, 1)], "half")},
        ce: {ce.cell("term", None, k): (-math.log10(y_ce[k]), "log10"),
             ce.cell("p1", None, ce_bias): (float(ce.trace.thetas[0, ce_bias]), "bias_kept")},
    }
    for e, plan in plans.items():
        path = e.fill(str(tmp_path / f"{e.name}.xlsx"), e.rounded(6) | {c: v for c, (v, _) in plan.items()})
        got = one_json(run("audit", path, "--json").stdout)
        by = {(a["sheet"], a["cell"]): a for a in got["answers"]}
        for c, (_, mistake) in plan.items():
            assert by[key(c)]["mistake"] == mistake, (e.name, by[key(c)])
        others = [a for kk, a in by.items() if kk not in {key(c) for c in plan}]
        assert all(a["verdict"] == "correct" for a in others), (e.name, [a for a in others if not a["ok"]])
        assert got["mistakes"][next(iter(plan.values()))[1]] >= 1
