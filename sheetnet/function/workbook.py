"""A function run as a workbook of live formulas with the engine's values cached: change η or a
starting value on the Settings sheet and the whole path recomputes.

Sheets: Guide; Settings (η, the decay, the optimizer's settings and the start point, all named
cells); Steps (one row per step, the equations above the columns, the loss chart and the path
over a landscape of f beside it); a hidden sheet with the spec.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xlsxwriter

from ..files import atomic_path
from ..i18n import _
from ..ops import OPTIMIZERS
from ..ops import formula as f
from ..ops.symbols import pretty
from ..sheet.layout import VALUE_WIDTH, ref
from ..sheet.values import number_style
from ..sheet.workbook import NUM_FORMAT, SMALL_FORMAT
from ..sheet.stream import FastWorksheet
from ..walkthrough import SETTING_SYMBOLS
from .layout import GRID, GUIDE, META, FunctionLayout
from .printing import formula, numpy_function
from .spec import to_toml

SYMBOLS = {key: value for key, value in SETTING_SYMBOLS.items()}  # settings in the equation row

FORMAT_VERSION = 1
MEANINGS = {"lr": "η, the learning rate", "lr_decay": "η_k = η/(1 + lr_decay·k), k counting steps from 0",
            "momentum": "momentum μ", "beta1": "Adam's β₁", "beta2": "Adam's β₂", "alpha": "RMSprop's decay α",
            "eps": "ε in the denominator"}


def step_formulas(spec, lay: FunctionLayout, k: int, last: bool = False) -> dict:
    """The formula text (no "=") of every computed cell of step k, keyed (group, variable
    index): the point x (from the start, or the previous row's x⁺), f there, η_k, each ∂f/∂v,
    the optimizer's state and x⁺.  With ``last``, only the end point and its f.  The writer,
    the audit and the grading all take their formulas from here."""
    opt, names, at = OPTIMIZERS[spec.train.optimizer], spec.variables, lay.steps_sheet
    hp = {key: lay.name(key) for key in ("momentum", "beta1", "beta2", "alpha", "eps")}
    out, point = {}, {}
    for j, v in enumerate(names):
        src = lay.start(j) if k == 0 else lay.cell("x+", k - 1, j)
        out["x", j] = ref(src, at)
        point[v] = ref(lay.cell("x", k, j), at)
    out["f", 0] = formula(spec.expr, point)
    if last:
        return out
    lr = lay.cell("lr", k)
    out["lr", 0] = f.div(lay.name("lr"), f.add("1", f.mul(lay.name("lr_decay"), str(k))))
    for j, (v, g) in enumerate(zip(names, spec.gradient())):
        out["g", j] = formula(g, point)
    for j, v in enumerate(names):
        g = ref(lay.cell("g", k, j), at)
        prev = {s: ref(lay.cell(f"s:{s}", k - 1, j), at) for s in opt.state} if k > 0 else {}
        cur = {s: ref(lay.cell(f"s:{s}", k, j), at) for s in lay.state_names}
        for s in lay.state_names:
            out[f"s:{s}", j] = opt.xl_state(s, g, prev, cur, str(k + 1), hp)
        out["x+", j] = opt.xl_param(point[v], g, cur, ref(lr, at), hp)
    return out


def step_values(trace, k: int) -> dict:
    """The engine's value of every cell ``step_formulas`` gives, keyed alike."""
    out = {("f", 0): trace.values[k]}
    for j in range(len(trace.spec.variables)):
        out["x", j] = trace.points[k, j]
        if k < trace.n_steps:
            out["g", j], out["x+", j] = trace.grads[k, j], trace.points[k + 1, j]
            for s, values in {**trace.states, **trace.shown}.items():
                out[f"s:{s}", j] = values[k, j]
    if k < trace.n_steps:
        out["lr", 0] = trace.lr[k]
    return out


@dataclass(frozen=True)
class Exercise:
    """A hand calculation: the partial derivatives, the optimizer's state and the updated point
    of every step are left blank for the student; what follows from them waits, empty."""
    hide_equations: bool = False


def write_function_workbook(trace, path: str, exercise: Exercise | None = None) -> str:
    spec = trace.spec
    lay = FunctionLayout(spec.variables, spec.train.optimizer, trace.n_steps)
    with atomic_path(path, suffix=".xlsx.part") as tmp:
        wb = xlsxwriter.Workbook(tmp, {"strings_to_formulas": False, "strings_to_numbers": False,
                                       "strings_to_urls": False})
        fmt = formats(wb)
        _guide(wb.add_worksheet(GUIDE), spec, fmt, exercise)
        write_run(wb, trace, lay, fmt, exercise)
        meta = wb.add_worksheet(META)
        rows = [("sheetnet", FORMAT_VERSION), ("layout", "function"), ("spec", to_toml(spec))]
        if exercise is not None:
            rows += [("exercise", "g,state,update"), ("hide_equations", int(exercise.hide_equations))]
        for r, (key, value) in enumerate(rows):
            meta.write_string(r, 0, key)
            (meta.write_number if isinstance(value, int) else meta.write_string)(r, 1, value)
        meta.hide()
        wb.close()
    return path


def formats(wb) -> dict:
    return {"title": wb.add_format({"bold": True, "font_size": 14}),
            "head": wb.add_format({"bold": True, "bottom": 1, "align": "center"}),
            "eq": wb.add_format({"italic": True, "font_color": "#555555", "align": "center"}),
            "input": wb.add_format({"font_color": "#0000CC", "bg_color": "#FFF2CC", "border": 1}),
            "answer": wb.add_format({"bg_color": "#E2EFDA", "border": 1}),
            "int": wb.add_format({"num_format": "0", "align": "center"}),
            "num": wb.add_format({"num_format": "General"}),
            # one number style per column of the Steps table (sheet.values.number_style)
            "value": wb.add_format({"num_format": NUM_FORMAT}), "small": wb.add_format({"num_format": SMALL_FORMAT}),
            "whole": wb.add_format({"num_format": "0"}),
            "note": wb.add_format({"italic": True, "font_color": "#555555"}),
            # the landscape: a colour map, its numbers short (each cell holds the full value)
            "grid": wb.add_format({"num_format": "0.0#", "font_size": 8}),
            "grid_axis": wb.add_format({"num_format": "0.0#", "font_size": 8, "bold": True})}


def write_run(wb, trace, lay, fmt, exercise=None):
    """The Settings and Steps sheets of one run (named by ``lay``'s prefix)."""
    _settings(wb, wb.add_worksheet(lay.settings_sheet, worksheet_class=FastWorksheet), trace.spec, lay, fmt)
    _steps(wb, wb.add_worksheet(lay.steps_sheet, worksheet_class=FastWorksheet), trace, lay, fmt, exercise)


def _guide(ws, spec, fmt, exercise=None):
    ws.write_string(0, 0, _("Gradient descent on f = {f}").format(f=pretty(spec.text)), fmt["title"])
    lines = [_("Every number on the Steps sheet is a formula. Change η or a starting value on the Settings sheet "
               "(yellow cells) and the whole path recomputes (LibreOffice: Ctrl+Shift+F9)."),
             _("One row per step: the point, f there, the exact partial derivatives, the optimizer's state and "
               "the next point."),
             _("optimizer: {optimizer} · {steps} steps").format(optimizer=spec.train.optimizer, steps=spec.steps)]
    if exercise is not None:
        lines.append(_("An exercise: fill in the green cells of the Steps sheet (the partial derivatives, the "
                       "optimizer's state and the updated point), save, then run `sheetnet audit` on the file."))
    for r, text in enumerate(lines, start=2):
        ws.write_string(r, 0, text)
    ws.set_column(0, 0, 110)


def _settings(wb, ws, spec, lay, fmt):
    ws.write_string(0, 0, _("Settings: edit the yellow cells"), fmt["title"])
    tr = spec.train
    for key in lay.settings:
        c = lay.setting(key)
        ws.write_string(c.row, 0, lay.name(key))
        ws.write_number(c.row, 1, getattr(tr, key), fmt["input"])
        ws.write_string(c.row, 2, MEANINGS[key], fmt["note"])
        wb.define_name(lay.name(key), f"={c.where(True)}")
    head = lay.start(0).row - 1
    ws.write_string(head, 0, _("start point"), fmt["head"])
    for j, v in enumerate(spec.variables):
        c = lay.start(j)
        ws.write_string(c.row, 0, lay.start_name(v))
        ws.write_number(c.row, 1, spec.start[j], fmt["input"])
        wb.define_name(lay.start_name(v), f"={c.where(True)}")
    ws.set_column(0, 0, 14)
    ws.set_column(1, 1, 14)
    ws.set_column(2, 2, 50)


def _waiting(text: str, on: list[str]) -> str:
    """``text`` once every cell of ``on`` holds a number, "" until then (an exercise's cell
    that follows from the student's answers)."""
    return f.if_(f"COUNT({','.join(on)})<{len(on)}", '""', text)


def _steps(wb, ws, trace, lay, fmt, exercise=None):
    spec, opt = trace.spec, OPTIMIZERS[trace.spec.train.optimizer]
    names, steps, at = spec.variables, trace.n_steps, lay.steps_sheet
    grads = spec.gradient()
    ws.write_string(0, 0, _("Steps: gradient descent on f = {f}").format(f=pretty(spec.text)), fmt["title"])
    ws.write_string(1, 0, _("one row per step; every cell is a formula of the Settings sheet's inputs"), fmt["note"])
    heads = {lay.cell("step", 0).col: "step", lay.cell("lr", 0).col: "η", lay.cell("f", 0).col: "f"}
    eqs = {lay.cell("lr", 0).col: "η/(1 + lr_decay·k)",
           lay.cell("f", 0).col: "f = " + pretty(formula(spec.expr, {v: v for v in names}))}
    for j, v in enumerate(names):
        heads[lay.cell("x", 0, j).col] = v
        heads[lay.cell("g", 0, j).col] = f"∂f/∂{v}"
        eqs[lay.cell("g", 0, j).col] = f"∂f/∂{v} = " + pretty(formula(grads[j], {u: u for u in names}))
        heads[lay.cell("x+", 0, j).col] = f"{v}⁺"
        symbols = {s: f"{s}[{v}]" for s in lay.state_names}
        eqs[lay.cell("x+", 0, j).col] = f"{v}⁺ = " + pretty(opt.xl_param(v, f"∂f/∂{v}", symbols, "η", SYMBOLS))
        for s in lay.state_names:
            heads[lay.cell(f"s:{s}", 0, j).col] = f"{s}[{v}]"
    for col, text in heads.items():
        ws.write_string(3, col, text, fmt["head"])
    if exercise is None or not exercise.hide_equations:
        for col, text in eqs.items():
            ws.write_string(2, col, text, fmt["eq"])
    answers = {(g, j) for g, j in lay.answers(0)} if exercise is not None else set()
    columns = {("f", 0): trace.values, ("lr", 0): trace.lr}
    for j in range(len(names)):
        columns.update({("x", j): trace.points[:, j], ("g", j): trace.grads[:, j], ("x+", j): trace.points[1:, j]})
        columns.update({(f"s:{s}", j): v[:, j] for s, v in {**trace.states, **trace.shown}.items()})
    style = {key: fmt[{"int": "whole"}.get(number_style(v), number_style(v))] for key, v in columns.items()}
    for k in range(steps + 1):
        row = lay.row(k)
        if k < steps:
            ws.write_number(row, 0, k + 1, fmt["int"])
        else:
            ws.write_string(row, 0, _("end"), fmt["head"])
        text, value = step_formulas(spec, lay, k, last=k == steps), step_values(trace, k)
        point = [ref(lay.cell("x", k, j), at) for j in range(len(names))]
        for (group, j), formula_text in text.items():
            c = lay.cell(group, k, j)
            if (group, j) in answers:
                ws.write_blank(c.row, c.col, None, fmt["answer"])
            elif exercise is not None and k > 0 and group in ("x", "f"):
                on = [ref(lay.cell("x+", k - 1, j), at)] if group == "x" else point
                ws.write_formula(c.row, c.col, "=" + _waiting(formula_text, on), style[group, j], "")
            else:
                ws.write_formula(c.row, c.col, "=" + formula_text, style[group, j], value[group, j])
    ws.set_column(0, 0, 6)
    ws.set_column(1, lay.width, VALUE_WIDTH)
    ws.freeze_panes(4, 1)
    if exercise is None:
        _charts(wb, ws, trace, lay, fmt)


def _charts(wb, ws, trace, lay, fmt):
    """f per step; the path over a landscape of f (one variable: the curve; two: a coloured grid)."""
    spec, steps = trace.spec, trace.n_steps
    first, last = lay.row(0), lay.row(steps)
    chart = wb.add_chart({"type": "scatter", "subtype": "straight_with_markers"})
    chart.add_series({"name": "f", "categories": [lay.steps_sheet, first, 0, last - 1, 0],
                      "values": [lay.steps_sheet, first, lay.cell("f", 0).col, last, lay.cell("f", 0).col]})
    chart.set_title({"name": _("f per step")})
    chart.set_x_axis({"name": "step"})
    chart.set_legend({"none": True})
    n = len(spec.variables)
    if n > 2:
        ws.insert_chart(last + 2, 1, chart)
        return
    lo, hi = trace.points.min(axis=0), trace.points.max(axis=0)
    pad = np.maximum((hi - lo) * 0.15, 0.5)
    axes = [np.linspace(lo[j] - pad[j], hi[j] + pad[j], GRID) for j in range(n)]
    col0 = lay.landscape_col
    ws.set_column(col0, col0 + (GRID if n == 2 else 1), 6)  # the colour map's cells: short numbers, narrow
    title = _("landscape: f around the path")
    if n == 2:
        title += " (" + _("{y} across, {x} down").format(x=spec.variables[0], y=spec.variables[1]) + ")"
    ws.write_string(lay.FIRST_ROW_OF_LANDSCAPE - 1, col0, title)
    f_np = numpy_function(spec.expr, spec.symbols)
    for i, x in enumerate(axes[0]):
        c = lay.grid_axis(0, i)
        ws.write_number(c.row, c.col, float(x), fmt["grid_axis"])
    if n == 1:
        for i, x in enumerate(axes[0]):
            c, at = lay.grid_value(i), lay.grid_axis(0, i)
            with np.errstate(all="ignore"):
                value = float(f_np(x))
            ws.write_formula(c.row, c.col, "=" + formula(spec.expr, {spec.variables[0]: ref(at, lay.steps_sheet)}), fmt["grid"],
                             value if np.isfinite(value) else 0)
        path = wb.add_chart({"type": "scatter", "subtype": "straight"})
        top, bottom = lay.grid_axis(0, 0).row, lay.grid_axis(0, GRID - 1).row
        path.add_series({"name": "f", "categories": [lay.steps_sheet, top, col0, bottom, col0],
                         "values": [lay.steps_sheet, top, col0 + 1, bottom, col0 + 1]})
        path.add_series({"name": _("the path"), "categories": [lay.steps_sheet, first, lay.cell("x", 0).col, last,
                                                                lay.cell("x", 0).col],
                         "values": [lay.steps_sheet, first, lay.cell("f", 0).col, last, lay.cell("f", 0).col],
                         "marker": {"type": "circle", "size": 6}, "line": {"none": True}})
        path.set_x_axis({"name": spec.variables[0]})
        path.set_y_axis({"name": "f"})
    else:
        for j, y in enumerate(axes[1]):
            c = lay.grid_axis(1, j)
            ws.write_number(c.row, c.col, float(y), fmt["grid_axis"])
        x_name, y_name = spec.variables
        for i, x in enumerate(axes[0]):
            for j, y in enumerate(axes[1]):
                c = lay.grid_value(i, j)
                refs = {x_name: ref(lay.grid_axis(0, i), lay.steps_sheet, absolute=False), y_name: ref(lay.grid_axis(1, j), lay.steps_sheet)}
                with np.errstate(all="ignore"):
                    value = float(f_np(x, y))
                ws.write_formula(c.row, c.col, "=" + formula(spec.expr, refs), fmt["grid"],
                                 value if np.isfinite(value) else 0)
        first_cell, last_cell = lay.grid_value(0, 0), lay.grid_value(GRID - 1, GRID - 1)
        ws.conditional_format(first_cell.row, first_cell.col, last_cell.row, last_cell.col,
                              {"type": "3_color_scale", "min_color": "#2C7BB6", "mid_color": "#FFFFBF",
                               "max_color": "#D7191C"})
        path = wb.add_chart({"type": "scatter", "subtype": "straight_with_markers"})
        path.add_series({"name": _("the path"), "categories": [lay.steps_sheet, first, lay.cell("x", 0, 0).col, last,
                                                                lay.cell("x", 0, 0).col],
                         "values": [lay.steps_sheet, first, lay.cell("x", 0, 1).col, last, lay.cell("x", 0, 1).col]})
        path.set_x_axis({"name": x_name})
        path.set_y_axis({"name": y_name})
    path.set_title({"name": _("the path")})
    path.set_legend({"position": "bottom"})
    below = lay.grid_axis(0, GRID - 1).row + 2
    ws.insert_chart(below, col0, chart, {"x_scale": 1.1})
    ws.insert_chart(below + 17, col0, path, {"x_scale": 1.1})
