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


QUANTITY_NAMES = {  # what `--quantities` accepts -> the kinds of the layout
    "net": ("net",), "exp": ("exp",), "out": ("out",), "term": ("term",), "loss": ("loss",), "E": ("data_loss",),
    "penalty": ("penalty",), "L": ("L",), "delta": ("delta",), "δ": ("delta",), "gs": ("gs",), "g": ("g",),
    "gradient": ("gs", "g"), "v": ("v",), "s": ("s",), "m": ("m",), "m_hat": ("m_hat",), "v_hat": ("v_hat",),
    "state": ("v", "s", "m", "m_hat", "v_hat"), "updated": ("p1",), "p1": ("p1",),
}
LOSS_KINDS = ("term", "loss", "data_loss", "penalty", "L")


class Scope:
    """Which answer cells of the blank sections the student fills in: one sample of the batch
    (``sample``, from 1), one layer (``layer``, from 1: the first layer after the inputs; the
    loss belongs to the last), some quantities (kinds).  None: all."""

    LEVELS = ("equations", "names", "derive")  # equations shown; names only; the student writes formulas

    def __init__(self, sample: int | None = None, layer: int | None = None, kinds: tuple | None = None,
                 level: str = "equations"):
        self.sample, self.layer, self.kinds = sample, layer, tuple(kinds) if kinds else None
        self.level = level if level in self.LEVELS else "equations"

    def __bool__(self):
        return any(x is not None for x in (self.sample, self.layer, self.kinds)) or self.level != "equations"

    @property
    def equations_hidden(self) -> bool:
        return self.level != "equations"

    def text(self) -> str:
        """As stored in the workbook (``sample=1;layer=2;kinds=delta,p1``)."""
        parts = []
        if self.sample is not None:
            parts.append(f"sample={self.sample}")
        if self.layer is not None:
            parts.append(f"layer={self.layer}")
        if self.kinds:
            parts.append("kinds=" + ",".join(self.kinds))
        if self.level != "equations":
            parts.append(f"level={self.level}")
        return ";".join(parts)

    @classmethod
    def parse(cls, text) -> "Scope":
        values = dict(p.split("=", 1) for p in str(text or "").split(";") if "=" in p)
        return cls(int(values["sample"]) if "sample" in values else None,
                   int(values["layer"]) if "layer" in values else None,
                   tuple(k for k in values.get("kinds", "").split(",") if k) or None,
                   values.get("level", "equations"))

    def covers(self, lay, kind, layer, item, pos) -> bool:
        if self.kinds is not None and kind not in self.kinds:
            return False
        if self.sample is not None:
            if lay.per_sample(kind, layer):
                if pos + 1 != self.sample:
                    return False
            elif lay.max_batch > 1:
                return False  # a batch quantity needs every sample
        if self.layer is not None:
            n_layers = len(lay.model.acts)
            if kind in LOSS_KINDS:
                return self.layer == n_layers
            if layer is None:  # a parameter: its layer
                P = lay.model.params
                layer = next(l for l, sl in enumerate(P.slices) if sl.start <= item < sl.stop)
            return layer + 1 == self.layer
        return True
