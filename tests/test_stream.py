"""How cells are written: formula templates and the streamed rows of sheet/stream.py.

* ``FormulaTemplates`` (a formula built once per block item, its references filled in per
  step) gives exactly the text ``StepFormulas`` builds with cell references, for every
  cell of every kind of run: both layouts, batches with a short last one, conv + pooling,
  every optimizer, a continued run (optimizer state from the Parameters sheet).
* ``write_row`` writes what openpyxl reads back: numbers to the last bit, strings with
  XML specials, control characters and edge spaces, formulas with their cached values,
  blank cells with a format; rows out of order are refused.
* The package is valid Office Open XML: the parts pass the ECMA-376 schemas (openxml-audit,
  a port of Microsoft's Open XML SDK validator), and every sheet's rows and cells are in
  strictly increasing order with their own row number (which the schema cannot say).
"""

from __future__ import annotations

import re
import zipfile

import numpy as np
import openpyxl
import pytest
import xlsxwriter

import sheetnet
from sheetnet.compare import runs
from sheetnet.engine import Start
from sheetnet.engine.training import Model
from sheetnet.sheet import write_workbook
from sheetnet.sheet.formulas import StepFormulas
from sheetnet.sheet.layout import choose_layout
from sheetnet.sheet.refs import CellRefs
from sheetnet.sheet.stream import FastWorksheet
from sheetnet.sheet.templates import FormulaTemplates


def _traces():
    out = {"digits01": sheetnet.train(sheetnet.example("digits01")),
           "cnn123": sheetnet.train(sheetnet.example("cnn123").with_train(epochs=2))}
    iris = sheetnet.example("iris").with_train(epochs=1, batch_size=32)  # 150 = 4 × 32 + 22: a short last batch
    out["iris"] = sheetnet.train(iris)
    for name, spec in runs(sheetnet.example("optimizers"), epochs=3).items():
        out[name] = sheetnet.train(spec)
    adam = [s for n, s in runs(sheetnet.example("optimizers"), epochs=2).items() if n == "adam"][0]
    first = sheetnet.train(adam)
    out["adam continued"] = sheetnet.train(adam, start=Start(theta=first.final_theta, state=first.final_state,
                                                             step=first.n_steps, epoch=2))
    return out


@pytest.fixture(scope="module")
def traces():
    return _traces()


@pytest.mark.parametrize("layout", ["steps", "compact"])
def test_templates_give_the_formulas_built_with_references(traces, layout):
    checked = 0
    for name, trace in traces.items():
        model = Model(trace.spec)
        lay = choose_layout(model, trace.steps, trace.orders, layout, start=trace.start)
        refs = CellRefs(lay)
        built, templates = StepFormulas(model, refs), FormulaTemplates(model, lay)
        steps = sorted({0, 1, 2, lay.n_steps - 2, lay.n_steps - 1} & set(range(lay.n_steps)))
        for k in steps:
            refs.step = k
            for cell, kind, layer, item, pos in lay.step_cells(k):
                want = built.formula(kind, layer, item, k, pos)
                assert templates.formula(kind, layer, item, k, pos) == want, (name, layout, k, cell)
                checked += 1
    assert checked > 10_000


# ---------------------------------------------------------------------------------- write_row
STRINGS = ["a & b < c > d", " leading", "trailing ", "tab\there", "bell\x07", "_x0041_ literal", "中文 δ"]


def _written(tmp_path, rows, name="t.xlsx"):
    path = tmp_path / name
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("S", worksheet_class=FastWorksheet)
    fmt = wb.add_format({"num_format": "0.000", "bold": True})
    ws.write_string(0, 0, "written by XlsxWriter itself")
    for row, cells in rows(fmt):
        ws.write_row(row, cells)
    ws.write_number(100, 0, 7.5)  # XlsxWriter again, below
    ref = wb.add_worksheet("XlsxWriter")  # the reference: the same strings by XlsxWriter's own path
    for c, s in enumerate(STRINGS):
        ref.write_string(0, c, s)
    wb.close()
    return path


def test_write_row_round_trips_numbers_strings_formulas_and_blanks(tmp_path):
    rng = np.random.default_rng(3)
    numbers = [float(x) for x in rng.standard_normal(200) * 10.0 ** rng.integers(-300, 300, 200)]
    numbers += [0.1 + 0.2, 1 / 3, 5e-324, 1.7976931348623157e308, -0.0, 2.0 ** 60]

    def rows(fmt):
        yield 2, [(c, x, None, None) for c, x in enumerate(numbers)]
        yield 3, [(c, s, None, fmt if c % 2 else None) for c, s in enumerate(STRINGS)]
        yield 5, [(0, 0.5, "IF(B6<>0,B6*2,0)", fmt), (1, 3.0, None, None), (2, None, None, fmt), (3, None, None, None)]

    path = _written(tmp_path, rows)
    ws = openpyxl.load_workbook(path)["S"]
    assert ws["A1"].value == "written by XlsxWriter itself"
    assert [ws.cell(3, c + 1).value for c in range(len(numbers))] == numbers
    # as XlsxWriter writes them (control characters as _xHHHH_, which Excel decodes and openpyxl does not)
    reference = openpyxl.load_workbook(path)["XlsxWriter"]
    assert [ws.cell(4, c + 1).value for c in range(len(STRINGS))] == [reference.cell(1, c + 1).value
                                                                      for c in range(len(STRINGS))]
    assert ws["A4"].value == STRINGS[0] and ws["B4"].value == " leading" and ws["G4"].value == "中文 δ"
    assert ws["A6"].value == "=IF(B6<>0,B6*2,0)" and ws["A6"].number_format == "0.000" and ws["A6"].font.b
    assert ws["C6"].number_format == "0.000" and ws["C6"].value is None
    assert ws["A101"].value == 7.5
    cached = openpyxl.load_workbook(path, data_only=True)["S"]
    assert cached["A6"].value == 0.5


def test_write_row_refuses_rows_out_of_order(tmp_path):
    def rows(fmt):
        yield 4, [(0, 1.0, None, None)]
        yield 3, [(0, 2.0, None, None)]

    with pytest.raises(ValueError, match="row 4 of S is written out of order"):
        _written(tmp_path, rows)


# ---------------------------------------------------------------------------------- validity
def _check_order(path):
    """Rows strictly increasing, cells strictly increasing in their own row, on every sheet."""
    cell = re.compile(r'<c r="([A-Z]+)(\d+)"')
    with zipfile.ZipFile(path) as z:
        for part in (n for n in z.namelist() if n.startswith("xl/worksheets/sheet")):
            xml = z.read(part).decode()
            last_row = 0
            for m in re.finditer(r'<row r="(\d+)"[^>]*?(/>|>(.*?)</row>)', xml):
                r = int(m.group(1))
                assert r > last_row, (path, part, r)
                last_row, last_col = r, (0, "")
                for col, row in cell.findall(m.group(3) or ""):
                    assert int(row) == r, (part, col, row)
                    key = (len(col), col)
                    assert key > last_col, (part, col, row)
                    last_col = key


@pytest.mark.parametrize("example,layout", [("mazur", "steps"), ("mazur", "compact"), ("cnn123", "steps")])
def test_the_package_is_valid_open_xml(tmp_path, traces, example, layout):
    from openxml_audit import OpenXmlValidator
    trace = traces["cnn123"] if example == "cnn123" else sheetnet.train(sheetnet.example(example))
    path = tmp_path / f"{example}-{layout}.xlsx"
    write_workbook(trace, str(path), layout=layout)
    result = OpenXmlValidator().validate(str(path))
    schema = [e for e in result.errors if "inline-string" not in str(e)]  # a note that Excel converts them on save
    assert result.is_valid and not schema, schema[:5]
    _check_order(path)


def test_the_checks_catch_a_broken_sheet(tmp_path):
    """The two checks above fail on a sheet with a foreign element and one with a repeated row."""
    from openxml_audit import OpenXmlValidator
    good = tmp_path / "good.xlsx"
    write_workbook(sheetnet.train(sheetnet.example("mazur")), str(good), layout="steps")
    with zipfile.ZipFile(good) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    sheet = "xl/worksheets/sheet5.xml"
    xml = parts[sheet].decode()
    row = re.search(r'<row r="6".*?</row>', xml).group(0)
    for name, broken in (("element", xml.replace("<f>", "<g/><f>", 1)), ("row", xml.replace(row, row + row, 1))):
        path = tmp_path / f"{name}.xlsx"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for n, data in parts.items():
                z.writestr(n, broken.encode() if n == sheet else data)
        if name == "element":
            assert not OpenXmlValidator().validate(str(path)).is_valid
        else:
            with pytest.raises(AssertionError):
                _check_order(path)
