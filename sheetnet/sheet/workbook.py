"""The only writer: every number of a run as a live formula with the engine's value cached.

formula text  <- formulas.StepFormulas (registry formulas, references from the layout)
cell address  <- layout (StepsLayout or CompactLayout)
cached value  <- the trace (values.StepValues)

Written with XlsxWriter in constant-memory mode (rows in order), the big sheets as whole rows
of cell XML (stream.FastWorksheet.write_row), each formula built once per block item as a
template (templates.FormulaTemplates), to a temporary file that replaces the output only
when complete.
"""

from __future__ import annotations

import os

import numpy as np
import xlsxwriter

from . import compact, epochs, gradients, guide, history, steps
from ..engine.training import Model
from ..errors import WorkbookError
from ..files import atomic_path
from .. import i18n
from ..i18n import _
from .formulas import StepFormulas
from .layout import (
    DATA,
    EPOCHS,
    EXERCISE_SECTIONS,
    GRADIENTS,
    FORMAT_VERSION,
    GUIDE,
    HISTORY,
    MAX_FORMULA,
    META,
    META_SPEC_ROW,
    PARAMS,
    SETTING_NAMES,
    SETTINGS,
    SETTINGS_FIRST_ROW,
    Cell,
    CompactLayout,
    choose_layout,
    setting_name,
)
from .exercise import Pending, Scope
from .refs import CellRefs, NameRefs
from .stream import FastWorksheet
from .templates import FormulaTemplates
from ..spec.toml_out import to_toml
from .values import NumberStyles, StepValues, number_style

NUM_FORMAT = "0.000000000;-0.000000000;0"  # exact zeros plainly: 0
SMALL_FORMAT = "0.00000000E+00;-0.00000000E+00;0"
GRID_FORMAT = "0.000;-0.000;0"  # a little grid's cell: 3 decimals (its full value is in the cell)
GRID_DELTA_FORMAT = "0.0E+0;-0.0E+0;0"  # … of a delta map, whose values are often under 0.001
WEIGHT_SCALE = {"type": "3_color_scale", "min_color": "#9DC3E6", "mid_color": "#FFFFFF", "max_color": "#F4B183"}


def check_output_path(path: str, reading=None):
    """Refuse what cannot end well before any work is done; never write over a file being
    read (``reading``: one path or several)."""
    if not path:
        raise WorkbookError(_("the output file name is empty"), "-o")
    for src in (reading,) if isinstance(reading, str) else (reading or ()):
        if os.path.exists(path) and os.path.exists(src) and os.path.samefile(path, src):
            what = _("the workbook being read") if src.lower().endswith((".xlsx", ".xlsm")) else \
                _("a file this command reads (the spec or its data)")
            raise WorkbookError(_("refusing to write over {what}; choose another output").format(what=what), path)
    if not path.lower().endswith(".xlsx"):
        raise WorkbookError(_("the output must be an .xlsx file"), path)
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise WorkbookError(_("the folder does not exist"), path)
    if os.path.isdir(path):
        raise WorkbookError(_("is a directory"), path)


def write_workbook(trace, path: str, layout: str = "auto", blank: tuple[str, ...] = (), scope=None,
                   student: tuple[str, str] | None = None, progress=None, notes: tuple[str, ...] = (),
                   notation: str = "mazur") -> str:
    """Write the run as an .xlsx of live formulas with cached values; returns the layout used.

    ``blank``: exercise sections (see layout.EXERCISE_SECTIONS) whose cells are left empty
    and highlighted for a student to fill in; ``scope`` (exercise.Scope): which of them;
    ``student``: (id, name) of the student a class exercise is for.  ``progress(done, total)``,
    if given, is called as the steps are written; ``notes``: lines the Guide shows under its title
    (an erratum of the example's source); ``notation``: the names of the labels and equations
    (ops.notation: "mazur" net_h1, "wakui" z²₁, "matrix" Z1[1]; only labels, never a formula)."""
    check_output_path(path)
    model = Model(trace.spec)
    try:
        lay = choose_layout(model, trace.steps, trace.orders, layout, start=trace.start, language=i18n.language)
    except ValueError as e:
        raise WorkbookError(str(e), path) from None
    _check_formula_lengths(model, lay, path)
    with atomic_path(path, suffix=".xlsx.part") as tmp:
        wb = xlsxwriter.Workbook(tmp, {"constant_memory": True, "strings_to_formulas": False,
                                       "strings_to_numbers": False, "strings_to_urls": False})
        writer = Writer(wb, trace, model, lay, blank, scope, notation)
        writer.student = student
        writer.progress = progress
        writer.notes = tuple(notes)
        writer.write()
        wb.close()
    return lay.name


def _check_formula_lengths(model, lay, path):
    """Before writing: the longest formula of each kind (its first item: all items of a block
    have the same length of formula, up to the digits of their references) must fit Excel."""
    build = StepFormulas(model, CellRefs(lay))
    for b in lay.blocks:
        if lay.materialized(b.kind):
            text = build.formula(b.kind, b.layer, 0, 0, 0)
            if len(text) + 1 > MAX_FORMULA:
                raise WorkbookError(_("the formula of {value} would have {n:,} characters, more than Excel's "
                                      "{limit:,}: the layer is too wide for a workbook of formulas").format(
                    value=NameRefs(lay, model).name(b.kind, b.layer, 0), n=len(text), limit=MAX_FORMULA), path)


class Writer:
    """Writes one run into an open XlsxWriter workbook: ``write()`` for a workbook of its own
    (guide, run sheets, the hidden spec), ``write_run()`` for its sheets alone (compare.py)."""

    def __init__(self, wb, trace, model, lay, blank=(), scope=None, notation="mazur"):
        self.wb, self.trace, self.model, self.lay = wb, trace, model, lay
        self.blank = tuple(blank)
        self.scope = scope or Scope()
        self.settings_named = {}
        self.progress = None  # progress(done, total) as the steps are written
        self.answer_kinds = {kind for section in self.blank for kind in EXERCISE_SECTIONS[section]}
        self.pending = Pending() if self.blank else None  # answers and what depends on them
        self.refs = CellRefs(lay)
        self.build = FormulaTemplates(model, lay)  # StepFormulas(model, self.refs)'s text, built once per item
        self.notation = notation
        self.names = NameRefs(lay, model, notation)
        self.describe = StepFormulas(model, self.names)
        self.styles = NumberStyles(trace, model, lay)  # one number style per quantity
        f = wb.add_format
        self.fmt = {
            "title": f({"bold": True, "font_size": 14}),
            "subtitle": f({"italic": True, "font_color": "#595959"}),
            "head": f({"bold": True, "bg_color": "#D9E1F2", "bottom": 1, "text_wrap": True, "valign": "top"}),
            "section": f({"bold": True, "bg_color": "#EDEDED"}),
            "label": f({"bold": True}),
            "eq": f({"italic": True, "font_color": "#595959"}),
            "input": f({"font_color": "#0000FF", "bg_color": "#FFF2CC", "num_format": NUM_FORMAT, "border": 1,
                        "border_color": "#BFBFBF"}),
            "value": f({"num_format": NUM_FORMAT}),
            "small": f({"num_format": SMALL_FORMAT}),
            "answer": f({"num_format": NUM_FORMAT, "bg_color": "#E2EFDA", "border": 2, "border_color": "#70AD47"}),
            "int": f({"num_format": "0"}),  # a whole number, plainly
            "percent": f({"num_format": "0.0%"}),  # an accuracy
            # a cell of a little grid (a filter, a feature map; a delta map): short, the cell holds the full
            # value; the map's header
            "grid": f({"num_format": GRID_FORMAT, "font_size": 9, "align": "center"}),
            "grid_delta": f({"num_format": GRID_DELTA_FORMAT, "font_size": 9, "align": "center"}),
            "grid_head": f({"bold": True, "font_size": 9}),
            "pixel": f({"num_format": "[=0]0;[=1]0;0.000", "align": "center"}),  # LibreOffice would carry the data's format over a General one
            "text": f({}),
            "note": f({"bold": True, "font_color": "#C00000", "text_wrap": True, "valign": "top"}),  # an erratum
            "wrap": f({"text_wrap": True, "valign": "top"}),  # a long line of the Guide
            # a frozen parameter (freeze_biases): grey, so the update rule's header reads as not applying
            "frozen": f({"num_format": NUM_FORMAT, "font_color": "#7F7F7F", "bg_color": "#EDEDED"}),
            "frozen_label": f({"bold": True, "font_color": "#7F7F7F", "bg_color": "#EDEDED"}),
        }

    def sheet(self, name):
        ws = self.wb.add_worksheet(name, worksheet_class=FastWorksheet)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)  # printed (and rendered to PDF) one page wide
        return ws

    def formula(self, ws, cell: Cell, text: str | None, value: float, fmt=None):
        """A formula with its cached value; ``text`` None: an empty answer cell of an exercise."""
        if text is None:
            ws.write_blank(cell.row, cell.col, None, self.fmt["answer"])
            return
        if self.pending is not None and not isinstance(value, str):
            text, pending = self.pending.wrap(cell, text)
            value = value if pending is None else pending
        if isinstance(value, str):  # an exercise's cell that waits for the student's answers
            ws.write_formula(cell.row, cell.col, "=" + text, fmt or self.fmt["value"], value)
            return
        if len(text) + 1 > MAX_FORMULA:
            raise WorkbookError(_("a formula of {n:,} characters is longer than Excel's {limit:,}: the layer is "
                                  "too wide for a workbook").format(n=len(text), limit=MAX_FORMULA), cell.where())
        value = float(value) + 0.0  # no negative zero: spreadsheets have none
        small = value != 0 and abs(value) < 1e-3  # 9 significant digits either way
        ws.write_formula(cell.row, cell.col, "=" + text, fmt or self.fmt["small" if small else "value"], value)

    def style(self, values) -> object:
        """The format of a column of ``values`` (one number style for all: NumberStyles)."""
        return self.fmt[number_style(values)]

    def formula_cell(self, sheet: str, row: int, col: int, text: str | None, value: float, fmt=None):
        """The same cell as ``formula`` writes, as ``(col, value, formula, fmt)`` for ``write_row``."""
        if text is None:
            return col, None, None, self.fmt["answer"]
        if self.pending is not None and not isinstance(value, str):  # as ``formula`` does
            text, waiting = self.pending.wrap(Cell(sheet, row, col), text)
            value = value if waiting is None else waiting
        if isinstance(value, str):  # an exercise's cell that waits for the student's answers
            return col, value, text, fmt or self.fmt["value"]
        if len(text) >= MAX_FORMULA:
            raise WorkbookError(_("a formula of {n:,} characters is longer than Excel's {limit:,}: the layer is "
                                  "too wide for a workbook").format(
                n=len(text), limit=MAX_FORMULA), Cell(sheet, row, col).where())
        value = float(value) + 0.0  # no negative zero: spreadsheets have none
        if fmt is None:
            fmt = self.fmt["small" if value != 0 and abs(value) < 1e-3 else "value"]
        return col, value, text, fmt

    def write(self):
        guide.write_guide(self, self.sheet(self.lay.sheets.sheet(GUIDE)))
        self.write_run()
        self.write_meta(self.wb.add_worksheet(META))

    def write_run(self):
        """The sheets of the run: its inputs, its steps and its history."""
        sheets = self.lay.sheets
        self.write_settings(self.sheet(sheets.sheet(SETTINGS)))
        self.write_data(self.sheet(sheets.sheet(DATA)))
        self.write_parameters(self.sheet(sheets.sheet(PARAMS)))
        if isinstance(self.lay, CompactLayout):
            compact.write(self, self.sheet(self.lay.sheet(0)))
        else:
            for k in range(self.lay.n_steps):
                steps.write(self, self.sheet(self.lay.sheet(k)), k)
        history.write(self, self.sheet(sheets.sheet(HISTORY)))
        if not self.blank:  # an exercise's evaluation would give its answers away
            epochs.write(self, self.sheet(sheets.sheet(EPOCHS)))
            gradients.write(self, self.sheet(sheets.sheet(GRADIENTS)))
        for name, cell in self.settings_named.items():
            self.define_setting(name, cell)

    def define_setting(self, name: str, cell: Cell):
        """The workbook-wide defined name a formula uses for a setting (``adam_eta`` when
        several runs share the workbook: Google Sheets has no names local to a sheet)."""
        if self.wb.define_name(name, "=" + cell.where(absolute=True)) == -1:
            raise WorkbookError(_("cannot define the name {name}").format(name=repr(name)), cell.where())

    def write_meta(self, ws):
        """The hidden sheet the reader starts from: format, layout and the spec as TOML."""
        P = self.model.params
        theta0 = self.trace.thetas[0] if self.trace.recorded else P.theta
        ws.write_string(0, 0, "sheetnet")
        ws.write_number(0, 1, FORMAT_VERSION)
        ws.write_string(1, 0, "layout")
        ws.write_string(1, 1, self.lay.name)
        ws.write_string(1, 2, i18n.language)  # the language of its words (formulas and sheet names: always ASCII)
        ws.write_string(1, 3, self.notation)  # … and the notation of its labels
        ws.write_string(2, 0, "exercise")  # the blank sections ("" for a worked run)
        ws.write_string(2, 1, ",".join(self.blank))
        if self.scope:
            ws.write_string(2, 2, self.scope.text())  # which of their cells (exercise.Scope)
        for col, text in enumerate(getattr(self, "student", None) or (), start=3):
            ws.write_string(2, col, text)  # a class exercise: the student's id and name
        ws.write_string(3, 0, "start_step")
        ws.write_number(3, 1, self.lay.start_step)
        ws.write_string(4, 0, "start_epoch")
        ws.write_number(4, 1, self.lay.start_epoch)
        ws.write_string(5, 0, "spec")
        for row, line in enumerate(to_toml(self.trace.spec, theta0, P).splitlines(), start=META_SPEC_ROW):
            if line:
                ws.write_string(row, 1, line)
        ws.hide()

    # -- the inputs ----------------------------------------------------------------
    def write_settings(self, ws):
        tr, spec = self.trace.spec.train, self.trace.spec
        values = {"lr": tr.lr, "momentum": tr.momentum, "beta1": tr.beta1, "beta2": tr.beta2, "alpha": tr.alpha,
                  "eps": tr.eps, "l1": tr.l1, "l2": tr.l2, "lr_decay": tr.lr_decay, "delta": spec.loss.delta}
        meaning = guide.SETTING_MEANINGS
        ws.write_string(0, 0, _("Settings: edit the blue cells; every formula uses them by name"),
            self.fmt["title"])
        for c, h in enumerate((_("name"), _("value"), _("meaning"))):
            ws.write_string(SETTINGS_FIRST_ROW - 1, c, h, self.fmt["head"])
        for key, name in SETTING_NAMES.items():
            cell = self.lay.sheets.setting(key)
            name = setting_name(name, self.lay.sheets.prefix)
            ws.write_string(cell.row, 0, name, self.fmt["label"])
            ws.write_number(cell.row, 1, values[key], self.fmt["input"])
            ws.write_string(cell.row, 2, _(meaning[key]), self.fmt["text"])
            self.settings_named[name] = cell  # defined once the run's sheets exist
        row = SETTINGS_FIRST_ROW + len(SETTING_NAMES) + 1
        for text in guide.run_facts(spec, self.trace, self.lay):
            ws.write_string(row, 0, text, self.fmt["subtitle"])
            row += 1
        ws.set_column(0, 0, 14)
        ws.set_column(1, 1, 16)
        ws.set_column(2, 2, 70)

    def write_data(self, ws):
        spec = self.trace.spec
        ins, outs = spec.layers[0].names, spec.layers[-1].names
        ws.write_string(0, 0, _("Data: one row per sample (inputs, then targets)"), self.fmt["title"])
        hr = self.lay.sheets.data_header_row()
        ws.write_string(hr, 0, _("sample"), self.fmt["head"])
        for i, u in enumerate(ins):
            ws.write_string(hr, self.lay.sheets.data("in", 0, i).col, u, self.fmt["head"])
        for k, u in enumerate(outs):
            ws.write_string(hr, self.lay.sheets.data("t", 0, k).col, f"t_{u}", self.fmt["head"])
        # a column of whole numbers (0/1 pixels, one-hot targets) shows them plainly: 1, not 1.000000000
        whole = self.wb.add_format({"font_color": "#0000FF", "bg_color": "#FFF2CC", "num_format": "0", "border": 1})
        input_fmt = {kind: [whole if number_style(col) == "int" else self.fmt["input"] for col in values.T]
                     for kind, values in (("in", spec.data.inputs), ("t", spec.data.targets))}
        for n in range(len(spec.data.inputs)):
            c = self.lay.sheets.data("in", n, 0)
            ws.write_number(c.row, 0, n + 1, self.fmt["int"])
            for i, v in enumerate(spec.data.inputs[n]):
                ws.write_number(c.row, self.lay.sheets.data("in", n, i).col, v, input_fmt["in"][i])
            for k, v in enumerate(spec.data.targets[n]):
                ws.write_number(c.row, self.lay.sheets.data("t", n, k).col, v, input_fmt["t"][k])
        if spec.data.test_inputs is not None:
            self.write_test_data(ws, whole)
        ws.freeze_panes(hr + 1, 1)
        ws.set_column(0, 0, 8)
        ws.set_column(1, len(ins) + len(outs), 14)

    def write_test_data(self, ws, whole):
        """The test set below the training rows: evaluated on the Epochs sheet, never trained on."""
        spec, sheets = self.trace.spec, self.lay.sheets
        hr = sheets.test_header_row()
        ws.write_string(hr - 1, 0, _("Test set: evaluated after every epoch (Epochs sheet), never trained on"),
                        self.fmt["section"])
        ws.write_string(hr, 0, _("test sample"), self.fmt["head"])
        for i, u in enumerate(spec.layers[0].names):
            ws.write_string(hr, sheets.test_data("in", 0, i).col, u, self.fmt["head"])
        for k, u in enumerate(spec.layers[-1].names):
            ws.write_string(hr, sheets.test_data("t", 0, k).col, f"t_{u}", self.fmt["head"])
        styles = {kind: [whole if number_style(np.r_[a[:, j], b[:, j]]) == "int" else self.fmt["input"]
                         for j in range(a.shape[1])]
                  for kind, a, b in (("in", spec.data.inputs, spec.data.test_inputs),
                                     ("t", spec.data.targets, spec.data.test_targets))}
        for n in range(len(spec.data.test_inputs)):
            c = sheets.test_data("in", n, 0)
            ws.write_number(c.row, 0, n + 1, self.fmt["int"])
            for kind, values in (("in", spec.data.test_inputs), ("t", spec.data.test_targets)):
                for j, v in enumerate(values[n]):
                    ws.write_number(c.row, sheets.test_data(kind, n, j).col, v, styles[kind][j])

    def write_parameters(self, ws):
        spec, P, sheets = self.trace.spec, self.model.params, self.lay.sheets
        theta = self.trace.thetas[0] if self.trace.recorded else P.theta
        ws.write_string(0, 0, _("Starting parameters: rows = receiving unit, columns = sending unit, last column = "
                                "bias"), self.fmt["title"])
        width = 1
        for l, (o, n) in enumerate(P.shapes):
            layer, prev = spec.layers[l + 1], spec.layers[l]
            if layer.kind == "maxpool":
                continue
            row0 = sheets.param_origin[l]
            conv = layer.kind == "conv"
            what = (_("{o} filters of {k}x{k}, kernel position (row,col)").format(o=o, k=layer.kernel) if conv
                    else f"{prev.size} → {layer.size}")
            ws.write_string(row0 - 2, 0, _("Layer {l} ({kind}, {activation}): {what}").format(
                l=l + 1, kind=layer.kind, activation=layer.activation, what=what), self.fmt["section"])
            ws.write_string(row0 - 1, 0, _("filter") if conv else _("to \\ from"), self.fmt["head"])
            senders = [f"({i // layer.kernel + 1},{i % layer.kernel + 1})" for i in range(n)] if conv else prev.names
            for i, u in enumerate(senders):
                ws.write_string(row0 - 1, 1 + i, u, self.fmt["head"])
            ws.write_string(row0 - 1, 1 + n, _("bias"), self.fmt["head"])
            named = layer.weight_names is not None
            if named:
                ws.write_string(row0 - 1, 3 + n, _("names"), self.fmt["head"])
            for j, u in enumerate(layer.map_names if conv else layer.names):
                ws.write_string(row0 + j, 0, u, self.fmt["label"])
                for i in range(n + 1):
                    idx = P.slices[l].start + (j * n + i if i < n else o * n + j)
                    c = sheets.param(idx)
                    ws.write_number(c.row, c.col, theta[idx], self.fmt["input"])
                if named:
                    for i in range(n):
                        ws.write_string(row0 + j, 3 + n + i, layer.weight_names[j][i], self.fmt["eq"])
            first, last = sheets.param(P.w_slices[l].start), sheets.param(P.w_slices[l].stop - 1)
            ws.conditional_format(first.row, first.col, last.row, last.col, WEIGHT_SCALE)
            width = max(width, 2 * n + 4)
        if sheets.state_names:
            start = self.trace.start
            ws.write_string(sheets.state_origin - 2, 0, _("Optimizer state at the start (after step {step} of the run "
                                                          "this one continues)").format(step=start.step),
                            self.fmt["section"])
            ws.write_string(sheets.state_origin - 1, 0, _("parameter"), self.fmt["head"])
            for name in sheets.state_names:
                c = sheets.start_state(name, 0)
                ws.write_string(c.row - 1, c.col, name, self.fmt["head"])
            for idx, label in enumerate(P.labels):
                ws.write_string(sheets.state_origin + idx, 0, label, self.fmt["label"])
                for name in sheets.state_names:
                    c = sheets.start_state(name, idx)
                    ws.write_number(c.row, c.col, float(start.state[name][idx]), self.fmt["input"])
        ws.set_column(0, 0, 12)
        ws.set_column(1, width, 14)

    # -- the steps -------------------------------------------------------------------
    def equation(self, kind, layer, item, k, pos=0) -> str:
        """The equation beside a row, or "" where an exercise hides it (the student derives it)."""
        if self.scope.equations_hidden and (kind in self.answer_kinds or kind == "gs" and "g" in self.answer_kinds):
            return ""
        return self.names.equation(self.describe, kind, layer, item, k, pos)

    def step_cells(self, k):
        """(row, col, kind, formula, value, format) of every cell of step k, row by row, left to
        right; the format is the quantity's number style (NumberStyles)."""
        if self.progress is not None:
            self.progress(k + 1, self.lay.n_steps)
        self.refs.step = k
        vals = StepValues(self.trace, self.model, k)
        if self.pending is not None:  # an exercise: built in computation order, then written row by row
            yield from sorted(self._exercise_cells(k, vals), key=lambda c: (c[0], c[1]))
            return
        base, geometry = self.step_geometry(k)
        formula, answers, get, style, fmt = self.build.formula, self.answer_kinds, vals.get, self.styles, self.fmt
        for row, col, kind, layer, item, pos in geometry:
            text = None if kind in answers else formula(kind, layer, item, k, pos)
            yield base + row, col, kind, text, get(kind, layer, item, pos), fmt[style(kind, layer, item)]

    def step_geometry(self, k):
        """(first row of step k, its cells as (row from there, col, kind, layer, item, pos)): the
        same for every step with as many samples (computed once from the layout)."""
        lay = self.lay
        base = lay.row(k) if isinstance(lay, CompactLayout) else 0
        key = len(lay.samples(k))
        cache = self.__dict__.setdefault("_geometry", {})
        if key not in cache:
            sheet = lay.sheet(k)
            cells = []
            for cell, kind, layer, item, pos in lay.step_cells(k):
                assert cell.sheet == sheet
                cells.append((cell.row - base, cell.col, kind, layer, item, pos))
            cache[key] = sorted(cells, key=lambda c: (c[0], c[1]))  # the order rows are written in
        return base, cache[key]

    def _exercise_cells(self, k, vals):
        """The cells of step k of an exercise, in computation order: an answer cell is left empty, and
        a cell that reads an answer, or reads a cell waiting for one, waits too (exercise.Pending)."""
        for cell, kind, layer, item, pos in self.lay.step_cells(k):
            value = vals.get(kind, layer, item, pos)
            fmt = self.fmt[self.styles(kind, layer, item)]
            if kind in self.answer_kinds and self.scope.covers(self.lay, kind, layer, item, pos):
                self.pending.answer(cell)
                yield cell.row, cell.col, kind, None, value, fmt
            else:
                formula, waiting = self.pending.wrap(cell, self.build.formula(kind, layer, item, k, pos))
                yield cell.row, cell.col, kind, formula, value if waiting is None else waiting, fmt
