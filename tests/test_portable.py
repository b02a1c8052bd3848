"""Workbooks that open everywhere: no sheet name Excel reserves, no defined name any engine
could read as a cell reference, names that are workbook-wide only where runs share a book,
and formulas that use only functions every target spreadsheet has (Excel 2007 built-ins
that Google Sheets, LibreOffice, Gnumeric and WPS all implement).

Checked on the XML of the corpus (every activation, loss, optimizer and setting) and of the
committed gallery, read straight from the packages (no spreadsheet library in between).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from sheetnet.book.cells import read_cells

REPO = Path(__file__).resolve().parents[1]
GALLERY = sorted((REPO / "workbooks").glob("*.xlsx"))

# The audit's list: all Excel 2007 built-ins, all in Google Sheets and WPS.
ALLOWED = {"ABS", "AND", "AVERAGE", "EXP", "IF", "LN", "MAX", "MIN", "SIGN", "SQRT", "SUM", "SUMIF",
           "SUMSQ", "TANH"}
RESERVED_SHEETS = {"history"}  # English Excel refuses to create or rename a sheet so

FUNCTION = re.compile(r"([A-Za-z_][A-Za-z0-9._]*)\(")
STRING = re.compile(r'"[^"]*"')
FORMULA = re.compile(r"<f(?: [^>]*)?>([^<]*)</f>")
SHEET = re.compile(r'<sheet name="([^"]*)"')
DEFINED = re.compile(r'<definedName name="([^"]*)"( localSheetId="\d+")?')


def package(path):
    """(sheet names, [(name, local?)], set of function names) of one .xlsx."""
    with zipfile.ZipFile(path) as z:
        book = z.read("xl/workbook.xml").decode()
        functions = set()
        for member in z.namelist():
            if member.startswith("xl/worksheets/sheet") and member.endswith(".xml"):
                xml = z.read(member).decode()
                for text in FORMULA.findall(xml):
                    functions |= set(FUNCTION.findall(STRING.sub('""', text)))
    names = [(n, bool(local)) for n, local in DEFINED.findall(book)]
    return SHEET.findall(book), names, functions


def reads_as_reference(name: str) -> bool:
    """True if some engine could take ``name`` for a cell reference: letters then digits
    (the OpenDocument rule: any column letters, as engines with wide sheets allow), R1C1
    forms (R, C, R1C2, RC3…), or a logical literal."""
    n = name.upper()
    return bool(re.fullmatch(r"[A-Z]+\d+", n) or re.fullmatch(r"R\d*C?\d*|C\d*", n) or n in ("TRUE", "FALSE"))


@pytest.fixture(scope="module")
def corpus_packages(corpus_books):
    return {name: package(path) for name, path in corpus_books.paths.items() if name != "registry"}


@pytest.fixture(scope="module")
def gallery_packages():
    return {p.stem: package(p) for p in GALLERY}


def test_the_rule_could_fail():
    assert reads_as_reference("beta1") and reads_as_reference("l2") and reads_as_reference("R1C1")
    assert reads_as_reference("rc") and not reads_as_reference("beta_1") and not reads_as_reference("eta")
    assert FUNCTION.findall(STRING.sub('""', 'IF(A1>0,"x(1)",_xlfn.LOGSUMEXP(B2))')) == ["IF", "_xlfn.LOGSUMEXP"]


@pytest.mark.parametrize("where", ["corpus", "gallery"])
def test_formulas_use_only_the_allowed_functions(where, corpus_packages, gallery_packages):
    books = corpus_packages if where == "corpus" else gallery_packages
    assert books
    used = set().union(*(functions for _, _, functions in books.values()))
    assert used - ALLOWED == set(), f"functions outside the allow-list in the {where}"
    assert {"EXP", "SUM", "IF"} <= used  # the scan found formulas at all


@pytest.mark.parametrize("where", ["corpus", "gallery"])
def test_no_reserved_sheet_and_no_name_that_reads_as_a_reference(where, corpus_packages, gallery_packages):
    books = corpus_packages if where == "corpus" else gallery_packages
    for book, (sheets, names, _) in books.items():
        assert not {s.lower() for s in sheets} & RESERVED_SHEETS, book
        bad = [n for n, _ in names if reads_as_reference(n)]
        assert not bad, (book, bad)


def test_every_defined_name_is_workbook_wide_and_unique(corpus_packages, gallery_packages):
    """Google Sheets has workbook-wide named ranges only; XlsxWriter's own _xlnm names
    (print areas, filters) are not settings and are left out."""
    for book, (_, names, _) in {**corpus_packages, **gallery_packages}.items():
        settings = [(n, local) for n, local in names if not n.startswith("_xlnm.")]
        assert settings, book
        assert not [n for n, local in settings if local], book
        assert len({n for n, _ in settings}) == len(settings), book


YVAL_CACHE = re.compile(r"<c:yVal><c:numRef><c:f>([^<]*)</c:f><c:numCache>(.*?)</c:numCache>")
POINT = re.compile(r'<c:pt idx="(\d+)"><c:v>([^<]*)</c:v></c:pt>')


def chart_series(path):
    """{range formula: [cached y values]} of every chart series of a workbook."""
    series = {}
    with zipfile.ZipFile(path) as z:
        for member in z.namelist():
            if member.startswith("xl/charts/chart"):
                for f, cache in YVAL_CACHE.findall(z.read(member).decode()):
                    points = sorted((int(i), float(v)) for i, v in POINT.findall(cache))
                    assert [i for i, _ in points] == list(range(len(points)))
                    series[f] = [v for _, v in points]
    return series


def test_charts_carry_the_losses_as_cached_values(corpus_books):
    """A viewer that does not recalculate draws the chart from these caches."""
    import numpy as np
    for name in ("mazur", "mazur-10k", "opt-adam"):
        series = chart_series(corpus_books.paths[name])
        trace = corpus_books.traces[name]
        losses = {f: v for f, v in series.items() if f.startswith("Losses!")}
        assert set(series) - set(losses) and all(f.startswith(("Epochs!", "Gradients!")) for f in series
                                                 if f not in losses), name
        (cached,) = losses.values()
        np.testing.assert_array_equal(cached, trace.loss, err_msg=name)
        (epoch_losses,) = [v for f, v in series.items() if f.startswith("Epochs!$B$")]
        every = trace.epochs["loss"].to_numpy()
        stride = next(s for s in range(1, len(every) + 1)  # a long run's Epochs sheet: every s-th and the last
                      if len(set(range(0, len(every), s)) | {len(every) - 1}) == len(epoch_losses))
        shown = sorted(set(range(0, len(every), stride)) | {len(every) - 1})
        np.testing.assert_allclose(epoch_losses, every[shown], rtol=1e-12)
        sizes = trace.gradient_sizes.to_numpy()
        for f, v in series.items():
            if f.startswith("Gradients!"):
                column = ord(f.split("$")[1]) - ord("B")  # B: layer 1
                np.testing.assert_allclose(v, sizes[:, column], rtol=1e-12, err_msg=f)


def test_the_comparison_chart_has_every_runs_losses():
    import numpy as np
    path = REPO / "workbooks" / "optimizers.xlsx"
    with zipfile.ZipFile(path) as z:
        sheets = SHEET.findall(z.read("xl/workbook.xml").decode())
    series = chart_series(path)
    runs = [s[: -len(" Losses")] for s in sheets if s.endswith(" Losses")]
    assert len(runs) == 5
    for run in runs:
        (cached,) = [v for f, v in series.items() if f.startswith(f"'{run} Losses'!")]
        loss = [v for (r, c), (_, v) in read_cells(path, sheets=[f"{run} Losses"])[f"{run} Losses"].items()
                if c == 2 and r >= 3]
        assert len(cached) == len(loss) > 100
        np.testing.assert_allclose(cached, loss, rtol=1e-12)


# ------------------------------------------------------------------ no ### (formats against widths)
NUMFMT = re.compile(r'<numFmt numFmtId="(\d+)" formatCode="([^"]*)"/>')
XF = re.compile(r"<xf ([^>]*?)/?>")
COL = re.compile(r'<col min="(\d+)" max="(\d+)" width="([\d.]+)"')
NUMBER_CELL = re.compile(r'<c r="([A-Z]+)\d+"(?: s="(\d+)")?>(?:<f>[^<]*</f>)?<v>([^<]*)</v></c>')
DEFAULT_WIDTH = 8.43  # characters: a column XlsxWriter left alone
SHOWN = {"0.000000000": lambda v: f"{v:.9f}", "0.00000000E+00": lambda v: f"{v:.8E}", "0": lambda v: f"{v:.0f}",
         "0.000000000;-0.000000000;0": lambda v: f"{v:.9f}" if v else "0",
         "0.00000000E+00;-0.00000000E+00;0": lambda v: f"{v:.8E}" if v else "0",
         "General": lambda v: f"{v:.0f}" if v == int(v) else repr(v),
         "0.000;-0.000;0": lambda v: f"{v:.3f}" if v else "0",  # a CNN grid's cell
         "0.0E+0;-0.0E+0;0": lambda v: _short_e(v) if v else "0",  # … of a delta map
         "[=0]0;[=1]0;0.000": lambda v: f"{v:.0f}" if v in (0.0, 1.0) else f"{v:.3f}",
         "0.0%": lambda v: f"{100 * v:.1f}%"}  # an accuracy


def _short_e(v: float) -> str:
    """``v`` as the format 0.0E+0 shows it: -3.7E-4."""
    mantissa, exponent = f"{v:.1E}".split("E")
    return f"{mantissa}E{int(exponent):+d}"


def col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def too_wide(path):
    """(sheet file, cell column, shown text, width) of every number whose text, as its number
    format shows it, has more characters than its column is wide.  Stricter than LibreOffice
    (which fits a digit or two more, as "-" and "." are narrow): 253 cells of the old
    digits01 against its 80 ###."""
    out = []
    with zipfile.ZipFile(path) as z:
        styles = z.read("xl/styles.xml").decode()
        codes = dict(NUMFMT.findall(styles))
        xfs = styles[styles.index("<cellXfs"):styles.index("</cellXfs>")]
        fmt_of = [codes.get(re.search(r'numFmtId="(\d+)"', a).group(1), "General") for a in XF.findall(xfs)]
        for member in z.namelist():
            if not (member.startswith("xl/worksheets/sheet") and member.endswith(".xml")):
                continue
            xml = z.read(member).decode()
            widths = {}
            for lo, hi, w in COL.findall(xml[:xml.find("<sheetData")]):
                widths.update({c: float(w) for c in range(int(lo), int(hi) + 1)})
            for letters, style, value in NUMBER_CELL.findall(xml):
                show = SHOWN.get(fmt_of[int(style or 0)])
                if show is None or not value:
                    continue
                text = show(float(value))
                width = widths.get(col_number(letters), DEFAULT_WIDTH)
                if len(text) > int(width):
                    out.append((member, letters, text, width))
    return out


def test_the_width_check_finds_what_libreoffice_shows_as_hashes(tmp_path):
    """A 13-wide column and -3.71504283E-04 (15 characters): LibreOffice shows ###."""
    import xlsxwriter
    path = tmp_path / "narrow.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.set_column(0, 0, 13)
    ws.write_number(0, 0, -3.71504283e-4, wb.add_format({"num_format": "0.00000000E+00"}))
    ws.write_number(0, 1, 0.5, wb.add_format({"num_format": "0.000000000"}))  # 11 characters in 8.43: too
    wb.close()
    assert [(c, t) for _, c, t, _ in too_wide(path)] == [("A", "-3.71504283E-04"), ("B", "0.500000000")]


GRID_FORMATS = ("0.000;-0.000;0", "0.0E+0;-0.0E+0;0", "[=0]0;[=1]0;0.000")
FORMULA_NUMBER = re.compile(r'<c r="([A-Z]+)(\d+)"(?: s="(\d+)")?><f>[^<]*</f><v>([^<]*)</v></c>')
SHEET_NAME = re.compile(r'<sheet name="([^"]*)" sheetId="\d+" r:id="rId(\d+)"/>')


def number_formats(path):
    """{sheet name: [(column letters, row, number format, value)]} of every formula number cell."""
    out = {}
    with zipfile.ZipFile(path) as z:
        styles = z.read("xl/styles.xml").decode()
        codes = dict(NUMFMT.findall(styles))
        xfs = styles[styles.index("<cellXfs"):styles.index("</cellXfs>")]
        fmt_of = [codes.get(re.search(r'numFmtId="(\d+)"', a).group(1), "General") for a in XF.findall(xfs)]
        for name, rid in SHEET_NAME.findall(z.read("xl/workbook.xml").decode()):
            xml = z.read(f"xl/worksheets/sheet{rid}.xml").decode()
            out[name] = [(c, int(r), fmt_of[int(st or 0)], float(v)) for c, r, st, v in FORMULA_NUMBER.findall(xml) if v]
    return out


@pytest.mark.parametrize("book", [p.name for p in GALLERY])
def test_one_number_style_per_column_and_whole_numbers_plainly(book):
    """A Run sheet's column is one quantity over the steps, a Step sheet's row one quantity over
    the samples: each shows one number style (never E-notation beside fixed decimals), every
    whole number (targets, pixels, zeros) shows plainly: 1, not 1.000000000."""
    path = REPO / "workbooks" / book
    cells = number_formats(path)
    checked = 0
    for sheet, found in cells.items():
        if sheet.startswith("Step ") and sheet != "Step 1":
            continue  # every Step sheet is laid out as Step 1
        table = _parameter_table_row(path, sheet) if sheet == "Step 1" else None
        rows = sorted({row for _, row, _, _ in found})
        # the Epochs sheet: a table per epoch above, the sample rows below it (after a gap of rows)
        top = next((r for r in rows if r + 1 not in rows), None) if sheet.endswith("Epochs") else None
        by_line, values = {}, {}
        for col, row, fmt, value in found:
            if fmt in GRID_FORMATS:
                continue  # a little grid of a CNN is a picture: one style per grid
            line = row if table is not None and row < table else (col, top is not None and row <= top)
            by_line.setdefault(line, set()).add(fmt.split(";")[0].replace("[=0]0", "0.000000000"))
            values.setdefault(line, []).append((fmt, value))
            if value == 0:
                assert SHOWN[fmt](value) == "0", (book, sheet, col, row, fmt)
            checked += 1
        mixed = {line: f for line, f in by_line.items() if len(f) > 1}
        assert not mixed, (book, sheet, list(mixed.items())[:3])
        for line, pairs in values.items():
            if all(v == int(v) and abs(v) < 1e9 and f != "0.0%" for f, v in pairs):  # whole numbers: plainly
                # (an accuracy of 1 shows as 100.0 %)
                assert all(SHOWN[f](v) == f"{abs(v):.0f}" for f, v in pairs if v == 0) and \
                    all(SHOWN[f](v) == f"{v:.0f}" for f, v in pairs if v != 0), (book, sheet, line, pairs[:3])
    assert checked > 50


def _parameter_table_row(path, sheet) -> int:
    """The first row (1-based) of a Step sheet's parameter table: below the header whose
    column B says "gradient"; the rows above hold one quantity each, the columns below."""
    ws = openpyxl.load_workbook(path, read_only=True)[sheet]
    for row in ws.iter_rows(min_col=2, max_col=2):
        cell = row[0]
        if isinstance(cell.value, str) and cell.value.startswith("gradient"):
            return cell.row + 1
    raise AssertionError(f"no parameter table on {sheet}")


@pytest.mark.parametrize("book", [p.name for p in GALLERY])
def test_no_number_of_the_gallery_is_wider_than_its_column(book):
    """Rendering the gallery through LibreOffice to PDF finds no ### in its text (0 in each
    of the six workbooks, against 80 in digits01 and 357 in cnn123 before the columns were
    widened); this is the same check on formats and widths, without LibreOffice."""
    bad = too_wide(REPO / "workbooks" / book)
    assert not bad, bad[:5]
