"""Audit a workbook: recompute it from its own inputs and compare every stored value and
every formula with what sheetnet would have written, in computation order."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from .cells import Error
from ..engine.training import Model
from ..sheet.formulas import StepFormulas
from ..sheet.layout import qualified, ref
from ..ops.formula import same_formula
from ..sheet.refs import CellRefs, NameRefs
from ..sheet.values import StepValues

WHAT = {"constant": "a constant overwrote the formula", "formula": "the formula was changed",
        "value": "the value differs", "missing": "no stored value", "error": "an error value"}


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

    @property
    def where(self) -> str:
        return qualified(self.sheet, self.cell)

    @property
    def rel_error(self):
        if isinstance(self.found_value, float) and not isinstance(self.found_value, bool):
            return abs(self.found_value - self.expected_value) / max(abs(self.expected_value), 1e-300)
        return None

    def line(self) -> str:
        head = f"{self.where} {self.name}: {WHAT[self.kind]}"
        if self.kind == "formula":
            return f"{head}: expected ={self.expected_formula}, found ={self.found_formula}"
        found = f"{self.found_value:.9g}" if isinstance(self.found_value, float) else repr(self.found_value)
        rel = f" (relative error {self.rel_error:.2g})" if self.rel_error is not None else ""
        return f"{head}: found {found}, expected {self.expected_value:.9g}{rel}"

    def as_dict(self):
        return {**asdict(self), "where": self.where, "rel_error": self.rel_error}


def expected_cells(book, trace=None, progress=None):
    """(cell, name, expected formula, expected value) of every formula cell sheetnet would
    write for the workbook's inputs, in computation order (steps, then Losses);
    ``progress(done, total)`` is called as the steps are reached."""
    lay, spec = book.layout, book.spec
    trace = trace or book.train()
    model = Model(spec)
    refs, names = CellRefs(lay), NameRefs(lay, model)
    build = StepFormulas(model, refs)
    for k in range(lay.n_steps):
        if progress is not None:
            progress(k + 1, lay.n_steps)
        refs.step = k
        vals = StepValues(trace, model, k)
        for cell, kind, layer, item, pos in lay.step_cells(k):
            name = names.name(kind, layer, item) + (f" (sample {pos + 1})" if lay.per_sample(kind, layer) else "")
            yield cell, name, build.formula(kind, layer, item, k, pos), vals.get(kind, layer, item, pos)
    sheets = lay.sheets
    for k in range(lay.n_steps):
        src = lay.cell(lay.loss_kind(), None, 0, k)
        cell = sheets.history_loss(k)
        yield cell, f"loss of step {k + 1}", ref(src, cell.sheet), trace.loss[k]
    for e, s in enumerate(lay.epoch_ends()):
        for idx in range(model.params.size):
            cell = sheets.history_param(e, idx)
            yield (cell, f"{model.params.labels[idx]} after epoch {e + 1}",
                   ref(lay.cell("p1", None, idx, s), cell.sheet), trace.thetas[s + 1, idx])


def audit(book, rtol: float = 1e-9, atol: float = 1e-12, progress=None) -> list[Finding]:
    """Every cell whose formula or stored value is not what sheetnet would have written."""
    findings = []
    for cell, name, formula, expected in expected_cells(book, progress=progress):
        found_formula, value = book.found(cell)
        kind = None
        if isinstance(value, Error):
            kind = "error"
        elif found_formula is None:
            kind = "constant" if value is not None else "missing"  # a typed value replaced the formula
        elif found_formula and not same_formula(found_formula, formula):
            kind = "formula"
        elif value is None:
            kind = "missing"
        elif not _close(value, expected, rtol, atol):
            kind = "value"
        if kind:
            findings.append(Finding(cell.sheet, cell.a1(), name, kind, float(expected), value, formula,
                                    found_formula))
    return findings


def _close(value, expected, rtol, atol) -> bool:
    return (isinstance(value, float) and not isinstance(value, bool) and math.isfinite(value)
            and abs(value - expected) <= atol + rtol * abs(expected))


def report(findings: list[Finding], path: str, limit: int = 40) -> str:
    if not findings:
        return f"{path}: every formula and value is what sheetnet computes from the workbook's inputs"
    first = findings[0]
    lines = [f"{path}: {len(findings)} cell(s) differ from what sheetnet computes from the workbook's inputs",
             f"likely root cause: {first.line()}" + ("; everything below depends on it" if len(findings) > 1 else ""),
             ""]
    lines += [f.line() for f in findings[:limit]]
    if len(findings) > limit:
        lines.append(f"… and {len(findings) - limit} more (--json lists all)")
    return "\n".join(lines)
