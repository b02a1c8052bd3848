"""An exercise gives nothing away: no cell outside the empty answer cells caches a value that
depends on an answer (LibreOffice shows the file as stored, without recalculating, and no
answer appears anywhere), and every engine's recalculation of the file as given equals the
values it caches.  Plus what a student's self-check prints, and the scope options.

The answers are the engine's values of the answer cells (``sheetnet.train``); LibreOffice
(CSV export without recalculation, and recalculation) and Gnumeric are the references.
"""

from __future__ import annotations

import csv
import io
import os

import numpy as np
import pytest

import sheetnet
from roundtrip_util import assert_one_line_error, one_json, run
from sheetnet.book.cells import read_cells
from sheetnet.book.check import compare
from sheetnet.book.recalc import csv_files, recalc_files
from sheetnet.engine import Model
from sheetnet.sheet.layout import EXERCISE_SECTIONS, choose_layout
from sheetnet.sheet.values import StepValues

KINDS = {k for part in EXERCISE_SECTIONS.values() for k in part}
CASES = {  # name: (example, extra arguments)
    "mazur": ("mazur", []), "mazur-2": ("mazur", ["--steps", "2"]), "xor-3": ("xor", ["--steps", "3"]),
    "digits01": ("digits01", []), "iris-2": ("iris", ["--steps", "2"]), "cnn123": ("cnn123", []),
    "backward-2": ("mazur", ["--steps", "2", "--blank", "backward"]),  # gradients from blank deltas
}


def answers_of(example, n_steps):
    """{(sheet, row, col): engine value} of every answer cell of the first ``n_steps`` steps."""
    spec = sheetnet.example(example)
    per_epoch = len(sheetnet.train(spec.with_train(epochs=1)).steps)
    spec = spec.with_train(epochs=-(-n_steps // per_epoch))
    trace = sheetnet.train(spec)
    model = Model(spec)
    lay = choose_layout(model, trace.steps, trace.orders, "steps")
    out = {}
    for k in range(lay.n_steps):
        vals = StepValues(trace, model, k)
        for cell, kind, layer, item, pos in lay.step_cells(k):
            if kind in KINDS:
                out[(cell.sheet, cell.row, cell.col)] = float(vals.get(kind, layer, item, pos))
    return out


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    folder = tmp_path_factory.mktemp("leaks")
    paths = {}
    for name, (example, args) in CASES.items():
        path = str(folder / f"{name}.xlsx")
        result = run("exercise", example, "-o", path, *args)
        assert result.exit_code == 0, result.stderr
        paths[name] = path
    shown = csv_files(list(paths.values()), str(folder / "csv"))
    lo = dict(zip(paths, recalc_files(list(paths.values()), str(folder / "lo"))))
    small = [n for n in paths if n != "cnn123"]  # Gnumeric starts once per file
    gn = dict(zip(small, recalc_files([paths[n] for n in small], str(folder / "gn"), engine="gnumeric")))
    return paths, shown, lo, gn


def _numbers(text):
    for row in csv.reader(io.StringIO(text)):
        for field in row:
            try:
                yield float(field)
            except ValueError:
                pass


@pytest.mark.parametrize("name", CASES)
def test_no_answer_is_shown_without_recalculation(books, name):
    paths, shown, _, _ = books
    example, args = CASES[name]
    n_steps = int(args[args.index("--steps") + 1]) if "--steps" in args else 1
    answers = answers_of(example, n_steps)
    if "--blank" in args:
        blank = {k for part in args[args.index("--blank") + 1].split(",") for k in EXERCISE_SECTIONS[part]}
        cells = read_cells(paths[name])
        answers = {c: v for c, v in answers.items() if cells.get(c[0], {}).get(c[1:], (None, None)) == (None, None)}
        assert answers and blank
    # an answer equal to a number the student is given (a frozen bias keeps its start) proves nothing
    given = {v for sheet in read_cells(paths[name]).values() for f, v in sheet.values()
             if f is None and isinstance(v, float)}
    secret = sorted({round(v, 9) for v in answers.values()  # shown to 9 decimals: tiny ones look like 0
                     if abs(v) >= 1e-6 and not any(abs(v - g) <= 1e-9 + 1e-8 * abs(g) for g in given)})
    assert len(secret) >= 8  # 4 deltas a step, at least
    secret = np.array(secret)
    for sheet, text in shown[paths[name]].items():
        for x in _numbers(text):
            near = np.abs(secret - x) <= 1e-9 + 1e-8 * np.abs(secret)
            assert not near.any(), (name, sheet, x, secret[near][:3])


@pytest.mark.parametrize("name", CASES)
def test_every_engine_computes_what_the_exercise_caches(books, name):
    paths, _, lo, gn = books
    for engine, out in (("LibreOffice", lo), ("Gnumeric", gn)):
        if name not in out:
            continue
        n, bad = compare(paths[name], out[name])
        assert n > 0 and not bad, (engine, [str(b) for b in bad[:5]])


def test_history_and_the_next_step_wait_for_the_answers(books):
    paths = books[0]
    cells = read_cells(paths["mazur-2"])
    loss = cells["Losses"][(3, 2)]
    assert loss[0].startswith("IF(COUNT(") and loss[1] == ""
    # Step 2 starts from Step 1's updated weights: empty until they are answered
    p0 = [v for (r, c), (f, v) in cells["Step 2"].items() if f and "'Step 1'!" in f]
    assert p0 and all(v == "" for v in p0)


def test_a_blank_exercise_check_shows_no_expected_value(books):
    path = books[0]["mazur"]
    answers = answers_of("mazur", 1)
    for args in ([], ["--json"]):
        result = run("audit", path, *args)
        assert result.exit_code == 1
        assert "expected" not in result.stdout.replace('"expected": null', "")
        for v in answers.values():
            if abs(v) > 1e-3 and v not in (0.35, 0.6):
                assert f"{v:.4f}"[:-1] not in result.stdout, v
    assert "not answered" in run("audit", path).stdout
    got = one_json(run("audit", path, "--json", "--teacher").stdout)
    assert all(isinstance(a["expected"], float) for a in got["answers"])


def test_scope_one_sample_one_layer_some_quantities(tmp_path):
    def count(*args):
        path = tmp_path / "scope.xlsx"
        result = run("exercise", "cnn123", "-o", path, *args)
        assert result.exit_code == 0, result.stderr
        got = one_json(run("audit", path, "--json").stdout)
        return got["answers"]

    everything = count()
    one = count("--sample", "1")
    assert 0 < len(one) < len(everything) / 10
    assert {a["quantity"]["sample"] for a in one} == {1}
    out_layer = count("--layer", "3", "--quantities", "delta,updated")
    assert {a["quantity"]["kind"] for a in out_layer} == {"delta", "p1"}
    assert {a["quantity"]["layer"] for a in out_layer if a["quantity"]["kind"] == "delta"} == {2}
    spec = sheetnet.example("cnn123")
    n_out = spec.layers[-1].size
    P = Model(spec).params
    assert len(out_layer) == 15 * n_out + (P.slices[-1].stop - P.slices[-1].start)
    for bad, word in ((["--sample", "16"], "--sample"), (["--layer", "4"], "--layer"),
                      (["--quantities", "nett"], "nett")):
        assert_one_line_error(run("exercise", "cnn123", "-o", tmp_path / "x.xlsx", *bad), word)
