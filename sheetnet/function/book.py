"""A function workbook read back: its inputs as edited, every Steps cell checked, an exercise graded.

The inputs are the Settings sheet's yellow cells, found by the defined name written beside each
(``eta``, ``lr_decay``, the optimizer's settings, ``start_<variable>``); f, the optimizer and the
number of steps come from the spec on the hidden sheet.  Every computed cell of the Steps sheet
has the formula ``workbook.step_formulas`` gives; sheetnet evaluates the sheet itself (with
``ops.evaluate``), so a file saved by a script without stored values reads and audits the same.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass

from ..book.cells import Error, damaged_is_error, read_cells
from ..book.grade import Answer, Tolerance, judge
from ..errors import at_cell, SpecError, WorkbookError
from ..i18n import _
from ..ops.evaluate import BLANK, evaluate
from ..sheet.layout import qualified
from .engine import train_function
from .layout import META, SETTING_NAMES, SETTINGS, STEPS, FunctionLayout
from .spec import parse_function_spec, to_toml
from .workbook import FORMAT_VERSION, step_formulas, step_values

_A1 = __import__("re").compile(r"^(?:'((?:[^']|'')+)'!|([A-Za-z_][\w.]*)!)?\$?([A-Z]{1,3})\$?(\d+)$")


def is_function_book(path: str) -> bool:
    """Does the hidden sheet say this is a function workbook?  (False for anything else.)"""
    try:
        meta = read_cells(path, sheets=[META]).get(META, {})
    except (WorkbookError, OSError):
        return False
    return meta.get((0, 0), (None, None))[1] == "sheetnet" and meta.get((1, 1), (None, None))[1] == "function"


@dataclass
class FunctionBook:
    path: str
    cells: dict  # {sheet: {(row, col): (formula or None, value)}}
    spec: object  # the FunctionSpec with the workbook's current inputs
    stored_spec: object  # as written
    exercise: bool = False

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def layout(self) -> FunctionLayout:
        return FunctionLayout(self.spec.variables, self.spec.train.optimizer, self.spec.steps)

    def found(self, sheet: str, row: int, col: int):
        return self.cells.get(sheet, {}).get((row, col), (None, None))


@damaged_is_error
def open_function_book(path: str) -> FunctionBook:
    name = os.path.basename(path)
    cells = read_cells(path)
    meta = cells.get(META, {})
    version = meta.get((0, 1), (None, None))[1]
    if version != FORMAT_VERSION:
        raise WorkbookError(_("written by another version of sheetnet (function workbook format {value}, this one "
                              "reads {format_version})").format(
            value=str(version)[:20], format_version=FORMAT_VERSION), at_cell(name, META, "B1"))
    for sheet in (SETTINGS, STEPS):
        if sheet not in cells:
            raise WorkbookError(_("not a sheetnet function workbook: no sheet '{sheet}'").format(
                sheet=sheet), name)
    text = meta.get((2, 1), (None, None))[1]
    try:
        stored = parse_function_spec(tomllib.loads(text if isinstance(text, str) else ""), path=name)
    except (tomllib.TOMLDecodeError, SpecError) as e:
        raise WorkbookError(_("the spec stored in sheet '{meta}' is damaged: {e}").format(
            meta=META, e=e), at_cell(name, META, "B3")) \
            from None
    exercise = meta.get((3, 0), (None, None))[1] == "exercise"
    book = FunctionBook(path, cells, stored, stored, exercise)
    book.spec = _edited(book, stored)
    return book


def _edited(book: FunctionBook, spec):
    """The spec with the Settings sheet's values: η, the decay, the optimizer's settings and the
    start point, each found by its name in column A."""
    settings = book.cells[SETTINGS]
    by_name = {v: (r, c) for (r, c), (_, v) in settings.items() if c == 0 and isinstance(v, str)}
    lay = FunctionLayout(spec.variables, spec.train.optimizer, spec.steps)

    def value(label):
        if label not in by_name:
            raise WorkbookError(_("the input {label} is missing from column A").format(
                label=repr(label)), f"{book.name}, sheet '{SETTINGS}'")
        r, _c = by_name[label]
        formula, v = settings.get((r, 1), (None, None))
        if formula is not None:
            v = _Values(book).number(SETTINGS, r, 1)
        if isinstance(v, Error) or not isinstance(v, float) or isinstance(v, bool) or not math.isfinite(v):
            raise WorkbookError(_("{label}: expected a finite number, found {value}").format(
                label=label, value=repr(str(v)[:40])),
                                f"{book.name}, sheet '{SETTINGS}', cell B{r + 1}")
        return v

    train = {key: value(SETTING_NAMES[key]) for key in lay.settings}
    start = [value(lay.start_name(v)) for v in spec.variables]
    raw = tomllib.loads(to_toml(spec, start=start))
    raw["train"].update(train)
    try:
        return parse_function_spec(raw, path=book.name)
    except SpecError as e:
        raise WorkbookError(_("the Settings sheet: {message}").format(
            message=e.message), f"{book.name}, sheet '{SETTINGS}'") from None


class _Values:
    """The value of any cell as the workbook's formulas give it, evaluated by sheetnet from the
    cells it holds (not from stored values, which a script may not have written)."""

    def __init__(self, book: FunctionBook):
        self.book, self.memo, self.evaluated = book, {}, 0
        settings = book.cells.get(SETTINGS, {})
        self.names = {}
        for (r, c), (_formula, v) in settings.items():
            if c == 0 and isinstance(v, str):
                stored = settings.get((r, 1), (None, None))[1]
                if isinstance(stored, float) and not isinstance(stored, bool):
                    self.names[v] = stored

    def value(self, sheet: str, row: int, col: int):
        key = (sheet, row, col)
        if key in self.memo:
            return self.memo[key]
        formula, stored = self.book.found(sheet, row, col)
        if not formula:
            v = BLANK if stored is None else stored
        else:
            self.memo[key] = None  # a circular reference evaluates to nothing
            v = self.formula(formula, sheet)
            self.evaluated += stored is None
        self.memo[key] = v
        return v

    def number(self, sheet, row, col):
        v = self.value(sheet, row, col)
        return v if isinstance(v, float) and not isinstance(v, bool) and v is not BLANK and math.isfinite(v) else None

    def formula(self, text: str, sheet: str):
        def lookup(ref):
            m = _A1.match(ref)
            if not m:
                raise ValueError(f"a range sheetnet does not read here: {ref}")
            where = (m.group(1) or "").replace("''", "'") or m.group(2) or sheet
            col = 0
            for ch in m.group(3):
                col = col * 26 + ord(ch) - 64
            return self.value(where, int(m.group(4)) - 1, col - 1)

        try:
            v = evaluate(text, lookup, self.names)
        except (ValueError, ArithmeticError, KeyError, TypeError, IndexError, RecursionError):
            return None
        return v if isinstance(v, str) else float(v) if isinstance(v, (int, float)) else None


# --------------------------------------------------------------------------- audit
@dataclass
class Finding:
    cell: str
    quantity: str
    kind: str  # constant | formula | value | missing
    detail: str

    def line(self) -> str:
        return f"{self.cell} {self.quantity}: {self.detail}"

    def as_dict(self) -> dict:
        return {"cell": self.cell, "quantity": self.quantity, "kind": self.kind, "detail": self.detail}


def quantity(lay: FunctionLayout, group: str, k: int, j: int) -> str:
    """What a Steps cell holds, as the sheet's head names it: ``∂f/∂x, step 3``."""
    v = lay.variables[j]
    name = {"x": v, "f": "f", "lr": "η", "g": f"∂f/∂{v}", "x+": f"{v}⁺"}.get(group) or f"{group[2:]}[{v}]"
    return f"{name}, step {k + 1}" if group not in ("x", "f") or k < lay.steps else f"{name}, end"


def _computed_cells(book: FunctionBook):
    """(group, k, j, cell, our formula) of every computed Steps cell, in order of computation."""
    spec, lay = book.spec, book.layout
    for k in range(spec.steps + 1):
        for (group, j), text in step_formulas(spec, lay, k, last=k == spec.steps).items():
            yield group, k, j, lay.cell(group, k, j), text


@damaged_is_error
def audit_function(book: FunctionBook, rtol: float = 1e-9) -> tuple[list[Finding], int]:
    """Every Steps cell whose formula was changed, that a constant overwrote, or whose stored value
    differs from the engine's path on the workbook's inputs, in order of computation; and how
    many formula cells had no stored value (sheetnet evaluated those itself)."""
    spec, lay = book.spec, book.layout
    trace = train_function(spec)
    values = _Values(book)
    out, missing = [], 0
    for group, k, j, cell, text in _computed_cells(book):
        if k > trace.n_steps or (k == trace.n_steps and group not in ("x", "f")):
            break  # a diverged run stops early: nothing more to compare
        where = qualified(cell.sheet, cell.a1())
        what = quantity(lay, group, k, j)
        formula, stored = book.found(cell.sheet, cell.row, cell.col)
        want = float(step_values(trace, k)[group, j])
        if formula is None:
            shown = f"{stored:.9g}" if isinstance(stored, float) else repr(stored)
            out.append(Finding(where, what, "constant", f"the constant {shown} where sheetnet wrote ={text}"))
            continue
        if formula and _squeeze(formula) != _squeeze(text):
            out.append(Finding(where, what, "formula", f"={formula} where sheetnet wrote ={text}"))
            continue
        got = stored
        if got is None:
            missing += 1
            got = values.value(cell.sheet, cell.row, cell.col)
        if not (isinstance(got, float) and not isinstance(got, bool) and abs(got - want) <= 1e-15 + rtol * abs(want)):
            shown = f"{got:.9g}" if isinstance(got, float) else repr(got)
            out.append(Finding(where, what, "value", f"{shown}, but the inputs give {want:.9g}"))
    return out, missing


def _squeeze(text: str) -> str:
    return "".join(text.split()).lstrip("=").upper()


def audit_report(findings: list[Finding], path: str) -> str:
    if not findings:
        return f"{path}: every cell of the Steps sheet follows from the workbook's inputs"
    lines = [f"{path}: {len(findings)} cell(s) do not follow from the inputs; the first is the likely root cause:"]
    lines += ["  " + f.line() for f in findings[:30]]
    if len(findings) > 30:
        lines.append(f"  … and {len(findings) - 30} more")
    return "\n".join(lines)


# --------------------------------------------------------------------------- grading
@damaged_is_error
def grade_function(book: FunctionBook, rtol: float | None = None, digits: int | None = None) -> list[Answer]:
    """Every green cell of a function exercise, in order of computation: correct (the exact
    path), consistent (right given the student's own earlier cells), right to N significant
    digits, wrong (with a hint where a classic slip explains it) or not answered."""
    close = Tolerance(rtol, digits)
    spec, lay = book.spec, book.layout
    trace = train_function(spec)
    values = _Values(book)
    out = []
    for k in range(min(spec.steps, trace.n_steps)):
        text, exact = step_formulas(spec, lay, k), step_values(trace, k)
        for group, j in lay.answers(k):
            cell = lay.cell(group, k, j)
            found = values.number(cell.sheet, cell.row, cell.col)
            expected = float(exact[group, j])
            consistent = values.formula(text[group, j], cell.sheet)
            consistent = consistent if isinstance(consistent, float) else None
            if found is None:
                verdict, n, hint, mistake = "missing", None, "", ""
            else:
                verdict, n, hint, mistake = judge(
                    found, expected, consistent, close,
                    lambda: _hint(book, values, lay, group, k, j, found, consistent, close))
            out.append(Answer(cell.sheet, cell.a1(), quantity(lay, group, k, j), found, expected, consistent, verdict,
                              hint, mistake, n, {"kind": group, "variable": lay.variables[j], "step": k + 1}))
    return out


def _hint(book, values, lay, group, k, j, found, consistent, close) -> tuple[str, str]:
    """The classic slips, each checked against this cell given the student's own other cells."""
    at = lay.steps_sheet
    if group == "g" and consistent is not None and consistent != 0:
        if close(found, consistent / 2) or close(found, 2 * consistent):
            return _("off by a factor 2: the derivative of x² is 2·x (and of c·x² it is 2·c·x)"), "factor_two"
    if group == "x+" and book.spec.train.optimizer == "sgd":
        x = values.number(at, lay.row(k), lay.cell("x", k, j).col)
        g = values.number(at, lay.row(k), lay.cell("g", k, j).col)
        lr = values.number(at, lay.row(k), lay.cell("lr", k).col)
        if None not in (x, g, lr):
            if close(found, x + lr * g) and g != 0:
                return _("moved up the gradient: the update is x − η·∂f/∂x, against the slope"), "step_sign"
            if close(found, x - g) and lr != 1:
                return _("the step without η: the update is x − η·∂f/∂x"), "no_lr"
    return "", ""
