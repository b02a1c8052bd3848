"""sheetnet's own spreadsheet: the value of any cell of a workbook, computed from the
formulas and constants it holds (not from the values it stores).

For files saved by a tool that does not calculate (openpyxl, a script): their formulas have
no stored values, or stored values from before an edit.  Formulas are evaluated by
``ops.evaluate`` (the functions sheetnet writes, and the few a student types: SUMPRODUCT,
POWER, ROUND, …); an empty cell is 0 in arithmetic and "" in a comparison, as in Excel.
"""

from __future__ import annotations

import math
import re
import sys

from .cells import Error
from ..ops.evaluate import BLANK, evaluate
from ..sheet.layout import SETTING_NAMES, Cell

_REF = re.compile(r"^(?:'((?:[^']|'')+)'!|([A-Za-z_][\w.]*)!)?([A-Z]{1,3}\d+)(?::([A-Z]{1,3}\d+))?$")
UNKNOWN = object()  # a formula sheetnet cannot evaluate (an unknown function, an error value)


class Evaluated:
    """``value(cell)``: a formula cell evaluated (recursively, each cell once), any other
    cell's stored value; ``UNKNOWN`` when a formula cannot be evaluated."""

    def __init__(self, book):
        self.book = book
        self.memo: dict = {}
        self.evaluated = 0  # formula cells evaluated that had no stored value
        sheets = book.layout.sheets
        self.names = {}
        for key, name in SETTING_NAMES.items():
            v = self.value(sheets.setting(key))
            if isinstance(v, float):
                self.names[name] = v

    def value(self, cell: Cell):
        hit = self.memo.get(cell)
        if hit is not None:
            return hit
        formula, stored = self.book.found(cell)
        if formula is None:
            v = BLANK if stored is None else stored
        else:
            self.memo[cell] = UNKNOWN  # a circular reference stays unknown
            limit = sys.getrecursionlimit()
            sys.setrecursionlimit(max(limit, 50_000))
            try:
                v = self._formula(formula, cell.sheet)
            finally:
                sys.setrecursionlimit(limit)
            if stored is None and v is not UNKNOWN:
                self.evaluated += 1
        self.memo[cell] = v
        return v

    def number(self, cell: Cell):
        """The cell's value if it is a finite number, else None."""
        v = self.value(cell)
        if isinstance(v, float) and not isinstance(v, bool) and v is not BLANK and math.isfinite(v):
            return float(v)
        return None

    def _formula(self, formula: str, sheet: str):
        from openpyxl.utils.cell import range_boundaries

        def lookup(text):
            m = _REF.match(text)
            if m is None:
                raise ValueError(f"cannot read the reference {text!r}")
            where = (m.group(1) or "").replace("''", "'") or m.group(2) or sheet
            first, last = m.group(3), m.group(4) or m.group(3)
            c0, r0, c1, r1 = range_boundaries(f"{first}:{last}")
            values = [self.value(Cell(where, r - 1, c - 1)) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)]
            if any(v is UNKNOWN or isinstance(v, Error) for v in values):
                raise ValueError("a referenced cell has no value")
            return values if m.group(4) else values[0]

        try:
            v = evaluate(formula, lookup, self.names)
        except (ValueError, ArithmeticError, KeyError, TypeError, IndexError, RecursionError):
            return UNKNOWN
        if isinstance(v, bool):
            return float(v)
        if isinstance(v, float) and not math.isfinite(v):
            return UNKNOWN
        return v
