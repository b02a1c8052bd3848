"""`sheetnet audit` on tampered workbooks, unusable input, and the safety of reading:
a changed formula, a constant pasted over a formula, a stale value and a wrong input are
found (the first finding names the cell and the kind); unusable files are one line and
exit 2; nothing read is ever modified; archives that expand absurdly are refused; macros
are data.

Expected numbers come from ``sheetnet.train``, from LibreOffice, or from arithmetic here.
"""

from __future__ import annotations

import copy
import os
import struct
import zipfile

import openpyxl
import pytest

import sheetnet
from corpus import make
from roundtrip_util import (assert_one_line_error, fingerprint, one_json, run, run_json, set_cells, spec_of,
                            stored, zip_set_values)
from sheetnet.book.cells import sheet_paths
from sheetnet.engine import Model
from sheetnet.sheet.layout import Sheets, choose_layout
from sheetnet.book.recalc import recalc_files
from sheetnet.sheet import write_workbook

FINDING_KEYS = {"sheet", "cell", "name", "kind", "expected_value", "found_value", "expected_formula",
                "found_formula", "where", "rel_error", "equation", "step", "hint"}
SPECS = {"steps": dict(n=3, batch_size=2, epochs=2, optimizer="adam", lr=0.05, seed=21),
         "compact": dict(n=3, epochs=12, optimizer="rmsprop", lr=0.01, seed=22)}


def a1(cell):
    from openpyxl.utils import get_column_letter
    return f"{get_column_letter(cell.col + 1)}{cell.row + 1}"


def quoted(sheet):
    return f"'{sheet}'" if " " in sheet else sheet


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    """A clean workbook per layout and tampered copies: edited with openpyxl, then opened and
    saved by LibreOffice (one start for all), so every stored value follows the tampering."""
    folder = tmp_path_factory.mktemp("audit")
    out, to_recalc = {}, []
    for layout, kw in SPECS.items():
        spec = spec_of(make(**kw), layout)
        trace = sheetnet.train(spec)
        path = str(folder / f"{layout}.xlsx")
        write_workbook(trace, path, layout=layout)
        lay = choose_layout(Model(spec), trace.steps, trace.orders, layout)
        b = dict(spec=spec, trace=trace, lay=lay, path=path, tampered={})
        # a formula changed on the second step; a constant over a formula on the first
        f_cell = lay.cell("net", 1, 0, 1, 0)
        formula = openpyxl.load_workbook(path)[f_cell.sheet][a1(f_cell)].value
        assert formula.startswith("=")
        b["tampered"]["formula"] = (f_cell, formula + "+0.01")
        c_cell = lay.cell("out", 0, 1, 0, 1 if lay.max_batch > 1 else 0)
        b["tampered"]["constant"] = (c_cell, 0.5)
        if layout == "steps":  # a step's input pointing at the wrong row of the Data sheet
            i_cell = lay.cell("in", None, 0, 0, 0)
            wrong = lay.sheets.data("in", 2, 0)
            b["tampered"]["input-ref"] = (i_cell, f"=Data!{a1(wrong)}")
        for what, (cell, value) in b["tampered"].items():
            p = set_cells(path, str(folder / f"{layout}-{what}.xlsx"), {cell: value})
            to_recalc.append(((layout, what), p))
        to_recalc.append(((layout, "clean"), path))
        out[layout] = b
    outs = recalc_files([p for _, p in to_recalc], str(folder / "lo"))
    for ((layout, what), _), lo in zip(to_recalc, outs):
        out[layout].setdefault("lo", {})[what] = lo
    return out


def audit_json(path):
    result = run("audit", path, "--json")
    assert result.exit_code in (0, 1), (result.stderr, result.exception)
    got = one_json(result.stdout)
    assert set(got) >= {"ok", "findings"}
    assert got["ok"] is (result.exit_code == 0) and got["ok"] is (not got["findings"])
    for f in got["findings"]:
        assert set(f) == FINDING_KEYS
        assert f["where"] == f"{quoted(f['sheet'])}!{f['cell']}"
    return result.exit_code, got["findings"]


def engine_value(trace, kind, layer, item, step, pos):
    e, lo, _ = trace.steps[step]
    arrays = {"net": trace.z, "out": trace.a, "delta": trace.delta}[kind]
    return arrays[layer][e, lo + pos, item]


# --------------------------------------------------------------------------- clean
@pytest.mark.parametrize("layout", SPECS)
def test_a_clean_workbook_passes(books, layout):
    b = books[layout]
    for path in (b["path"], b["lo"]["clean"]):  # as written, and as LibreOffice saved it
        code, findings = audit_json(path)
        assert code == 0 and findings == []
        text = run("audit", path)
        assert text.exit_code == 0 and "every formula and value is what sheetnet computes" in text.stdout


# --------------------------------------------------------------------------- tampered
@pytest.mark.parametrize("layout", SPECS)
def test_a_changed_formula_is_the_first_finding(books, layout):
    b = books[layout]
    cell, text = b["tampered"]["formula"]
    code, findings = audit_json(b["lo"]["formula"])
    assert code == 1
    first = findings[0]
    assert (first["sheet"], first["cell"], first["kind"]) == (cell.sheet, a1(cell), "formula")
    assert first["found_formula"].replace(" ", "") == text[1:]
    assert first["expected_formula"] + "+0.01" == text[1:]
    want = engine_value(b["trace"], "net", 1, 0, 1, 0)
    assert first["expected_value"] == pytest.approx(want, rel=1e-12)
    assert first["found_value"] == pytest.approx(want + 0.01, rel=1e-9)  # LibreOffice computed it
    assert len(findings) > 1  # everything after it follows from it
    out = run("audit", b["lo"]["formula"])
    assert out.exit_code == 1
    lines = out.stdout.splitlines()
    assert "cell(s) differ" in lines[0]
    assert lines[1].startswith(f"likely root cause: {quoted(cell.sheet)}!{a1(cell)}") and "formula was changed" in lines[1]


@pytest.mark.parametrize("layout", SPECS)
def test_a_constant_pasted_over_a_formula_is_the_first_finding(books, layout):
    b = books[layout]
    cell, value = b["tampered"]["constant"]
    code, findings = audit_json(b["lo"]["constant"])
    assert code == 1
    first = findings[0]
    assert (first["sheet"], first["cell"], first["kind"]) == (cell.sheet, a1(cell), "constant")
    assert first["found_value"] == value and first["found_formula"] is None
    pos = 1 if b["lay"].max_batch > 1 else 0
    assert first["expected_value"] == pytest.approx(engine_value(b["trace"], "out", 0, 1, 0, pos), rel=1e-12)
    out = run("audit", b["lo"]["constant"])
    assert out.stdout.splitlines()[1].startswith(f"likely root cause: {quoted(cell.sheet)}!{a1(cell)}")
    assert "a constant overwrote the formula" in out.stdout.splitlines()[1]


def test_an_input_read_from_the_wrong_data_row_is_the_first_finding(books):
    b = books["steps"]
    cell, text = b["tampered"]["input-ref"]
    code, findings = audit_json(b["lo"]["input-ref"])
    assert code == 1
    first = findings[0]
    assert (first["sheet"], first["cell"], first["kind"]) == (cell.sheet, a1(cell), "formula")
    data = b["spec"].data.inputs
    assert first["expected_value"] == data[0, 0] and first["found_value"] == data[2, 0]


@pytest.mark.parametrize("layout", SPECS)
def test_a_stale_value_is_found_where_it_is(books, tmp_path, layout):
    """One stored value changed in the file's XML: only that cell differs."""
    b = books[layout]
    lay, trace = b["lay"], b["trace"]
    cell = lay.cell("delta", 0, 1, 1, 0)
    want = engine_value(trace, "delta", 0, 1, 1, 0)
    bad = want * 1.5 + 0.25
    path = zip_set_values(b["path"], str(tmp_path / "stale.xlsx"), {cell: bad})
    assert stored(path, cell)[0]  # the formula is still there
    code, findings = audit_json(path)
    assert code == 1 and len(findings) == 1
    f = findings[0]
    assert (f["sheet"], f["cell"], f["kind"]) == (cell.sheet, a1(cell), "value")
    assert f["found_value"] == bad and f["expected_value"] == pytest.approx(want, rel=1e-15)
    assert f["rel_error"] == pytest.approx(abs(bad - want) / abs(want), rel=1e-9)


@pytest.mark.parametrize("layout", SPECS)
def test_a_wrong_input_with_old_values_is_found_at_its_first_use(books, tmp_path, layout):
    """A data value changed while every stored value stays the old run's."""
    b = books[layout]
    lay, spec = b["lay"], b["spec"]
    new = 0.8125
    path = zip_set_values(b["path"], str(tmp_path / "input.xlsx"), {lay.sheets.data("in", 0, 0): new})
    code, findings = audit_json(path)
    assert code == 1
    first = findings[0]
    if layout == "steps":  # the step copies its inputs: the copy is the first value that differs
        cell = lay.cell("in", None, 0, 0, 0)
        assert first["expected_value"] == new and first["found_value"] == spec.data.inputs[0, 0]
    else:  # the compact layout reads the Data sheet directly: the first net input that uses it
        cell = lay.cell("net", 0, 0, 0, 0)
        d = make(**SPECS[layout])
        d["data"]["inputs"][0][0] = new
        edited = sheetnet.train(spec_of(d))
        assert first["expected_value"] == pytest.approx(edited.z[0][0, 0, 0], rel=1e-15)
    assert (first["sheet"], first["cell"], first["kind"]) == (cell.sheet, a1(cell), "value")


# --------------------------------------------------------------------------- unusable input
def _mazur_book(folder):
    path = os.path.join(folder, "mazur.xlsx")
    if not os.path.exists(path):
        write_workbook(sheetnet.train(sheetnet.example("mazur")), path)
    return path


SHEETS = Sheets(Model(sheetnet.example("mazur")))
BAD_CELLS = {
    "eta-text": (SHEETS.setting("lr"), "abc", "expected a number"),
    "eta-error": (SHEETS.setting("lr"), "#DIV/0!", "#DIV/0!"),
    "eta-empty": (SHEETS.setting("lr"), None, "empty"),
    "eta-negative": (SHEETS.setting("lr"), -0.5, "> 0"),
    "momentum-text": (SHEETS.setting("momentum"), "0.9x", "expected a number"),
    "data-text": (SHEETS.data("t", 0, 1), "high", "expected a number"),
    "data-error": (SHEETS.data("in", 0, 0), "#VALUE!", "#VALUE!"),
    "param-error": (SHEETS.param(3), "#N/A", "#N/A"),
    "param-bool": (SHEETS.param(0), True, "expected a number"),
}


@pytest.mark.parametrize("case", BAD_CELLS)
@pytest.mark.parametrize("command", ["audit", "read", "resume"])
def test_a_text_or_error_where_a_number_belongs_is_one_line(tmp_path, case, command):
    cell, value, words = BAD_CELLS[case]
    path = set_cells(_mazur_book(str(tmp_path)), str(tmp_path / "bad.xlsx"), {cell: value})
    args = {"audit": ["--json"], "read": ["--json"], "resume": ["-o", tmp_path / "next.xlsx"]}[command]
    result = run(command, path, *args)
    assert_one_line_error(result, "bad.xlsx", f"sheet '{cell.sheet}'", f"cell {a1(cell)}", words)
    assert not (tmp_path / "next.xlsx").exists()


def test_files_that_are_not_sheetnet_workbooks_are_one_line(tmp_path):
    text = tmp_path / "notes.xlsx"
    text.write_text("not a workbook\n")
    plain = tmp_path / "plain.xlsx"
    wb = openpyxl.Workbook()
    wb.active["A1"] = 1.5
    wb.save(plain)
    damaged = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(_mazur_book(str(tmp_path))) as z:
        settings = dict(sheet_paths(z))["Settings"]
        cut = z.read(settings)
    _copy_with(_mazur_book(str(tmp_path)), damaged, {settings: cut[: len(cut) // 2]})  # cut off mid-XML
    for path, words in ((text, "not an .xlsx file"), (plain, "not a sheetnet workbook"),
                        (damaged, "damaged"), (tmp_path / "missing.xlsx", "no such file")):
        for command in ("audit", "read"):
            assert_one_line_error(run(command, path, "--json"), path.name, words)


# --------------------------------------------------------------------------- safety
def test_audit_and_read_never_modify_the_file(books, tmp_path):
    paths = [books["steps"]["path"], books["compact"]["lo"]["clean"], books["steps"]["lo"]["formula"]]
    stale = zip_set_values(books["steps"]["path"], str(tmp_path / "stale.xlsx"),
                           {books["steps"]["lay"].sheets.data("in", 0, 0): 0.5})
    for path in [*paths, stale]:
        folder = os.path.dirname(path)
        before, listing = fingerprint(path), sorted(os.listdir(folder))
        for args in (["audit", path], ["audit", path, "--json"], ["read", path, "--json"], ["read", path],
                     ["read", path, "--spec", tmp_path / "out.toml"]):
            result = run(*args)
            assert result.exit_code in (0, 1), (args, result.stderr)
            assert fingerprint(path) == before, args
        assert sorted(os.listdir(folder)) == listing  # nothing written beside it


def _copy_with(src, dst, extra: dict, compress=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w", compress) as out:
        for info in z.infolist():
            out.writestr(copy.copy(info), extra.pop(info.filename, z.read(info.filename)))
        for name, data in extra.items():
            out.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return dst


def test_a_member_that_expands_hugely_is_refused(tmp_path):
    bomb = _copy_with(_mazur_book(str(tmp_path)), tmp_path / "bomb.xlsx",
                      {"xl/media/image1.bin": b"\0" * (48 * 1024 * 1024)})
    assert os.path.getsize(bomb) < 200_000  # 48 MB from almost nothing
    for command in ("audit", "read"):
        assert_one_line_error(run(command, bomb, "--json"), "bomb.xlsx", "refusing to unpack")
    assert_one_line_error(run("resume", bomb, "-o", tmp_path / "n.xlsx"), "refusing to unpack")


def test_a_member_that_lies_about_its_size_is_refused(tmp_path):
    """The headers say 4 kB; the data expands to 32 MB."""
    src = _mazur_book(str(tmp_path))
    with zipfile.ZipFile(src) as z:
        member = dict(sheet_paths(z))["Settings"]
        padded = z.read(member) + b" " * (32 * 1024 * 1024)
    liar = tmp_path / "liar.xlsx"
    _copy_with(src, liar, {member: padded})
    raw = bytearray(liar.read_bytes())
    info = zipfile.ZipFile(liar).getinfo(member)
    fake = struct.pack("<I", 4096)
    assert raw[info.header_offset:info.header_offset + 4] == b"PK\x03\x04"
    raw[info.header_offset + 22:info.header_offset + 26] = fake  # local header: uncompressed size
    i = raw.find(b"PK\x01\x02")
    while i != -1:  # central directory
        n = struct.unpack("<H", raw[i + 28:i + 30])[0]
        if raw[i + 46:i + 46 + n].decode() == member:
            raw[i + 24:i + 28] = fake
        i = raw.find(b"PK\x01\x02", i + 4)
    liar.write_bytes(bytes(raw))
    assert zipfile.ZipFile(liar).getinfo(member).file_size == 4096
    for command in ("audit", "read"):
        assert_one_line_error(run(command, liar, "--json"), "liar.xlsx")


def test_xml_entities_are_refused(tmp_path):
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
              b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&lol2;</t></si></sst>')
    path = _copy_with(_mazur_book(str(tmp_path)), tmp_path / "lol.xlsx", {"xl/sharedStrings.xml": laughs})
    for command in ("audit", "read"):
        assert_one_line_error(run(command, path, "--json"), "lol.xlsx")


def test_an_xlsm_with_a_macro_project_is_read_as_data(tmp_path):
    src = _mazur_book(str(tmp_path))
    xlsm = _copy_with(src, tmp_path / "macro.xlsm", {"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0" + bytes(range(256)) * 8})
    before = fingerprint(xlsm)
    want = run_json(sheetnet.train(sheetnet.example("mazur")))
    got = one_json(run("read", xlsm, "--json").stdout)
    assert got["recomputed"] is False
    assert got["losses"] == want["losses"] and got["layers"] == want["layers"]
    assert run("audit", xlsm).exit_code == 0
    nxt = tmp_path / "next.xlsx"
    assert run("resume", xlsm, "-o", nxt).exit_code == 0
    with zipfile.ZipFile(nxt) as z:
        assert not any("vba" in n.lower() for n in z.namelist())
    assert fingerprint(xlsm) == before
    assert sorted(os.listdir(tmp_path)) == ["macro.xlsm", "mazur.xlsx", "next.xlsx"]
