"""Bring a workbook back: the run as the sheet now describes it, and what it stores.

The reader never imports the writer.  It starts from the hidden sheet ``_sheetnet`` (the
layout and the spec as TOML), replaces the spec's settings, data and starting parameters
by the workbook's current inputs, rebuilds the layout from that spec and finds every other
cell through it.  Reading is hardened (see ``cells``) and never writes to the file.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib

import numpy as np

from .cells import Error, damaged_is_error, read_cells
from ..engine.budget import check_budget
from ..limits import MAX_SPEC_LINES, MAX_STEPS
from ..engine.network import with_parameters
from ..engine.training import Model, Start, batches, sample_orders, train
from ..errors import at_cell, SpecError, WorkbookError
from ..sheet.exercise import Scope
from ..sheet.layout import (DATA, EXERCISE_SECTIONS, FORMAT_VERSION, HISTORY, META, META_SPEC_ROW, PARAMS, SETTING_NAMES,
                            SETTINGS, Cell, Sheets, choose_layout, sheet_name)
from ..spec import Spec, parse_spec
from ..i18n import _

FORMAT_VERSIONS = (FORMAT_VERSION,)  # the hidden sheet's layouts this reader knows
SETTING_KEYS = {"lr": "lr", "momentum": "momentum", "beta1": "beta1", "beta2": "beta2", "alpha": "alpha",
                "eps": "eps", "l1": "l1", "l2": "l2", "lr_decay": "lr_decay"}  # [train] keys; delta is [loss]


@dataclasses.dataclass
class Book:
    """A sheetnet workbook as read: its current spec, layout and every cell."""

    path: str
    cells: dict
    spec: Spec  # as the workbook now describes it: edited settings, data and starting parameters
    layout: object
    exercise: tuple = ()  # the sections left blank for a student (an exercise workbook)
    scope: object = None  # which of their cells (sheet.exercise.Scope)
    student: tuple = ()  # a class exercise: (id, name)
    start: Start | None = None  # the run continues an earlier one
    notation: str = "mazur"  # of its labels (ops.notation); its findings and grades are named so
    language: str = "en"  # of its words and sheet names (written with --lang)

    def train(self):
        """The engine's run of the workbook's inputs."""
        return train(self.spec, start=self.start)

    def in_scope(self, kind, layer, item, pos) -> bool:
        """Is this cell one the exercise asks for (its scope: sample, layer, quantities)?"""
        return self.scope is None or self.scope.covers(self.layout, kind, layer, item, pos)

    def where(self, cell: Cell) -> str:
        return at_cell(os.path.basename(self.path), cell.sheet, cell.a1())

    def found(self, cell: Cell):
        """(formula or None, stored value or None) of a cell; (None, None) if empty."""
        return self.cells.get(cell.sheet, {}).get((cell.row, cell.col), (None, None))

    def number(self, cell: Cell, what: str) -> float:
        """The stored number of an input cell, or a one-line error naming the cell."""
        formula, value = self.found(cell)
        if isinstance(value, Error):
            raise WorkbookError(_("{what}: the cell shows the error {value}, not a number").format(
                what=what, value=value), self.where(cell))
        if value is None:
            raise WorkbookError(_("{what}: the cell is empty").format(
                what=what) + (_(" (a formula without a stored value: open and save it in Excel or LibreOffice, "
                                 "or run `sheetnet recalc`)") if formula else ""),
                                self.where(cell))
        if isinstance(value, bool) or not isinstance(value, float):
            raise WorkbookError(_("{what}: expected a number, found {value}").format(
                what=what, value=repr(value)), self.where(cell))
        if not math.isfinite(value):
            raise WorkbookError(_("{what}: expected a finite number, found {value}").format(
                what=what, value=value), self.where(cell))
        return value


def _meta_count(meta, row: int, what: str, name: str) -> int:
    """A whole number 0…MAX_STEPS from the hidden sheet (start_step, start_epoch)."""
    value = meta.get((row, 1), (None, 0.0))[1]
    value = 0.0 if value is None else value
    if isinstance(value, bool) or not isinstance(value, float) or not value.is_integer() \
            or not 0 <= value <= MAX_STEPS:
        raise WorkbookError(_("{what} must be a whole number from 0 to {limit:,}, found {value}").format(
            what=what, limit=MAX_STEPS, value=repr(str(value)[:40])),
                            _("{name}, sheet '{meta}', cell B{value}").format(name=name, meta=META, value=row + 1))
    return int(value)


def _refuse_a_comparison(meta, name):
    """Refused before the rest is read: a comparison, a function workbook (``sheetnet.function.book``
    reads those), or a workbook of another format."""
    layout = meta.get((1, 1), (None, "auto"))[1]
    if layout == "function":
        raise WorkbookError(_("a workbook of gradient descent on a function: sheetnet.function.book reads it"),
            name)
    if layout == "comparison":
        raise WorkbookError(_("a comparison of several runs (sheetnet compare): read, resume and audit take the "
                              "workbook of one run"), name)
    version = meta.get((0, 1), (None, None))[1]
    version = int(version) if isinstance(version, float) and version.is_integer() else version
    if meta.get((0, 0), (None, None))[1] == "sheetnet" and version != FORMAT_VERSION:
        raise WorkbookError(_("written by another version of sheetnet (workbook format {value}, this one reads "
                              "{format_version}): write it again with `sheetnet train`").format(
            value=str(version)[:20], format_version=FORMAT_VERSION), at_cell(name, META, "B1"))


@damaged_is_error
def open_book(path: str) -> Book:
    """Read a workbook sheetnet wrote (and a person may have edited since)."""
    if not os.path.isfile(path):
        raise WorkbookError(_("no such file"), path)
    name = os.path.basename(path)
    _refuse_a_comparison(read_cells(path, sheets=[META]).get(META, {}), name)  # before reading it all
    cells = read_cells(path)
    if META not in cells:
        raise WorkbookError(_("not a sheetnet workbook: no sheet '{meta}'").format(meta=META), name)
    meta = cells[META]
    if meta.get((0, 0), (None, None))[1] != "sheetnet":
        raise WorkbookError(_("not a sheetnet workbook: sheet '{meta}' is not sheetnet's").format(meta=META), name)
    layout_name = meta.get((1, 1), (None, "auto"))[1]
    language = _language(meta)  # the sheets are named in it
    for sheet in (sheet_name(s, language) for s in (SETTINGS, DATA, PARAMS)):
        if sheet not in cells:
            raise WorkbookError(_("not a sheetnet workbook: no sheet '{sheet}'").format(sheet=sheet), name)
    version = meta.get((0, 1), (None, None))[1]
    if version not in FORMAT_VERSIONS:
        raise WorkbookError(_("a workbook of format version {value}; this sheetnet reads version ").format(
            value=repr(str(version)[:20])) + ", ".join(map(str, FORMAT_VERSIONS)), at_cell(name, META, "B1"))
    exercise = meta.get((2, 1), (None, ""))[1] or ""
    parts = tuple(s for s in str(exercise).split(",") if s)
    for part in parts:
        if part not in EXERCISE_SECTIONS:
            raise WorkbookError(_("unknown exercise part {part}; expected some of ").format(
                part=repr(part[:40])) + ", ".join(EXERCISE_SECTIONS), at_cell(name, META, "B3"))
    start_step = _meta_count(meta, 3, "start_step", name)
    start_epoch = _meta_count(meta, 4, "start_epoch", name)
    lines = [str(v) for (r, c), (_, v) in sorted(meta.items()) if r >= META_SPEC_ROW and c == 1 and v is not None]
    if len(lines) > MAX_SPEC_LINES:
        raise WorkbookError(_("the spec stored in sheet '{meta}' has more than {limit:,} lines").format(
            meta=META, limit=MAX_SPEC_LINES), name)
    try:
        spec = parse_spec(tomllib.loads("\n".join(lines)), path=name)
        check_budget(spec, workbook=True, where=name)
    except (tomllib.TOMLDecodeError, SpecError) as e:
        raise WorkbookError(_("the spec stored in sheet '{meta}' is damaged: {e}").format(
            meta=META, e=e), name) from None
    except RecursionError:
        raise WorkbookError(_("the spec stored in sheet '{meta}' is damaged: nested too deeply").format(
            meta=META), name) from None
    book = Book(path=path, cells=cells, spec=spec, layout=None, exercise=parts,
                scope=Scope.parse(meta.get((2, 2), (None, ""))[1]),
                student=tuple(str(meta.get((2, c), (None, ""))[1] or "") for c in (3, 4)),
                notation=_notation(meta), language=language)
    model = Model(spec)
    sheets = Sheets(model, start_state=start_step > 0 and bool(model.optimizer.state), language=language)
    book.spec = _edited_spec(book, spec, sheets)
    theta0 = Model(book.spec).params.theta.copy()
    state = {name: np.array([book.number(sheets.start_state(name, i), f"starting {name} of {model.params.labels[i]}")
                             for i in range(model.params.size)]) for name in sheets.state_names}
    book.start = Start(theta=theta0, state=state, step=start_step, epoch=start_epoch)
    book.layout = choose_layout(model, batches(book.spec), sample_orders(book.spec, start_epoch), layout_name,
                                start=book.start, language=language)
    _check_sheets(book)
    return book


def _check_sheets(book: Book):
    """Every sheet the run's layout places cells on is there (one renamed or deleted is named)."""
    lay = book.layout
    wanted = dict.fromkeys([lay.sheet(k) for k in range(lay.n_steps)] + [lay.sheets.sheet(HISTORY)])
    for sheet in wanted:
        if sheet not in book.cells:
            raise WorkbookError(_("the sheet '{sheet}' is missing (renamed or deleted); sheetnet finds the run's "
                                  "cells by their sheet names").format(sheet=sheet), os.path.basename(book.path))


def _edited_spec(book: Book, spec: Spec, sheets) -> Spec:
    """The spec with the workbook's current settings, data and starting parameters."""
    model = Model(spec)
    settings = {key: book.number(sheets.setting(key), SETTING_NAMES[key]) for key in SETTING_NAMES}
    train_changes = {SETTING_KEYS[k]: v for k, v in settings.items() if k in SETTING_KEYS}
    try:
        for key, value in train_changes.items():
            spec.with_train(**{key: value})
    except SpecError as e:
        cell = sheets.setting(key)
        raise WorkbookError(e.message, book.where(cell) + f" ({SETTING_NAMES[key]})") from None
    if settings["delta"] <= 0:
        raise WorkbookError(_("must be > 0, got {delta}").format(
            delta=settings['delta']), book.where(sheets.setting("delta")))
    spec = spec.with_train(**train_changes)
    spec = dataclasses.replace(spec, loss=dataclasses.replace(spec.loss, delta=settings["delta"]))
    n, n_in, n_out = len(spec.data.inputs), spec.layers[0].size, spec.layers[-1].size
    inputs = np.array([[book.number(sheets.data("in", s, i), f"input {spec.layers[0].names[i]} of sample {s + 1}")
                        for i in range(n_in)] for s in range(n)])
    targets = np.array([[book.number(sheets.data("t", s, k), f"target {spec.layers[-1].names[k]} of sample {s + 1}")
                         for k in range(n_out)] for s in range(n)])
    P = model.params
    theta = np.array([book.number(sheets.param(i), f"starting value of {P.labels[i]}") for i in range(P.size)])
    data = dataclasses.replace(spec.data, inputs=inputs, targets=targets, source="workbook")
    if spec.data.test_inputs is not None:  # the test set below the training rows, as edited
        m = len(spec.data.test_inputs)
        data = dataclasses.replace(data, test_source="workbook", test_inputs=np.array(
            [[book.number(sheets.test_data("in", s, i), f"input {spec.layers[0].names[i]} of test sample {s + 1}")
              for i in range(n_in)] for s in range(m)]), test_targets=np.array(
            [[book.number(sheets.test_data("t", s, k), f"target {spec.layers[-1].names[k]} of test sample {s + 1}")
              for k in range(n_out)] for s in range(m)]))
    return dataclasses.replace(with_parameters(spec, theta, P), data=data)


# --------------------------------------------------------------------------- stored values
@dataclasses.dataclass
class Stored:
    """What the workbook stores, and whether it can be trusted."""

    losses: list
    final_theta: np.ndarray
    missing: list  # cells with a formula but no stored value
    stale: list  # (cell, stored, expected): stored values that do not follow from the inputs
    trace: object  # the engine's run of the workbook's inputs

    @property
    def trustworthy(self) -> bool:
        return not self.missing and not self.stale


@damaged_is_error
def stored_values(book: Book, rtol: float = 1e-9, atol: float = 1e-12) -> Stored:
    """The losses and final parameters the workbook stores, checked against the engine run
    on the workbook's own inputs (missing or stale values are listed, never papered over)."""
    from ..sheet.values import StepValues

    spec, lay = book.spec, book.layout
    trace = book.train()
    model = Model(spec)
    missing, stale = [], []
    for k in range(lay.n_steps):
        vals = StepValues(trace, model, k)
        for cell, kind, layer, item, pos in lay.step_cells(k):
            formula, value = book.found(cell)
            expected = vals.get(kind, layer, item, pos)
            if formula is not None and value is None:
                missing.append(cell)
            elif not _close(value, expected, rtol, atol):
                stale.append((cell, value, expected))
    losses = []
    for k in range(lay.n_steps):
        cell = lay.sheets.history_loss(k)
        formula, value = book.found(cell)
        if formula is not None and value is None:
            missing.append(cell)
        elif not _close(value, float(trace.loss[k]), rtol, atol):
            stale.append((cell, value, float(trace.loss[k])))
        losses.append(value)
    last = lay.n_steps - 1
    theta = [book.found(lay.cell("p1", None, i, last))[1] for i in range(model.params.size)]
    ok = all(isinstance(v, float) and not isinstance(v, bool) and math.isfinite(v) for v in losses + theta)
    return Stored(losses=losses if ok else None, final_theta=np.array(theta) if ok else None,
                  missing=missing, stale=stale, trace=trace)


def _close(value, expected, rtol, atol) -> bool:
    return (isinstance(value, float) and not isinstance(value, bool) and math.isfinite(value)
            and abs(value - expected) <= atol + rtol * abs(expected))


@damaged_is_error
def final_state(book: Book, stored: Stored | None = None):
    """Where the workbook's run ends, as the workbook now says: the engine's run of its
    inputs, except where a person typed a value or a formula of their own into the last
    step's updated parameters or optimizer state — that value is taken.  -> engine.Start"""
    from ..sheet.formulas import StepFormulas
    from ..ops.formula import same_formula
    from ..sheet.refs import CellRefs

    stored = stored or stored_values(book)
    trace, lay = stored.trace, book.layout
    last = lay.n_steps - 1
    refs = CellRefs(lay)
    refs.step = last
    build = StepFormulas(Model(book.spec), refs)
    theta = trace.final_theta.copy()
    state = {name: value.copy() for name, value in trace.final_state.items()}
    for kind, target in (("p1", theta), *((name, state[name]) for name in state)):
        for idx in range(len(target)):
            if kind != "p1" and lay.frozen(idx):
                continue
            cell = lay.cell(kind, None, idx, last)
            formula, value = book.found(cell)
            edited = formula is None or (formula and not same_formula(formula, build.formula(kind, None, idx, last)))
            if edited:
                target[idx] = book.number(cell, f"{kind} of {trace.params.labels[idx]} in the last step")
    epochs = lay.steps[-1][0] + 1
    return Start(theta=theta, state=state, step=book.start.step + lay.n_steps, epoch=book.start.epoch + epochs)


def _notation(meta) -> str:
    """The notation the hidden sheet records (D2), or Mazur's when it names none sheetnet knows."""
    from ..ops.notation import NOTATIONS

    value = meta.get((1, 3), (None, "mazur"))[1]
    return value if value in NOTATIONS else "mazur"


def _language(meta) -> str:
    """The language the hidden sheet records (C2) for the words and sheet names; English when none."""
    from ..i18n import LANGUAGES

    value = meta.get((1, 2), (None, "en"))[1]
    return value if value in LANGUAGES else "en"
