"""Several runs of gradient descent on one function in one workbook (fast.ai's comparison).

Every run is live on its own sheets (``adam Settings``, ``adam Steps``; its inputs are
workbook-wide names such as ``adam_eta`` and ``adam_start_x``), and a ``Compare`` sheet holds a
table of the runs (η, steps, f at the start and at the end, each a reference into the run's
sheets), f per step of every run in one chart, and, for two variables, every run's path in one
chart of the plane.
"""

from __future__ import annotations

import numpy as np
import xlsxwriter

from ..compare import sweep
from ..files import atomic_path
from ..i18n import _
from ..ops import OPTIMIZERS
from ..ops.symbols import pretty
from ..sheet.layout import ref
from ..sheet.values import number_style
from .engine import train_function
from .layout import META, FunctionLayout
from .workbook import FORMAT_VERSION, formats, write_run

COMPARE = "Compare"


def function_runs(spec) -> dict:
    """label -> the spec of that run: [compare]'s optimizers with their learning rates (all five
    at the spec's rate without a [compare]), or every combination of its lists of lr and
    optimizer values."""
    if not spec.compare or not isinstance(spec.compare[0][1], tuple):
        pairs = spec.compare or tuple((name, spec.train.lr) for name in OPTIMIZERS)
        return {name: spec.with_train(optimizer=name, lr=lr, eps=None) for name, lr in pairs}
    return {label: spec.with_train(**changes) for label, changes in sweep(spec.compare)}


def write_function_comparison(specs: dict, path: str) -> dict:
    """Run every spec of ``specs`` (label -> spec) and write them into one workbook; returns
    label -> trace."""
    traces = {label: train_function(spec) for label, spec in specs.items()}
    with atomic_path(path, suffix=".xlsx.part") as tmp:
        wb = xlsxwriter.Workbook(tmp, {"strings_to_formulas": False, "strings_to_numbers": False,
                                       "strings_to_urls": False})
        fmt = formats(wb)
        compare = wb.add_worksheet(COMPARE)
        lays = {label: FunctionLayout(t.spec.variables, t.spec.train.optimizer, t.n_steps, prefix=f"{label} ")
                for label, t in traces.items()}
        _write_compare(wb, compare, traces, lays, fmt)
        for label, trace in traces.items():
            write_run(wb, trace, lays[label], fmt)
        meta = wb.add_worksheet(META)
        for r, (key, value) in enumerate((("sheetnet", FORMAT_VERSION), ("layout", "comparison"))):
            meta.write_string(r, 0, key)
            (meta.write_number if isinstance(value, int) else meta.write_string)(r, 1, value)
        meta.hide()
        wb.close()
    return traces


def _write_compare(wb, ws, traces, lays, fmt):
    first = next(iter(traces.values())).spec
    ws.write_string(0, 0, _("Compare: gradient descent on f = {f}, one run per setting").format(f=pretty(first.text)), fmt["title"])
    ws.write_string(1, 0, _("Each run is live on its own sheets (adam Settings, adam Steps, …): change a run's η or "
                            "start point and its curve moves."), fmt["note"])
    heads = ("run", "η", "steps", "f at the start", "f at the end")
    for c, h in enumerate(heads):
        ws.write_string(3, c, h, fmt["head"])
    f_chart = wb.add_chart({"type": "scatter", "subtype": "straight"})
    path_chart = wb.add_chart({"type": "scatter", "subtype": "straight_with_markers"})
    lowest = min(float(np.min(t.values)) for t in traces.values())
    runs = list(traces.values())

    def style(values):  # one number style per column
        return fmt[{"int": "whole"}.get(number_style(values), number_style(values))]

    styles = {1: style([t.spec.train.lr for t in runs]), 3: style([t.values[0] for t in runs]),
              4: style([t.values[-1] for t in runs])}
    for row, (label, trace) in enumerate(traces.items(), start=4):
        lay, n = lays[label], trace.n_steps
        ws.write_string(row, 0, label)
        ws.write_formula(row, 1, "=" + ref(lay.setting("lr"), COMPARE), styles[1], trace.spec.train.lr)
        ws.write_number(row, 2, n, fmt["int"])
        for col, k in ((3, 0), (4, n)):
            ws.write_formula(row, col, "=" + ref(lay.cell("f", k), COMPARE), styles[col], float(trace.values[k]))
        steps_sheet, f_col = lay.steps_sheet, lay.cell("f", 0).col
        f_chart.add_series({"name": label, "categories": [steps_sheet, lay.row(0), 0, lay.row(n - 1), 0],
                            "values": [steps_sheet, lay.row(0), f_col, lay.row(n - 1), f_col],
                            "line": {"width": 1.5}, "categories_data": list(range(1, n + 1)),
                            "values_data": [float(v) for v in trace.values[:n]]})
        if len(trace.spec.variables) == 2:
            x_col, y_col = lay.cell("x", 0, 0).col, lay.cell("x", 0, 1).col
            path_chart.add_series({"name": label, "categories": [steps_sheet, lay.row(0), x_col, lay.row(n), x_col],
                                   "values": [steps_sheet, lay.row(0), y_col, lay.row(n), y_col],
                                   "marker": {"type": "circle", "size": 3}, "line": {"width": 1},
                                   "categories_data": [float(v) for v in trace.points[:, 0]],
                                   "values_data": [float(v) for v in trace.points[:, 1]]})
    f_chart.set_title({"name": _("f per step, one curve per run")})
    f_chart.set_x_axis({"name": "step", "min": 0, "major_gridlines": {"visible": False}})
    f_chart.set_y_axis({"name": "f", **({"log_base": 10} if lowest > 0 else {})})
    f_chart.set_legend({"position": "bottom"})
    below = 4 + len(traces) + 2
    ws.insert_chart(below, 0, f_chart, {"x_scale": 1.0, "y_scale": 1.3})
    if len(first.variables) == 2:
        x, y = first.variables
        path_chart.set_title({"name": _("the paths")})
        path_chart.set_x_axis({"name": x})
        path_chart.set_y_axis({"name": y})
        path_chart.set_legend({"position": "bottom"})
        ws.insert_chart(below, 0, path_chart, {"x_scale": 1.0, "y_scale": 1.3, "x_offset": 500})
    ws.set_column(0, 0, 20)
    ws.set_column(1, 4, 16)
