"""The worksheet class of every sheetnet workbook: XlsxWriter's, with rows streamed as XML.

XlsxWriter (constant-memory mode) keeps the small parts of a workbook: styles, column
widths, frozen panes, conditional formats, charts, defined names, the package itself.  Its
per-cell path (argument checks, a cell tuple per cell, an attribute list per cell) costs
more than building the cell's XML, so the big sheets hand it whole rows instead:
``ws.write_row(row, cells)`` writes one ``<row>`` element of pre-formatted ``<c>`` elements
straight to the sheet's row stream, where XlsxWriter would have written them.

A cell is ``(col, value, formula, fmt)``:

* ``formula`` given: a formula (text without ``=``) with ``value`` (a float) cached;
* else ``value`` a str: an inline string; a number: the number; None: a blank cell (written
  only with a format, as ``write_blank`` does);
* ``fmt``: an XlsxWriter Format or None.

Numbers are written exactly (a negative zero as 0: spreadsheets have none): ``repr`` is the
shortest text that reads back as the same
double (XlsxWriter writes ``%.16G``, which rounds about a quarter of all doubles).
"""

from __future__ import annotations

import re

from xlsxwriter.worksheet import Worksheet

from .layout import _COLUMN_NAMES, col_name

_ESCAPE = re.compile("[&<>]")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f]|_x[0-9a-fA-F]{4}_")
def _data(text: str) -> str:
    """``text`` escaped for an XML element's content."""
    if _ESCAPE.search(text):
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text


class FastWorksheet(Worksheet):
    """XlsxWriter's worksheet with ``write_row`` (whole rows as XML) and without its
    future-function regexes: sheetnet's formulas use only functions Excel 2010 knows (the
    ops registry), which need no ``_xlfn.`` prefix."""

    def _prepare_formula(self, formula, expand_future_functions=False):
        return formula[1:] if formula.startswith("=") else formula

    def _xml_number_element(self, number, attributes=[]):
        """A number cell written exactly (shortest repr, up to 17 significant digits)."""
        attr = "".join(f' {key}="{self._escape_attributes(value)}"' for key, value in attributes)
        self.fh.write(f"<c{attr}><v>{repr(float(number) + 0.0).upper()}</v></c>")

    def _xml_formula_element(self, formula, result, attributes):
        """An empty text result (an exercise's cell waiting for answers) is typed as text:
        XlsxWriter leaves it untyped, which readers take for a missing value."""
        if result == "" and not any(key == "t" for key, _ in attributes):
            attributes = [*attributes, ("t", "str")]
        super()._xml_formula_element(formula, result, attributes)

    def write_row(self, row: int, cells) -> None:
        """Write row ``row`` whole: ``cells`` = (col, value, formula, fmt) in column order.

        Rows must come in increasing order and a row written here takes no other cell
        (constant-memory mode writes each row once).  Cells written before with XlsxWriter's
        own methods on earlier rows are flushed first."""
        if not self.constant_memory:
            raise ValueError("write_row needs a workbook in constant_memory mode")
        if row < self.previous_row or (row == self.previous_row and self.table.get(row)):
            raise ValueError(f"row {row + 1} of {self.name} is written out of order")
        if not cells:
            return
        if self._check_dimensions(row, cells[0][0]) or self._check_dimensions(row, cells[-1][0]):
            raise ValueError(f"row {row + 1} of {self.name} is outside the sheet")
        if row > self.previous_row:
            self._write_single_row(row)  # what XlsxWriter still holds of an earlier row
        self._write_row(row, None, self.row_info.get(row))
        col_name(cells[-1][0])  # every column's letters cached, up to the last
        r = str(row + 1)
        out = []
        styles = {}
        for col, value, formula, fmt in cells:
            if fmt is None:
                s = ""
            else:
                s = styles.get(id(fmt))
                if s is None:
                    index = fmt._get_xf_index()
                    s = styles[id(fmt)] = f' s="{index}"' if index else ""
            where = _COLUMN_NAMES[col] + r
            if formula is not None:
                if "&" in formula or "<" in formula or ">" in formula:
                    formula = _data(formula)
                if isinstance(value, str):  # a text result (an exercise's cell waiting for answers: "")
                    out.append(f'<c r="{where}"{s} t="str"><f>{formula}</f><v>{_data(value)}</v></c>')
                else:
                    out.append(f'<c r="{where}"{s}><f>{formula}</f><v>{float(value) + 0.0!r}</v></c>')
            elif isinstance(value, str):
                if _CONTROL.search(value):
                    value = self._escape_control_characters(value)
                space = ' xml:space="preserve"' if value[:1].isspace() or value[-1:].isspace() else ""
                out.append(f'<c r="{where}"{s} t="inlineStr"><is><t{space}>{_data(value)}</t></is></c>')
            elif value is None:
                if s:
                    out.append(f'<c r="{where}"{s}/>')
            else:
                out.append(f'<c r="{where}"{s}><v>{repr(float(value) + 0.0).upper()}</v></c>')
        out.append("</row>")
        self.fh.write("".join(out))
        self.previous_row = row + 1  # this row is done; XlsxWriter's next row starts below
