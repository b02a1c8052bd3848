"""Compare the stored value of every formula cell of a workbook with a recalculated copy."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .cells import Error, read_cells
from ..sheet.layout import qualified


@dataclass
class Mismatch:
    sheet: str
    cell: str
    formula: str
    stored: object
    recalculated: object

    def __str__(self):
        return f"{qualified(self.sheet, self.cell)}: stored {self.stored!r}, recalculated {self.recalculated!r}  (={self.formula})"


def compare(original: str, recalculated: str, rtol: float = 1e-9, atol: float = 1e-12):
    """(number of formula cells compared, [Mismatch]) — a mismatch is a value outside
    atol + rtol·|recalculated|, an error value on either side, or a missing value."""
    from openpyxl.utils.cell import get_column_letter

    ours, theirs = read_cells(original), read_cells(recalculated)
    bad, n = [], 0
    for sheet, cells in ours.items():
        other = theirs.get(sheet, {})
        for (r, c), (formula, stored) in cells.items():
            if formula is None:
                continue
            n += 1
            got = other.get((r, c), (None, None))[1]
            if not _same(stored, got, rtol, atol):
                bad.append(Mismatch(sheet, f"{get_column_letter(c + 1)}{r + 1}", formula, stored, got))
    return n, bad


def _same(a, b, rtol, atol) -> bool:
    if isinstance(a, Error) or isinstance(b, Error) or a is None or b is None:
        return False
    if isinstance(a, float) and isinstance(b, float):
        return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= atol + rtol * abs(b)
    return a == b
