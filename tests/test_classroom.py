"""A class: `sheetnet exercise mazur --students roster.csv -o DIR` (a workbook per student
with the student's own numbers, a teacher's key), `sheetnet grade DIR` (the gradebook), bad
roster rows.  The filled-in copies are written here: some right, some with one classic
mistake each, worked out by hand from each student's own numbers."""

from __future__ import annotations

import csv
import itertools
import os

import numpy as np
import openpyxl
import pytest

import sheetnet
from roundtrip_util import assert_one_line_error, run, zip_set_values
from sheetnet.book.cells import read_cells
from sheetnet.book.reader import open_book
from sheetnet.engine import Model
from sheetnet.sheet.layout import choose_layout
from sheetnet.sheet.values import StepValues

N = 30
PLAN = ["right", "half", "frozen_bias", "rounded", "stale", "missing"]  # student i: PLAN[i % 6]


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    roster = folder / "roster.csv"
    with open(roster, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "name"])
        for i in range(N):
            w.writerow([f"s{i + 1:02d}", f"学生 {i + 1}"])
    out = folder / "ex"
    result = run("exercise", "mazur", "--students", roster, "-o", out, "--seed", 2026)
    assert result.exit_code == 0, result.stderr
    return roster, out


def start_params(path):
    book = open_book(str(path))
    return Model(book.spec).params.theta


def test_thirty_workbooks_with_pairwise_different_numbers_and_a_key(klass, tmp_path):
    roster, out = klass
    books = sorted(f for f in os.listdir(out) if f.endswith(".xlsx"))
    assert books == [f"s{i + 1:02d}.xlsx" for i in range(N)]
    thetas = [start_params(out / b) for b in books]
    mazur = Model(sheetnet.example("mazur")).params.theta
    for a, b in itertools.combinations(thetas, 2):
        assert not np.allclose(a, b)
    for t in thetas:
        d = t - mazur
        assert np.all(np.abs(d) <= 0.1 + 1e-12) and np.allclose(d * 100, np.round(d * 100))  # 2 decimals
    # the key: each student's worked run, with the student's numbers
    for b, t in zip(books, thetas):
        key = open_book(str(out / "key" / b))
        assert not key.exercise and np.array_equal(Model(key.spec).params.theta, t)
    # reproducible: the same roster and seed give the same numbers; another seed others
    again = tmp_path / "again"
    assert run("exercise", "mazur", "--students", roster, "-o", again, "--seed", 2026).exit_code == 0
    assert np.array_equal(start_params(again / "s07.xlsx"), thetas[6])
    other = tmp_path / "other"
    assert run("exercise", "mazur", "--students", roster, "-o", other, "--seed", 7).exit_code == 0
    assert not np.allclose(start_params(other / "s07.xlsx"), thetas[6])


def fill(path, dst, plan):
    """The student's workbook filled in: every answer right (6 digits) but one planted mistake."""
    book = open_book(str(path))
    spec = book.spec
    trace = sheetnet.train(spec)
    model = Model(spec)
    lay = choose_layout(model, trace.steps, trace.orders, "steps")
    vals = StepValues(trace, model, 0)
    exact = {(kind, layer, item): float(vals.get(kind, layer, item, pos))
             for c, kind, layer, item, pos in lay.step_cells(0)}
    cell = {(kind, layer, item): c for c, kind, layer, item, pos in lay.step_cells(0)}
    kinds = ("net", "out", "term", "loss", "data_loss", "delta", "g", "p1")
    answers = {cell[k]: float(f"{v:.6g}") for k, v in exact.items() if k[0] in kinds}
    labels = model.params.labels
    lr = spec.train.lr
    if plan == "half":
        y, t = exact[("out", 1, 0)], spec.data.targets[0][0]
        answers[cell[("term", None, 0)]] = (y - t) ** 2
    elif plan == "frozen_bias":
        i = labels.index("b[h2]")
        answers[cell[("p1", None, i)]] = exact[("p0", None, i)] - lr * exact[("delta", 0, 1)]
    elif plan == "rounded":
        # a gradient copied to 3 significant digits, one where that is outside the tolerance 1e-4
        i, r = next((i, float(f"{exact[('g', None, i)]:.3g}")) for i in range(len(labels))
                     if abs(float(f"{exact[('g', None, i)]:.3g}") - exact[("g", None, i)])
                     > 2e-4 * abs(exact[("g", None, i)]))
        answers[cell[("g", None, i)]] = r
    elif plan == "stale":
        d_o = [exact[("delta", 1, k)] for k in range(2)]
        out_h1 = exact[("out", 0, 0)]
        w5, w7 = (exact[("p1", None, labels.index(n))] for n in ("w5", "w7"))  # already updated
        answers[cell[("delta", 0, 0)]] = (d_o[0] * w5 + d_o[1] * w7) * out_h1 * (1 - out_h1)
    elif plan == "missing":
        del answers[cell[("net", 0, 1)]]
    return zip_set_values(str(path), str(dst), answers)


def test_grading_a_folder_of_thirty_writes_the_gradebook(klass, tmp_path):
    _, out = klass
    subs = tmp_path / "submissions"
    subs.mkdir()
    for i in range(N):
        sid = f"s{i + 1:02d}"
        fill(out / f"{sid}.xlsx", subs / f"{sid}.xlsx", PLAN[i % 6])
    (subs / "notes.xlsx").write_bytes(b"not a workbook")
    result = run("grade", subs)
    assert result.exit_code == 0, result.stderr
    assert "notes.xlsx" in result.stderr and "warning" in result.stderr
    with open(subs / "gradebook.csv", encoding="utf-8") as fh:
        rows = {r["id"]: r for r in csv.DictReader(fh)}
    assert len(rows) == N + 1 and rows["notes"]["error"]
    expect = {"right": {}, "half": {"mistake_half": 1, "wrong": 1}, "frozen_bias": {"mistake_frozen_bias": 1, "wrong": 1},
              "rounded": {"mistake_rounded": 1, "rounded": 1}, "stale": {"mistake_stale": 1, "wrong": 1},
              "missing": {"missing": 1}}
    counted = ("wrong", "rounded", "missing", "mistake_half", "mistake_frozen_bias", "mistake_rounded",
               "mistake_stale", "mistake_sum_mean", "mistake_bias_kept", "mistake_log10", "mistake_unreadable")
    for i in range(N):
        r = rows[f"s{i + 1:02d}"]
        plan = PLAN[i % 6]
        assert r["answers"] == "40"
        for col in counted:
            assert int(r[col]) == expect[plan].get(col, 0), (r["id"], plan, col, r)
        assert float(r["score"]) == (100.0 if plan == "right" else 97.5)
        assert bool(r["first_wrong"]) is (plan != "right")
    assert rows["s02"]["first_wrong"] == "'Step 1'!C20 E_o1"  # the term with no ½
    wb = openpyxl.load_workbook(subs / "gradebook.xlsx")
    ws = wb["Gradebook"]
    assert ws.max_row == N + 2 and [ws.cell(r, 1).value for r in range(2, 5)] == ["notes", "s01", "s02"]
    assert ws["B3"].value == "学生 1" and ws["E3"].value == 100 and ws["E4"].value == 97.5
    # a graded copy per student to hand back, in graded/, none beside the submissions
    assert not [f for f in os.listdir(subs) if f.endswith(".graded.xlsx")]
    assert sorted(os.listdir(subs / "graded")) == [f"s{i + 1:02d}.graded.xlsx" for i in range(N)]
    half = openpyxl.load_workbook(subs / "graded" / "s02.graded.xlsx")["Step 1"]["C20"]
    assert half.fill.fgColor.rgb.endswith("FFC7CE") and "½" in half.comment.text
    right = openpyxl.load_workbook(subs / "graded" / "s01.graded.xlsx")["Step 1"]["C20"]
    assert right.fill.fgColor.rgb.endswith("C6EFCE")


def test_students_with_their_own_data(tmp_path):
    """--vary data: Mazur's inputs 0.05 and 0.10 move by whole hundredths (at most 0.05), the
    weights and targets stay; every student's key is the run on the student's own inputs."""
    roster = tmp_path / "roster.csv"
    roster.write_text("id\n" + "".join(f"p{i}\n" for i in range(8)), encoding="utf-8")
    out = tmp_path / "ex"
    result = run("exercise", "mazur", "--students", roster, "-o", out, "--vary", "data")
    assert result.exit_code == 0, result.stderr
    mazur = sheetnet.example("mazur")
    seen = set()
    for i in range(8):
        book = open_book(str(out / f"p{i}.xlsx"))
        x = book.spec.data.inputs
        d = x - mazur.data.inputs
        assert np.all(np.abs(d) <= 0.05 + 1e-12) and np.allclose(d * 100, np.round(d * 100))
        assert np.array_equal(book.spec.data.targets, mazur.data.targets)
        assert np.array_equal(Model(book.spec).params.theta, Model(mazur).params.theta)
        key = open_book(str(out / "key" / f"p{i}.xlsx"))
        assert np.array_equal(key.spec.data.inputs, x)
        # the key's run is the network's on these inputs: its loss worked out here by hand
        h = 1 / (1 + np.exp(-(x[0] @ np.array([[.15, .25], [.20, .30]]) + .35)))
        o = 1 / (1 + np.exp(-(h @ np.array([[.40, .50], [.45, .55]]) + .60)))
        assert np.isclose(sheetnet.train(key.spec).loss[0], 0.5 * np.sum((o - mazur.data.targets[0]) ** 2), rtol=1e-12)
        seen.add(tuple(x[0]))
    assert len(seen) >= 6  # 121 pairs of inputs to draw from


@pytest.mark.parametrize("args, words", [
    (["exercise", "digits01", "--vary", "data"], "0 or 1"),
    (["exercise", "mazur", "--vary", "bias"], "unknown part 'bias'"),
    (["exercise", "mazur", "--vary", " , "], "weights, data or both"),
])
def test_bad_vary(tmp_path, args, words):
    roster = tmp_path / "r.csv"
    roster.write_text("id\ns1\n", encoding="utf-8")
    out = tmp_path / "out"
    result = run(*args, "--students", roster, "-o", out)
    assert_one_line_error(result, "--vary", words)
    assert not out.exists()


def test_vary_needs_students(tmp_path):
    result = run("exercise", "mazur", "--vary", "data", "-o", tmp_path / "ex.xlsx")
    assert_one_line_error(result, "--vary", "--students")
    assert not (tmp_path / "ex.xlsx").exists()


def test_bad_roster_rows(tmp_path):
    cases = {
        "id,name\ns1,Ann\ns 2,Bo\n": "row 3",
        "id,name\ns1,Ann\nS1,Bo\n": "row 3",
        "id,name\ns1,Ann,extra\n": "row 2",
        "name\nAnn\n": "row 1",
        "id,name\n": "no students",
    }
    for text, words in cases.items():
        roster = tmp_path / "r.csv"
        roster.write_text(text, encoding="utf-8")
        out = tmp_path / "out"
        result = run("exercise", "mazur", "--students", roster, "-o", out)
        assert_one_line_error(result, "r.csv", words)
        assert not out.exists()
