"""A function run as a workbook of live formulas with the engine's values cached: change η or a
starting value on the Settings sheet and the whole path recomputes.

Sheets: Guide; Settings (η, the decay, the optimizer's settings and the start point, all named
cells); Steps (one row per step, the equations above the columns, the loss chart and the path
over a landscape of f beside it); a hidden sheet with the spec.
"""

from __future__ import annotations

import numpy as np
import xlsxwriter

from ..files import atomic_path
from ..i18n import _
from ..ops import OPTIMIZERS
from ..ops import formula as f
from ..ops.symbols import pretty
from ..sheet.layout import ref
from ..walkthrough import SETTING_SYMBOLS
from .layout import GRID, GUIDE, META, SETTING_NAMES, SETTINGS, STEPS, FunctionLayout
from .printing import formula, numpy_function
from .spec import to_toml

SYMBOLS = {key: value for key, value in SETTING_SYMBOLS.items()}  # settings in the equation row

FORMAT_VERSION = 1
MEANINGS = {"lr": "η, the learning rate", "lr_decay": "η_k = η/(1 + lr_decay·k), k counting steps from 0",
            "momentum": "momentum μ", "beta1": "Adam's β₁", "beta2": "Adam's β₂", "alpha": "RMSprop's decay α",
            "eps": "ε in the denominator"}


def write_function_workbook(trace, path: str) -> str:
    spec = trace.spec
    lay = FunctionLayout(spec.variables, spec.train.optimizer, trace.n_steps)
    with atomic_path(path, suffix=".xlsx.part") as tmp:
        wb = xlsxwriter.Workbook(tmp, {"strings_to_formulas": False, "strings_to_numbers": False,
                                       "strings_to_urls": False})
        fmt = {"title": wb.add_format({"bold": True, "font_size": 14}),
               "head": wb.add_format({"bold": True, "bottom": 1, "align": "center"}),
               "eq": wb.add_format({"italic": True, "font_color": "#555555", "align": "center"}),
               "input": wb.add_format({"font_color": "#0000CC", "bg_color": "#FFF2CC", "border": 1}),
               "int": wb.add_format({"num_format": "0", "align": "center"}),
               "num": wb.add_format({"num_format": "General"}),
               "note": wb.add_format({"italic": True, "font_color": "#555555"})}
        _guide(wb.add_worksheet(GUIDE), spec, fmt)
        _settings(wb, wb.add_worksheet(SETTINGS), spec, lay, fmt)
        _steps(wb, wb.add_worksheet(STEPS), trace, lay, fmt)
        meta = wb.add_worksheet(META)
        meta.write_string(0, 0, "sheetnet")
        meta.write_number(0, 1, FORMAT_VERSION)
        meta.write_string(1, 0, "layout")
        meta.write_string(1, 1, "function")
        meta.write_string(2, 0, "spec")
        meta.write_string(2, 1, to_toml(spec))
        meta.hide()
        wb.close()
    return path


def _guide(ws, spec, fmt):
    ws.write_string(0, 0, _("Gradient descent on f = {f}").format(f=pretty(spec.text)), fmt["title"])
    lines = [_("Every number on the Steps sheet is a formula. Change η or a starting value on the Settings sheet "
               "(yellow cells) and the whole path recomputes (LibreOffice: Ctrl+Shift+F9)."),
             _("One row per step: the point, f there, the exact partial derivatives, the optimizer's state and "
               "the next point."),
             _("optimizer: {optimizer} · {steps} steps").format(optimizer=spec.train.optimizer, steps=spec.steps)]
    for r, text in enumerate(lines, start=2):
        ws.write_string(r, 0, text)
    ws.set_column(0, 0, 110)


def _settings(wb, ws, spec, lay, fmt):
    ws.write_string(0, 0, _("Settings: edit the yellow cells"), fmt["title"])
    tr = spec.train
    for key in lay.settings:
        c = lay.setting(key)
        ws.write_string(c.row, 0, SETTING_NAMES[key])
        ws.write_number(c.row, 1, getattr(tr, key), fmt["input"])
        ws.write_string(c.row, 2, MEANINGS[key], fmt["note"])
        wb.define_name(SETTING_NAMES[key], f"='{SETTINGS}'!{c.a1(True)}")
    head = lay.start(0).row - 1
    ws.write_string(head, 0, _("start point"), fmt["head"])
    for j, v in enumerate(spec.variables):
        c = lay.start(j)
        ws.write_string(c.row, 0, lay.start_name(v))
        ws.write_number(c.row, 1, spec.start[j], fmt["input"])
        wb.define_name(lay.start_name(v), f"='{SETTINGS}'!{c.a1(True)}")
    ws.set_column(0, 0, 14)
    ws.set_column(1, 1, 14)
    ws.set_column(2, 2, 50)


def _steps(wb, ws, trace, lay, fmt):
    spec, opt = trace.spec, OPTIMIZERS[trace.spec.train.optimizer]
    names, steps = spec.variables, trace.n_steps
    hp = {key: SETTING_NAMES[key] for key in ("momentum", "beta1", "beta2", "alpha", "eps")}
    grads = spec.gradient()
    ws.write_string(0, 0, _("Gradient descent on f = {f}").format(f=pretty(spec.text)), fmt["title"])
    ws.write_string(1, 0, _("one row per step; every cell is a formula of the Settings sheet's inputs"), fmt["note"])
    heads = {lay.cell("step", 0).col: "step", lay.cell("lr", 0).col: "η", lay.cell("f", 0).col: "f"}
    eqs = {lay.cell("lr", 0).col: "η/(1 + lr_decay·k)", lay.cell("f", 0).col: "f = " + pretty(formula(spec.expr, {v: v for v in names}))}
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
    for col, text in eqs.items():
        ws.write_string(2, col, text, fmt["eq"])
    values = {**trace.states, **trace.shown}
    for k in range(steps + 1):
        row = lay.row(k)
        if k < steps:
            ws.write_number(row, 0, k + 1, fmt["int"])
        else:
            ws.write_string(row, 0, _("end"), fmt["head"])
        at = STEPS
        point = {}
        for j, v in enumerate(names):
            src = ref(lay.start(j), at) if k == 0 else ref(lay.cell("x+", k - 1, j), at)
            c = lay.cell("x", k, j)
            ws.write_formula(c.row, c.col, f"={src}", fmt["num"], trace.points[k, j])
            point[v] = ref(c, at)
        c = lay.cell("f", k)
        ws.write_formula(c.row, c.col, "=" + formula(spec.expr, point), fmt["num"], trace.values[k])
        if k == steps:
            break
        lr = lay.cell("lr", k)
        ws.write_formula(lr.row, lr.col, "=" + f.div("eta", f.add("1", f.mul("lr_decay", str(k)))), fmt["num"],
                         trace.lr[k])
        for j, v in enumerate(names):
            g = lay.cell("g", k, j)
            ws.write_formula(g.row, g.col, "=" + formula(grads[j], point), fmt["num"], trace.grads[k, j])
            prev = {s: ref(lay.cell(f"s:{s}", k - 1, j), at) for s in opt.state} if k > 0 else {}
            cur = {s: ref(lay.cell(f"s:{s}", k, j), at) for s in lay.state_names}
            for s in lay.state_names:
                c = lay.cell(f"s:{s}", k, j)
                ws.write_formula(c.row, c.col, "=" + opt.xl_state(s, ref(g, at), prev, cur, str(k + 1), hp),
                                 fmt["num"], values[s][k, j])
            c = lay.cell("x+", k, j)
            ws.write_formula(c.row, c.col, "=" + opt.xl_param(point[v], ref(g, at), cur, ref(lr, at), hp),
                             fmt["num"], trace.points[k + 1, j])
    ws.set_column(0, 0, 6)
    ws.set_column(1, lay.width, 14)
    ws.freeze_panes(4, 1)
    _charts(wb, ws, trace, lay)


def _charts(wb, ws, trace, lay):
    """f per step; the path over a landscape of f (one variable: the curve; two: a coloured grid)."""
    spec, steps = trace.spec, trace.n_steps
    first, last = lay.row(0), lay.row(steps)
    chart = wb.add_chart({"type": "scatter", "subtype": "straight_with_markers"})
    chart.add_series({"name": "f", "categories": [STEPS, first, 0, last - 1, 0],
                      "values": [STEPS, first, lay.cell("f", 0).col, last, lay.cell("f", 0).col]})
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
    ws.write_string(lay.grid_axis(0, 0).row - 1 - (n == 1), col0, _("landscape: f around the path"))
    f_np = numpy_function(spec.expr, spec.symbols)
    for i, x in enumerate(axes[0]):
        c = lay.grid_axis(0, i)
        ws.write_number(c.row, c.col, float(x))
    if n == 1:
        for i, x in enumerate(axes[0]):
            c, at = lay.grid_value(i), lay.grid_axis(0, i)
            with np.errstate(all="ignore"):
                value = float(f_np(x))
            ws.write_formula(c.row, c.col, "=" + formula(spec.expr, {spec.variables[0]: ref(at, STEPS)}), None,
                             value if np.isfinite(value) else 0)
        path = wb.add_chart({"type": "scatter", "subtype": "straight"})
        top, bottom = lay.grid_axis(0, 0).row, lay.grid_axis(0, GRID - 1).row
        path.add_series({"name": "f", "categories": [STEPS, top, col0, bottom, col0],
                         "values": [STEPS, top, col0 + 1, bottom, col0 + 1]})
        path.add_series({"name": _("the path"), "categories": [STEPS, first, lay.cell("x", 0).col, last,
                                                                lay.cell("x", 0).col],
                         "values": [STEPS, first, lay.cell("f", 0).col, last, lay.cell("f", 0).col],
                         "marker": {"type": "circle", "size": 6}, "line": {"none": True}})
        path.set_x_axis({"name": spec.variables[0]})
        path.set_y_axis({"name": "f"})
    else:
        for j, y in enumerate(axes[1]):
            c = lay.grid_axis(1, j)
            ws.write_number(c.row, c.col, float(y))
        x_name, y_name = spec.variables
        for i, x in enumerate(axes[0]):
            for j, y in enumerate(axes[1]):
                c = lay.grid_value(i, j)
                refs = {x_name: ref(lay.grid_axis(0, i), STEPS, absolute=False), y_name: ref(lay.grid_axis(1, j), STEPS)}
                with np.errstate(all="ignore"):
                    value = float(f_np(x, y))
                ws.write_formula(c.row, c.col, "=" + formula(spec.expr, refs), None, value if np.isfinite(value) else 0)
        first_cell, last_cell = lay.grid_value(0, 0), lay.grid_value(GRID - 1, GRID - 1)
        ws.conditional_format(first_cell.row, first_cell.col, last_cell.row, last_cell.col,
                              {"type": "3_color_scale", "min_color": "#2C7BB6", "mid_color": "#FFFFBF",
                               "max_color": "#D7191C"})
        ws.write_string(lay.grid_axis(1, 0).row - 1, col0 + 1, _("{y} across, {x} down").format(x=x_name, y=y_name))
        path = wb.add_chart({"type": "scatter", "subtype": "straight_with_markers"})
        path.add_series({"name": _("the path"), "categories": [STEPS, first, lay.cell("x", 0, 0).col, last,
                                                                lay.cell("x", 0, 0).col],
                         "values": [STEPS, first, lay.cell("x", 0, 1).col, last, lay.cell("x", 0, 1).col]})
        path.set_x_axis({"name": x_name})
        path.set_y_axis({"name": y_name})
    path.set_title({"name": _("the path")})
    path.set_legend({"position": "bottom"})
    below = lay.grid_axis(0, GRID - 1).row + 2
    ws.insert_chart(below, col0, chart, {"x_scale": 1.1})
    ws.insert_chart(below + 17, col0, path, {"x_scale": 1.1})
