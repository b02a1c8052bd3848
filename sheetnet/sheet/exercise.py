"""What an exercise workbook writes beside the student's empty answer cells.

A formula that depends on an answer (the History's loss, the next step's starting weights,
a gradient built from blank deltas) must not cache the engine's value: that is the answer.
It is written as ``IF(COUNT(refs)<n,"",formula)`` — empty until every answer it reads
holds a number, then the formula itself — and caches "", which is what every spreadsheet
engine computes for the file as given.  Such a cell counts as pending in turn, so whatever
reads it is wrapped too.
"""

from __future__ import annotations

import re

from xlsxwriter.utility import xl_cell_to_rowcol

from .layout import Cell

_REF = re.compile(r"(?:'((?:[^']|'')+)'!|([A-Za-z_][\w.]*)!)?\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+))?"
                  r"(?![\w(])")
_STRING = re.compile(r'"(?:[^"]|"")*"')


def references(formula: str, sheet: str):
    """(text, [Cell]) of every reference in ``formula`` (ranges expanded), in order."""
    text = _STRING.sub(lambda m: " " * len(m.group(0)), formula)
    for m in _REF.finditer(text):
        if m.start() and (text[m.start() - 1].isalnum() or text[m.start() - 1] in "_."):
            continue  # part of a name or a function
        where = (m.group(1) or "").replace("''", "'") or m.group(2) or sheet
        r0, c0 = xl_cell_to_rowcol(m.group(3) + m.group(4))
        r1, c1 = xl_cell_to_rowcol((m.group(5) or m.group(3)) + (m.group(6) or m.group(4)))
        cells = [Cell(where, r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)]
        yield formula[m.start():m.end()], cells


class Pending:
    """The answer cells of an exercise and every formula cell that depends on one."""

    def __init__(self):
        self.cells: set = set()

    def answer(self, cell: Cell):
        self.cells.add(cell)

    def wrap(self, cell: Cell, formula: str):
        """(formula, cached value): the formula guarded and "" if it reads a pending cell,
        else (formula, None) — the engine's value stands."""
        refs = {}
        for text, cells in references(formula, cell.sheet):
            if text not in refs and any(c in self.cells for c in cells):
                refs[text] = len(cells)
        if not refs:
            return formula, None
        self.cells.add(cell)
        return f'IF(COUNT({",".join(refs)})<{sum(refs.values())},"",{formula})', ""
