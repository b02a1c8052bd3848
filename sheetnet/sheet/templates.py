"""Formulas built once per block item, as templates over their references.

Every step of a run has the same formulas up to their references: ``net_h1`` of step 7
is ``w1·i1 + w2·i2 + b`` with the cells of step 7.  ``FormulaTemplates`` asks
``StepFormulas`` for each formula once, with a resolver (``_Marks``) that stands for every
reference (and for the step's epoch and counter t) by a numbered marker, and keeps the
text split at the markers.  The formula of any step is then the template with the marks
resolved for that step: a join of strings, no formula combinator runs again.

The markers are atomic operands to ``ops.formula`` (no operator, no sign, no quote), as
every cell reference is, so the combinators parenthesise a template exactly as they
parenthesise the formula built with references: ``FormulaTemplates(model, lay).formula(...)``
equals ``StepFormulas(model, CellRefs(lay)).formula(...)`` character for character (tests
check it on every example).

What still depends on the step besides its references is part of a template's key: the
size of the step's batch (the spans of AVERAGE/SUM) and, for the optimizer state, whether
the step is the first (where the state starts from 0 or from the Parameters sheet).
"""

from __future__ import annotations

import re

from .formulas import StepFormulas
from .layout import SETTING_NAMES, CompactLayout, col_name, ref, ref_range
from .refs import CellRefs

_MARK = re.compile("\x01(\\d+)\x02")


class _Marks:
    """A resolver for StepFormulas that answers with markers and records what each stands for."""

    def __init__(self, lay):
        self.lay = lay
        self.marks: list[tuple] = []
        self.index: dict = {}
        self.asked_prev = False  # did the formula being built ask for a state of the step before?
        self._cell_refs = CellRefs(lay)

    def _mark(self, what: tuple) -> str:
        n = self.index.get(what)
        if n is None:
            n = self.index[what] = len(self.marks)
            self.marks.append(what)
        return f"\x01{n}\x02"

    def named(self, text: str) -> str:
        """The settings' names as this run's workbook-wide names (as CellRefs.named): the same
        for every step, so the template carries them."""
        return self._cell_refs.named(text)

    def one(self, kind, layer, item, pos=0):
        return self._mark(("one", kind, layer, item, pos))

    def span(self, kind, layer, items, positions):
        return self._mark(("span", kind, layer, tuple(items), tuple(positions)))

    def source(self, kind, item, step, pos):
        return self._mark(("source", kind, item, pos))

    def prev(self, state, idx, step):
        self.asked_prev = True
        if self.lay.previous_state(state, idx, step) is None:
            return None
        return self._mark(("prev", state, idx))

    def setting(self, key):
        return SETTING_NAMES[key]

    def batch(self, step):
        return len(self.lay.samples(step))

    def max_batch(self):
        return self.lay.max_batch

    def epoch(self, step):
        return self._mark(("epoch",))

    def step_number(self, step):
        return self._mark(("t",))


class FormulaTemplates:
    """``formula(kind, layer, item, step, pos)``: the cell formula of a quantity of a step,
    the same text ``StepFormulas(model, CellRefs(lay))`` builds, from a template made once."""

    def __init__(self, model, lay):
        self.lay = lay
        self.marks = _Marks(lay)
        self.build = StepFormulas(model, self.marks)
        self.templates: dict = {}
        self.moving = isinstance(lay, CompactLayout)  # a step's rows move with the step
        self.fixed: dict = {}  # mark number -> where its cell lies relative to the step (None: anywhere)
        self._step = None
        self._resolved: dict = {}  # mark number -> text, for self._step
        self._sheet, self._base, self._batch = None, 0, 0

    def _template(self, kind, layer, item, pos):
        """The formula's template as ``(format string, row offsets, other marks)``: a mark of
        a cell of the step's own blocks becomes its column letters and a row slot, any other
        mark (a data row, the step before, t) a slot resolved at each step."""
        key = (kind, layer, item, pos, self._batch)
        t = self.templates.get(key) or self.templates.get((*key, self._step == 0))
        if t is None:
            self.marks.asked_prev = False
            parts = _MARK.split(self.build.formula(kind, layer, item, self._step, pos))
            if self.marks.asked_prev or (self.moving and self._uses_step_before(parts[1::2])):
                # the optimizer state starts from 0 (or the Parameters sheet) at the first step; in
                # the compact layout, the step before's row is the Parameters sheet at the first step
                key = (*key, self._step == 0)
            drows, others, out = [], [], [parts[0].replace("{", "{{").replace("}", "}}")]
            def slot(d):
                if not self.moving:  # a sheet per step: the step's cells are at the same places on each
                    return str(d + 1)
                if d not in drows:
                    drows.append(d)
                return "{%d}" % drows.index(d)
            pieces = []
            for n, text in zip(parts[1::2], parts[2::2]):
                n = int(n)
                fixed = self._fixed_mark(n)
                if fixed is None:
                    others.append(n)
                    pieces.append(("other", len(others) - 1))
                elif len(fixed) == 2 or fixed[:2] == fixed[2:]:
                    pieces.append(("text", fixed[0] + slot(fixed[1])))
                else:
                    pieces.append(("text", f"{fixed[0]}{slot(fixed[1])}:{fixed[2]}{slot(fixed[3])}"))
                pieces.append(("text", text.replace("{", "{{").replace("}", "}}")))
            for what, x in pieces:
                out.append(x if what == "text" else "{%d}" % (len(drows) + x))
            t = self.templates[key] = ("".join(out), tuple(drows), tuple(others))
        return t

    def _uses_step_before(self, numbers) -> bool:
        """Does a template refer to the step before (the parameters it starts from, the state)?"""
        marks = self.marks.marks
        return any(marks[int(n)][0] in ("source", "prev")
                   or (marks[int(n)][0] in ("one", "span") and marks[int(n)][1] in ("p0", "kernel")) for n in numbers)

    def _fixed_mark(self, n: int):
        """Where mark ``n`` lies relative to the step, if on the step's own sheet at a place that
        moves with the step (else None); for the first step and the others apart."""
        key = (n, self._step == 0)
        fixed = self.fixed.get(key, False)
        if fixed is False:
            what = self.marks.marks[n]
            if what[0] == "one":
                fixed = self._fixed(*what[1:], self._step)
            elif what[0] == "span":
                _, kind, layer, items, positions = what
                first = self._fixed(kind, layer, items[0], positions[0], self._step)
                last = self._fixed(kind, layer, items[1], positions[1], self._step)
                fixed = None if first is None or last is None else (*first, *last)
            elif what[0] == "source" and what[1] == "p0" and self.moving:
                fixed = self._place(lay_cell=self.lay.previous_p1(what[2], self._step))
            elif what[0] == "prev" and self.moving:
                fixed = self._place(lay_cell=self.lay.previous_state(what[1], what[2], self._step))
            else:
                fixed = None
            self.fixed[key] = fixed
        return fixed

    def _place(self, lay_cell):
        """(column letters, row from the step's first row) of a cell on the step's own sheet."""
        if lay_cell is None or lay_cell.sheet != self._sheet:
            return None
        return col_name(lay_cell.col), lay_cell.row - self._base

    def _fixed(self, kind, layer, item, pos, step):
        """(column letters, row from the step's first row) of a cell of the step's own block,
        the same at every step (both layouts place a step's blocks alike); None otherwise."""
        lay = self.lay
        if not lay.materialized(kind) and not (self.moving and kind in ("p0", "kernel")):
            return None  # the data rows of the step's samples; in the steps layout, the sheet before
        return self._place(lay.cell(kind, layer, item, step, pos))

    def _resolve_any(self, n: int, step: int) -> str:
        what = self.marks.marks[n]
        lay, at = self.lay, self._sheet
        op = what[0]
        if op == "one":
            _, kind, layer, item, pos = what
            return ref(lay.cell(kind, layer, item, step, pos), at)
        if op == "span":
            _, kind, layer, items, positions = what
            return ref_range(lay.cell(kind, layer, items[0], step, positions[0]),
                             lay.cell(kind, layer, items[1], step, positions[1]), at)
        if op == "source":
            _, kind, item, pos = what
            if kind == "p0":
                return ref(lay.previous_p1(item, step), at)
            return ref(lay.sheets.data(kind, int(lay.samples(step)[pos]), item), at)
        if op == "prev":
            _, state, idx = what
            return ref(lay.previous_state(state, idx, step), at)
        if op == "epoch":
            return str(lay.epoch(step))
        return str(lay.step_number(step))  # "t"

    def at_step(self, step: int):
        """Make ``step`` the current step (its sheet, first row, batch; no reference resolved yet)."""
        lay = self.lay
        self._step, self._resolved, self._rows, self._sheet = step, {}, {}, lay.sheet(step)
        self._base = lay.row(step) if isinstance(lay, CompactLayout) else 0
        self._batch = len(lay.samples(step))

    def formula(self, kind, layer, item, step, pos=0) -> str:
        if step != self._step:
            self.at_step(step)
        text, drows, others = self._template(kind, layer, item, pos)
        rows, resolved = self._rows, self._resolved
        args = []
        for d in drows:
            r = rows.get(d)
            if r is None:
                r = rows[d] = str(self._base + 1 + d)
            args.append(r)
        for n in others:
            r = resolved.get(n)
            if r is None:
                r = resolved[n] = self._resolve_any(n, step)
            args.append(r)
        return text.format(*args) if args else text.replace("{{", "{").replace("}}", "}")
