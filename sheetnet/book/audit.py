"""Audit a workbook: recompute it from its own inputs and compare every stored value and
every formula with what sheetnet would have written, in computation order."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from .cells import Error, damaged_is_error
from ..i18n import N_, _
from ..engine.training import Model
from ..sheet.layout import qualified, ref
from ..ops.formula import same_formula
from ..sheet.refs import CellRefs, NameRefs
from ..sheet.epochs import EpochSheet
from ..sheet.formulas import StepFormulas
from ..sheet.gradients import GradientSheet
from ..sheet.templates import FormulaTemplates
from ..sheet.values import StepValues

WHAT = {"constant": N_("a constant overwrote the formula"), "formula": N_("the formula was changed"),
        "value": N_("the value differs"), "missing": N_("no stored value"),
        "error": N_("an error value")}  # translated where shown; the keys are what --json gives


@dataclass
class Finding:
    sheet: str
    cell: str
    name: str
    kind: str  # constant | formula | value | missing | error
    expected_value: float
    found_value: object
    expected_formula: str
    found_formula: str | None
    equation: str = ""  # the expected formula with names: (out_o1 − t_o1)^2
    step: int | None = None  # from 1
    hint: str = ""  # the classic confusion the found value matches, if any

    @property
    def where(self) -> str:
        return qualified(self.sheet, self.cell)

    @property
    def rel_error(self):
        if isinstance(self.found_value, float) and not isinstance(self.found_value, bool):
            return abs(self.found_value - self.expected_value) / max(abs(self.expected_value), 1e-300)
        return None

    def line(self) -> str:
        what = self.name + (", " + _("step {n}").format(n=self.step) if self.step else "")
        eq = f" = {self.equation}" if self.equation else ""
        head = f"{self.where} {what}{eq}: {_(WHAT[self.kind])}"
        if self.kind == "formula":
            return head + ": " + _("expected ={expected}, found ={found}").format(expected=self.expected_formula,
                                                                               found=self.found_formula)
        found = f"{self.found_value:.9g}" if isinstance(self.found_value, float) else repr(self.found_value)
        rel = " " + _("(relative error {rel})").format(rel=f"{self.rel_error:.2g}") if self.rel_error is not None else ""
        return head + ": " + _("found {found}, expected {expected}").format(
            found=found, expected=f"{self.expected_value:.9g}") + rel + \
            ("; " + _("hint: {hint}").format(hint=self.hint) if self.hint else "")

    def as_dict(self):
        return {**asdict(self), "where": self.where, "rel_error": self.rel_error}


def expected_cells(book, trace=None, detail=False, progress=None):
    """(cell, name, expected formula, expected value) of every formula cell sheetnet would
    write for the workbook's inputs, in computation order (steps, then Losses); with
    ``detail`` also (equation with names, step from 1, (kind, layer, item, pos) or None).
    ``progress(done, total)`` is called as the steps are reached."""
    lay, spec = book.layout, book.spec
    trace = trace or book.train()
    model = Model(spec)
    refs, names = CellRefs(lay), NameRefs(lay, model, book.notation)
    build = FormulaTemplates(model, lay)  # the text of StepFormulas(model, refs), built once per item
    describe = StepFormulas(model, names) if detail else None
    for k in range(lay.n_steps):
        if progress is not None:
            progress(k + 1, lay.n_steps)
        refs.step = k
        vals = StepValues(trace, model, k)
        for cell, kind, layer, item, pos in lay.step_cells(k):
            name = _Name(names, lay, kind, layer, item, pos)  # spelled out only for a finding
            row = cell, name, build.formula(kind, layer, item, k, pos), vals.get(kind, layer, item, pos)
            if detail:  # the equation is written out only for a cell that is reported
                def eq(kind=kind, layer=layer, item=item, k=k, pos=pos):
                    refs.step = k
                    return names.equation(describe, kind, layer, item, k, pos)
                row += (eq, k + 1, (kind, layer, item, pos))
            yield row
    sheets = lay.sheets
    for k in range(lay.n_steps):
        src = lay.cell(lay.loss_kind(), None, 0, k)
        cell = sheets.history_loss(k)
        row = cell, f"loss of step {k + 1}", ref(src, cell.sheet), trace.loss[k]
        yield row + (str, None, None) if detail else row
    for e, s in enumerate(lay.epoch_ends()):
        for idx in range(model.params.size):
            cell = sheets.history_param(e, idx)
            row = (cell, f"{model.params.labels[idx]} after epoch {e + lay.start_epoch + 1}",
                   ref(lay.cell("p1", None, idx, s), cell.sheet), trace.thetas[s + 1, idx])
            yield row + (str, None, None) if detail else row
    if not book.exercise:  # the whole-set evaluation and the gradient sizes (an exercise has neither)
        for part in (EpochSheet(trace, model, lay), GradientSheet(trace, model, lay)):
            for row in part.cells():
                yield row + (str, None, None) if detail else row


class _Name:
    """The name of a quantity in a finding (``net_h1 (sample 2)``), spelled out when asked."""

    __slots__ = ("args",)

    def __init__(self, *args):
        self.args = args

    def __str__(self):
        names, lay, kind, layer, item, pos = self.args
        return names.name(kind, layer, item) + (f" (sample {pos + 1})" if lay.per_sample(kind, layer) else "")


@damaged_is_error
def audit(book, rtol: float = 1e-9, atol: float = 1e-12, progress=None) -> list[Finding]:
    """Every cell whose formula or stored value is not what sheetnet would have written."""
    return audit_book(book, rtol, atol, progress)[0]


def audit_book(book, rtol: float = 1e-9, atol: float = 1e-12, progress=None):
    """(findings, how many formula cells had no stored value and were evaluated by sheetnet
    itself).  A formula left intact without its value (a file saved by a script) is
    evaluated from the workbook's cells; only a value that then differs is a finding."""
    from .evaluated import Evaluated
    from .grade import Tolerance, _Alternatives

    findings, evaluated = [], 0
    values = None
    trace = book.train()
    model = Model(book.spec)
    alternatives = {}
    for cell, name, formula, expected, equation, step, what in expected_cells(book, trace, detail=True, progress=progress):
        found_formula, value = book.found(cell)
        if found_formula and value is None and same_formula(found_formula, formula):
            values = values or Evaluated(book)
            v = values.number(cell)
            if v is not None and _close(v, expected, rtol, atol):
                evaluated += 1
                continue
            value = v
        kind = None
        if isinstance(value, Error):
            kind = "error"
        elif found_formula is None:
            kind = "constant" if value is not None else "missing"  # a typed value replaced the formula
        elif found_formula and found_formula != formula and not same_formula(found_formula, formula):
            kind = "formula"
        elif value is None:
            kind = "missing"
        elif not _close(value, expected, rtol, atol):
            kind = "value"
        if kind:
            hint = ""
            if kind in ("constant", "value") and what is not None and isinstance(value, float):
                if step not in alternatives:
                    alternatives[step] = _Alternatives(trace, model, book.layout, step - 1)
                hint = alternatives[step].hint(*what, value, float(expected), Tolerance(1e-4))[0]
            try:
                eq = equation()
            except (KeyError, IndexError, ValueError):
                eq = ""
            findings.append(Finding(cell.sheet, cell.a1(), str(name), kind, float(expected), value, formula,
                                    found_formula, eq, step, hint))
    return findings, evaluated


def _close(value, expected, rtol, atol) -> bool:
    return (isinstance(value, float) and not isinstance(value, bool) and math.isfinite(value)
            and abs(value - expected) <= atol + rtol * abs(expected))


def evaluated_note(path: str, n: int) -> str:
    return "sheetnet: note: " + _("{path}: {n} formula cell(s) had no stored value (saved by a program that does "
                                  "not calculate); sheetnet evaluated them itself").format(path=path, n=n)


def report(findings: list[Finding], path: str, limit: int = 40) -> str:
    if not findings:
        return _("{path}: every formula and value is what sheetnet computes from the workbook's inputs").format(
            path=path)
    first = findings[0]
    lines = [_("{path}: {n} cell(s) differ from what sheetnet computes from the workbook's inputs").format(
                 path=path, n=len(findings)),
             _("likely root cause: {line}").format(line=first.line())
             + ("; " + _("everything below depends on it") if len(findings) > 1 else ""),
             ""]
    lines += [f.line() for f in findings[:limit]]
    if len(findings) > limit:
        lines.append(_("… and {n} more (--json lists all)").format(n=len(findings) - limit))
    return "\n".join(lines)
