"""The workbook as a user meets it: published numbers in its cells, edits that recompute,
safe output, Excel's limits."""

from __future__ import annotations

import os
import re
import zipfile

import numpy as np
import openpyxl
import pytest

import sheetnet
from sheetnet.book.cells import read_cells
from sheetnet.engine import Model
from sheetnet.errors import WorkbookError
from sheetnet.sheet.layout import choose_layout
from sheetnet.book.recalc import recalc_files
from sheetnet.sheet import write_workbook


def layout_of(trace, layout):
    return choose_layout(Model(trace.spec), trace.steps, trace.orders, layout)


def value_at(cells, cell):
    return cells[cell.sheet][(cell.row, cell.col)][1]


def test_mazur_published_values_in_the_recalculated_workbook(corpus_books):
    """Mazur's worked example, read from the cells LibreOffice computed."""
    trace = corpus_books.traces["mazur"]
    lay = layout_of(trace, "auto")
    cells = read_cells(corpus_books.recalced("lo")["mazur"])
    labels = trace.params.labels
    published = {("out", 1, 0): 0.75136507, ("out", 1, 1): 0.772928465, ("out", 0, 0): 0.593269992,
                 ("net", 0, 0): 0.3775, ("data_loss", None, 0): 0.298371109}
    for (kind, layer, item), want in published.items():
        got = value_at(cells, lay.cell(kind, layer, item, 0))
        assert f"{got:.9g}" == f"{want:.9g}", (kind, layer, item)
    updated = {"w5": "0.35891648", "w6": "0.408666186", "w7": "0.511301270", "w8": "0.561370121",
               "w1": "0.149780716", "w2": "0.19956143", "w3": "0.24975114", "w4": "0.29950229"}
    for name, want in updated.items():  # as printed, to the digits printed
        got = value_at(cells, lay.cell("p1", None, labels.index(name), 0))
        assert f"{got:.{len(want) - 2}f}" == want, name


def _edited_spec(spec, lr, idx, value):
    """The spec with another learning rate and parameter ``idx`` (flat) set to ``value``."""
    P = Model(spec).params
    theta = P.theta.copy()
    theta[idx] = value
    layers = list(spec.layers)
    import dataclasses
    for l in range(len(P.shapes)):
        layers[l + 1] = dataclasses.replace(layers[l + 1], weights=P.W(theta, l).copy(), biases=P.b(theta, l).copy())
    spec = dataclasses.replace(spec, layers=tuple(layers))
    return spec.with_train(lr=lr)


@pytest.mark.parametrize("name", ["opt-adam", "compact-adam", "batch-mini-short", "cnn-steps"])
def test_editing_eta_and_a_weight_recomputes_the_whole_run(corpus_books, tmp_path, name):
    trace = corpus_books.traces[name]
    spec = trace.spec
    lay = layout_of(trace, corpus_books.layouts[name])
    wb = openpyxl.load_workbook(corpus_books.paths[name])
    eta = lay.sheets.setting("lr")
    new_lr = spec.train.lr * 0.7
    wb[eta.sheet].cell(eta.row + 1, eta.col + 1).value = new_lr
    idx = 1  # the second weight of the first layer
    w = lay.sheets.param(idx)
    new_w = -0.123
    wb[w.sheet].cell(w.row + 1, w.col + 1).value = new_w
    edited = tmp_path / f"{name}.xlsx"
    wb.save(edited)
    out = recalc_files([str(edited)], str(tmp_path / "lo"))[0]
    cells = read_cells(out)
    expect = sheetnet.train(_edited_spec(spec, new_lr, idx, new_w))
    last = trace.n_steps - 1
    got = np.array([value_at(cells, lay.cell("p1", None, i, last)) for i in range(trace.params.size)])
    np.testing.assert_allclose(got, expect.final_theta, rtol=1e-9, atol=1e-12)
    assert not np.allclose(got, trace.final_theta), "the edit changed nothing"


def test_text_from_the_spec_is_written_as_text(tmp_path):
    spec = sheetnet.parse_spec({
        "layers": [{"kind": "input", "size": 2, "names": ["=1+1", "@SUM(A1)"]},
                   {"kind": "dense", "size": 1, "activation": "sigmoid", "names": ["+cmd|' /C calc'!A0"],
                    "weights": [[0.1, 0.2]], "biases": [0.0]}],
        "loss": {"kind": "half_sse"}, "train": {}, "data": {"inputs": [[1, 2]], "targets": [[0.5]]}})
    path = tmp_path / "t.xlsx"
    write_workbook(sheetnet.train(spec), str(path))
    cells = read_cells(str(path))
    texts = {v for sheet in cells.values() for (f, v) in sheet.values() if f is None}
    assert {"=1+1", "@SUM(A1)", "+cmd|' /C calc'!A0"} <= texts
    formulas = [f for sheet in cells.values() for (f, v) in sheet.values() if f]
    assert not any("calc" in f or "1+1" in f for f in formulas)


def test_a_failed_write_leaves_the_previous_file_and_no_part_file(tmp_path, monkeypatch):
    path = tmp_path / "book.xlsx"
    path.write_bytes(b"previous contents")
    from sheetnet.sheet import workbook

    def boom(self):
        raise RuntimeError("disk full")

    monkeypatch.setattr(workbook.Writer, "write", boom)
    with pytest.raises(RuntimeError):
        write_workbook(sheetnet.train(sheetnet.example("mazur")), str(path))
    assert path.read_bytes() == b"previous contents"
    assert os.listdir(tmp_path) == ["book.xlsx"]


def test_too_many_steps_for_excel_stops_before_writing(tmp_path):
    trace = sheetnet.train(sheetnet.example("mazur"))
    steps = [(0, 0, 1)] * 1_100_000
    with pytest.raises(ValueError, match="1,048,576"):
        choose_layout(Model(trace.spec), steps, trace.orders, "compact")


def test_a_layer_too_wide_for_a_formula_is_refused_and_nothing_is_written(tmp_path):
    n = 900
    spec = sheetnet.parse_spec({
        "layers": [{"kind": "input", "size": n}, {"kind": "dense", "size": 1, "activation": "sigmoid"}],
        "loss": {"kind": "half_sse"}, "train": {}, "data": {"inputs": [[0.1] * n], "targets": [[0.5]]}})
    path = tmp_path / "wide.xlsx"
    with pytest.raises(WorkbookError, match="8,192"):
        write_workbook(sheetnet.train(spec), str(path))
    assert os.listdir(tmp_path) == []


def test_steps_layout_has_a_sheet_per_step_and_compact_one_run_sheet(corpus_books):
    with zipfile.ZipFile(corpus_books.paths["opt-adam"]) as z:
        names = z.read("xl/workbook.xml").decode()
    assert all(f'name="Step {k}"' in names for k in (1, 2, 3))
    with zipfile.ZipFile(corpus_books.paths["compact-adam"]) as z:
        names = z.read("xl/workbook.xml").decode()
    assert 'name="Run"' in names and "Step 1" not in names


def test_the_settings_are_named_cells_used_by_the_formulas(corpus_books):
    cells = read_cells(corpus_books.paths["opt-adam"])
    formulas = " ".join(f for sheet in cells.values() for (f, v) in sheet.values() if f)
    for name in ("eta", "beta_1", "beta_2", "eps", "lr_decay"):
        assert name in formulas
    with zipfile.ZipFile(corpus_books.paths["opt-adam"]) as z:
        book = z.read("xl/workbook.xml").decode()
    assert '<definedName name="eta">Settings!$B$4</definedName>' in book


def _formula_texts(path):
    """Every formula of a workbook as written in its sheets' XML (<f> elements)."""
    with zipfile.ZipFile(path) as z:
        for part in z.namelist():
            if part.startswith("xl/worksheets/") and part.endswith(".xml"):
                yield from re.findall(r"<f(?:\s[^>]*)?>([^<]*)</f>", z.read(part).decode("utf-8"))


def test_no_log_only_ln(corpus_books):
    for name, path in corpus_books.paths.items():
        formulas = list(_formula_texts(path))
        assert formulas, name
        assert not any("LOG" in f for f in formulas), name
        assert name != "registry" or any("LN(" in f for f in formulas)


def test_cached_values_are_what_pandas_and_openpyxl_show(corpus_books):
    """A viewer that does not recalculate shows the engine's numbers."""
    trace = corpus_books.traces["mazur"]
    lay = layout_of(trace, "auto")
    wb = openpyxl.load_workbook(corpus_books.paths["mazur"], data_only=True)
    c = lay.cell("out", 1, 0, 0)
    assert wb[c.sheet].cell(c.row + 1, c.col + 1).value == trace.a[1][0, 0, 0]
