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
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

from ..errors import WorkbookError

MAX_UNPACKED = 2 * 1024**3  # bytes
MAX_RATIO = 200  # unpacked / packed, per member
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


class Error(str):
    """A spreadsheet error value such as ``#DIV/0!``."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def open_xlsx(path: str) -> zipfile.ZipFile:
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise WorkbookError(f"not an .xlsx file ({e.__class__.__name__})", path) from None
    total = 0
    for info in z.infolist():
        total += info.file_size
        if info.file_size > 1_000_000 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise WorkbookError(f"refusing to unpack {info.filename}: it expands {info.file_size:,} bytes "
                                "from almost nothing", path)
    if total > MAX_UNPACKED:
        raise WorkbookError(f"refusing to unpack {total:,} bytes", path)
    if "xl/workbook.xml" not in z.namelist():
        raise WorkbookError("not an .xlsx workbook (no xl/workbook.xml)", path)
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
        if _local(el.tag) == "sheet":
            t = target.get(el.get(_NS_REL))
            if t in z.namelist():
                out.append((el.get("name"), t))
    return out


def _shared_strings(z) -> list[str]:
    if "xl/sharedStrings.xml" not in z.namelist():
        return []
    out = []
    for _, el in iterparse(z.open("xl/sharedStrings.xml")):
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
    col, row = coordinate_from_string(ref)
    return row - 1, column_index_from_string(col) - 1


def read_cells(path: str, sheets=None) -> dict[str, dict[tuple[int, int], tuple[str | None, object]]]:
    """{sheet: {(row, col): (formula or None, value)}} with 0-based rows and columns.

    A formula cell without a stored value has value None; ``formula`` is "" for the
    followers of a shared formula (they have a formula whose text is not spelled out).
    A damaged archive or XML (a member that does not match its header, as a zip bomb that
    lies about its size; XML that is not well-formed or declares entities) is a WorkbookError."""
    try:
        return _read_cells(path, sheets)
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, ParseError, DefusedXmlException) as e:
        raise WorkbookError(f"damaged .xlsx file ({e.__class__.__name__}: {e})", path) from None


def _read_cells(path: str, sheets=None):
    with open_xlsx(path) as z:
        strings = _shared_strings(z)
        out = {}
        for name, member in sheet_paths(z):
            if sheets is not None and name not in sheets:
                continue
            cells = {}
            shared = {}  # si -> (anchor, formula text) of shared formulas (as Excel writes them)
            for _, el in iterparse(z.open(member)):
                if _local(el.tag) != "c":
                    continue
                formula = value = None
                kind = el.get("t", "n")
                for child in el:
                    tag = _local(child.tag)
                    if tag == "f":
                        formula = child.text or ""
                        if child.get("t") == "shared":
                            formula = _shared(shared, child.get("si"), el.get("r"), formula)
                    elif tag == "v":
                        value = child.text or ""
                    elif tag == "is":
                        value = "".join(t.text or "" for t in child.iter() if _local(t.tag) == "t")
                if value is not None:
                    if kind == "s":
                        value = strings[int(value)]
                    elif kind == "b":
                        value = value == "1"
                    elif kind == "e":
                        value = Error(value)
                    elif kind in ("n", None) and value != "":
                        value = float(value)
                    elif value == "":
                        value = "" if kind == "str" else None  # a formula's empty text, or nothing
                cells[_rowcol(el.get("r"))] = (formula, value)
                el.clear()
            out[name] = cells
        return out
