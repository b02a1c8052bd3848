"""Read every cell of an .xlsx straight from its XML: formula text and stored value.

Fast (one streaming pass per sheet) and hardened: defusedxml parses, and archives whose
unpacked size is absurd are refused before parsing.  Used to compare a workbook's stored
values with a recalculated copy, and by the reader.
"""

from __future__ import annotations

import posixpath
import zipfile
import zlib

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring, iterparse
from openpyxl.utils.exceptions import CellCoordinatesException
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string, get_column_letter

from ..errors import WorkbookError
from ..limits import (MAX_CELLS_READ, MAX_MEMBER_RATIO, MAX_PARTS, MAX_SHARED_STRINGS, MAX_SHEETS,
                      MAX_UNPACKED)
from ..i18n import _

MAX_RATIO = MAX_MEMBER_RATIO
MAX_COL, MAX_ROW = 16_384, 1_048_576  # XFD, Excel's last row
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def damaged_is_error(fn):
    """Decorate a function reading a workbook (its first argument: a path or a Book): an edit
    or a damage nobody foresaw, which surfaces as a ValueError, TypeError, KeyError, …,
    becomes one WorkbookError naming the file, never a traceback."""
    import functools
    import os

    @functools.wraps(fn)
    def wrapper(first, *args, **kwargs):
        try:
            return fn(first, *args, **kwargs)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, ZeroDivisionError,
                OverflowError) as e:
            path = getattr(first, "path", first)
            raise WorkbookError(_("the workbook is damaged or edited beyond what sheetnet can read ({name}: "
                                  "{value})").format(
                name=e.__class__.__name__, value=_clip(str(e))), os.path.basename(str(path))) from None

    return wrapper


class Error(str):
    """A spreadsheet error value such as ``#DIV/0!``."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def open_xlsx(path: str) -> zipfile.ZipFile:
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise WorkbookError(_("not an .xlsx file ({name})").format(name=e.__class__.__name__), path) from None
    total = 0
    if len(z.infolist()) > MAX_PARTS:
        raise WorkbookError(_("refusing to read an archive of {n:,} parts (sheetnet's limit is {limit:,})").format(
            n=len(z.infolist()), limit=MAX_PARTS), path)
    for info in z.infolist():
        total += info.file_size
        if info.file_size > 1_000_000 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise WorkbookError(_("refusing to unpack {filename}: it expands {file_size:,} bytes from almost "
                                  "nothing").format(filename=info.filename, file_size=info.file_size), path)
    if total > MAX_UNPACKED:
        raise WorkbookError(_("refusing to unpack {total:,} bytes (sheetnet's limit is {limit:,})").format(
            total=total, limit=MAX_UNPACKED), path)
    if "xl/workbook.xml" not in z.namelist():
        raise WorkbookError(_("not an .xlsx workbook (no xl/workbook.xml)"), path)
    return z


def sheet_paths(z: zipfile.ZipFile) -> list[tuple[str, str]]:
    """[(sheet name, member path)] in workbook order."""
    wb = fromstring(z.read("xl/workbook.xml"))
    rels = fromstring(z.read("xl/_rels/workbook.xml.rels"))
    target = {}
    for r in rels:
        t = r.get("Target", "")
        t = t.lstrip("/") if t.startswith("/") else posixpath.normpath(posixpath.join("xl", t))
        target[r.get("Id")] = t
    out = []
    for el in wb.iter():
        if len(out) > MAX_SHEETS:
            raise WorkbookError(_("more than {limit:,} sheets (sheetnet's limit)").format(limit=MAX_SHEETS))
        if _local(el.tag) == "sheet":
            t = target.get(el.get(_NS_REL))
            if t in z.namelist():
                out.append((el.get("name"), t))
    return out


def _shared_strings(z) -> list[str]:
    if "xl/sharedStrings.xml" not in z.namelist():
        return []
    out = []
    for _event, el in iterparse(z.open("xl/sharedStrings.xml")):
        if len(out) > MAX_SHARED_STRINGS:
            raise WorkbookError(_("more than {limit:,} shared strings (sheetnet's limit)").format(
                limit=MAX_SHARED_STRINGS))
        if _local(el.tag) == "si":
            out.append("".join(t.text or "" for t in el.iter() if _local(t.tag) == "t"))
            el.clear()
    return out


def _shared(shared: dict, si, ref: str, text: str) -> str:
    """The text of a shared formula at ``ref``: the anchor's text, translated to ``ref``."""
    from openpyxl.formula.translate import Translator

    if text:
        shared[si] = (ref, text)
        return text
    if si not in shared:
        return ""
    anchor, master = shared[si]
    return Translator("=" + master, origin=anchor).translate_formula(ref)[1:]


def _rowcol(ref: str) -> tuple[int, int]:
    """0-based (row, column) of an A1 reference inside Excel's grid, or ValueError."""
    col, row = coordinate_from_string(ref)
    c = column_index_from_string(col)
    if not (1 <= row <= MAX_ROW and 1 <= c <= MAX_COL):
        raise ValueError(f"the reference {ref!r} is outside Excel's grid (A1:XFD1048576)")
    return row - 1, c - 1


class _Budget:
    """Work done on one workbook: bytes unpacked and cells parsed, over all its sheets (a
    part referenced by many sheets counts each time it is read)."""

    def __init__(self, path):
        self.path, self.bytes, self.cells = path, 0, 0

    def member(self, info):
        self.bytes += info.file_size
        if self.bytes > MAX_UNPACKED:
            raise WorkbookError(_("refusing to unpack more than {limit:,} bytes in all (sheetnet's limit; several "
                                  "sheets may share one large part)").format(limit=MAX_UNPACKED), self.path)

    def cell(self):
        self.cells += 1
        if self.cells > MAX_CELLS_READ:
            raise WorkbookError(_("more than {limit:,} cells (sheetnet's limit)").format(
                limit=MAX_CELLS_READ), self.path)


def read_cells(path: str, sheets=None) -> dict[str, dict[tuple[int, int], tuple[str | None, object]]]:
    """{sheet: {(row, col): (formula or None, value)}} with 0-based rows and columns.

    A formula cell without a stored value has value None; ``formula`` is "" for the
    followers of a shared formula (they have a formula whose text is not spelled out).
    A damaged archive or XML (a member that does not match its header, as a zip bomb that
    lies about its size; XML that is not well-formed or declares entities) is a WorkbookError."""
    try:
        return _read_cells(path, sheets)
    except WorkbookError as e:
        if e.where is None:
            raise WorkbookError(e.message, path) from None
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, KeyError, ParseError,
            DefusedXmlException, CellCoordinatesException, ValueError, TypeError, IndexError, OSError) as e:
        raise WorkbookError(_("damaged .xlsx file ({name}: {value})").format(
            name=e.__class__.__name__, value=_clip(str(e))), path) from None
    except RuntimeError as e:  # zipfile: an encrypted part
        raise WorkbookError(_("cannot read an encrypted or password-protected part ({value})").format(
            value=_clip(str(e))), path) from None
    except NotImplementedError as e:  # zipfile: a compression method it does not know
        raise WorkbookError(_("a part uses a compression sheetnet cannot unpack ({value})").format(
            value=_clip(str(e))), path) from None


def _clip(text: str, n: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _read_cells(path: str, sheets=None):
    budget = _Budget(path)
    with open_xlsx(path) as z:
        strings = _shared_strings(z)
        out = {}
        for name, member in sheet_paths(z):
            if sheets is not None and name not in sheets:
                continue
            budget.member(z.getinfo(member))
            cells = {}
            shared = {}  # si -> (anchor, formula text) of shared formulas (as Excel writes them)
            row, col = 0, -1  # where a cell without an ``r`` attribute goes: after the one before
            for event, el in iterparse(z.open(member), events=("start", "end")):
                if event == "start":
                    if _local(el.tag) == "row":
                        row = _rowcol("A" + el.get("r"))[0] if el.get("r") is not None else row + (col >= 0)
                        col = -1
                    continue
                if _local(el.tag) != "c":
                    continue
                budget.cell()
                ref = el.get("r")
                if ref is None:
                    if col + 1 >= MAX_COL:
                        raise ValueError(f"sheet {name!r}: a row has more than {MAX_COL:,} cells")
                    row_col = (row, col + 1)
                    ref = f"{get_column_letter(col + 2)}{row + 1}"
                else:
                    row_col = _rowcol(ref)
                row, col = row_col
                formula = value = None
                kind = el.get("t", "n")
                for child in el:
                    tag = _local(child.tag)
                    if tag == "f":
                        formula = child.text or ""
                        if child.get("t") == "shared":
                            formula = _shared(shared, child.get("si"), ref, formula)
                    elif tag == "v":
                        value = child.text or ""
                    elif tag == "is":
                        value = "".join(t.text or "" for t in child.iter() if _local(t.tag) == "t")
                if value is not None:
                    if kind == "s":
                        i = int(value) if value.strip().isdigit() else -1
                        if not 0 <= i < len(strings):
                            raise ValueError(f"sheet {name!r}, cell {ref}: no shared string {_clip(value, 20)!r}")
                        value = strings[i]
                    elif kind == "b":
                        value = value == "1"
                    elif kind == "e":
                        value = Error(value)
                    elif kind in ("n", None) and value != "":
                        try:
                            value = float(value)
                        except ValueError:
                            raise ValueError(f"sheet {name!r}, cell {ref}: the stored number "
                                             f"{_clip(value, 20)!r} is not a number") from None
                    elif value == "":
                        value = "" if kind == "str" else None  # a formula's empty text, or nothing
                cells[row_col] = (formula, value)
                el.clear()
            out[name] = cells
        return out
