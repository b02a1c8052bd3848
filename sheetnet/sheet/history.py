"""The Losses sheet (not "History", which English Excel reserves): the loss of every step,
the parameters after every epoch, a chart."""

from __future__ import annotations

from ..i18n import _
from .layout import HISTORY, VALUE_WIDTH, ref

MARKERS_UP_TO = 30  # steps: a run this short is drawn with a marker on each point


def diverged_note(trace) -> str:
    """The line a diverged run shows (History sheet, terminal): where it stopped and why."""
    return _("The run diverged at step {step} (loss {loss}; {what}: not finite, or too large for a spreadsheet): "
             "it stops after epoch {epoch}, step {last}.").format(
        step=trace.diverged_at, loss=f"{trace.diverged_loss:.6g}", what=getattr(trace, "diverged_what", "values"),
        epoch=trace.steps[-1][0] + 1 + trace.start.epoch, last=trace.n_steps + trace.start.step)


def write(w, ws):
    lay, f, trace = w.lay, w.fmt, w.trace
    here = lay.sheets.sheet(HISTORY)
    P, sheets = w.model.params, lay.sheets
    loss_kind = lay.loss_kind()
    top = sheets.HISTORY_FIRST_ROW
    ws.write_string(0, 0, _("Losses: batch loss of every step (before its update) and parameters after every "
                            "epoch"), f["title"])
    if getattr(trace, "diverged_at", None) is not None:
        ws.write_string(1, 0, diverged_note(trace), f["title"])
    for col, h in enumerate((_("step"), _("epoch"), _("batch loss"))):
        ws.write_string(top - 1, col, h, f["head"])
    pcol = sheets.HISTORY_PARAMS_COL
    ws.write_string(top - 1, pcol, _("after epoch"), f["head"])
    for idx, label in enumerate(P.labels):
        ws.write_string(top - 1, pcol + 1 + idx, label, f["head"])
    ends = lay.epoch_ends()
    loss_fmt = w.style(trace.loss[: lay.n_steps])  # one number style per column
    param_fmt = [w.style(trace.thetas[[s + 1 for s in ends], idx]) for idx in range(P.size)]
    for k in range(max(lay.n_steps, len(ends))):
        row = top + k
        cells = []
        if k < lay.n_steps:
            cells += [(0, lay.step_number(k), None, f["int"]), (1, lay.epoch(k) + 1, None, f["int"])]
            src = lay.cell(loss_kind, None, 0, k)
            c = sheets.history_loss(k)
            cells.append(w.formula_cell(here, c.row, c.col, ref(src, here), trace.loss[k], loss_fmt))
        if k < len(ends):
            s = ends[k]
            cells.append((pcol, lay.epoch(s) + 1, None, f["int"]))
            for idx in range(P.size):
                src = lay.cell("p1", None, idx, s)
                c = sheets.history_param(k, idx)
                cells.append(w.formula_cell(here, c.row, c.col, ref(src, here), trace.thetas[s + 1, idx],
                                            param_fmt[idx]))
        ws.write_row(row, sorted(cells, key=lambda c: c[0]))
    # a scatter chart: its step axis is numeric, so it gets a few round tick labels (a line
    # chart labels every category and the labels run together); a short run shows its points
    chart = w.wb.add_chart({"type": "scatter", "subtype": "straight"})
    n = lay.n_steps
    chart.add_series({"name": _("batch loss"), "categories": [here, top, 0, top + n - 1, 0],
                      "values": [here, top, 2, top + n - 1, 2], "line": {"width": 1.5},
                      # cached points, for viewers that draw charts without recalculating
                      "categories_data": list(range(1, n + 1)), "values_data": [float(x) for x in trace.loss[:n]],
                      "marker": {"type": "circle", "size": 5} if n <= MARKERS_UP_TO else {"type": "none"}})
    chart.set_title({"name": _("Batch loss per step")})
    chart.set_x_axis({"name": _("step"), "min": 0, "max": max(n, 2), "num_format": "0",
                      "major_unit": 1 if n <= 10 else None, "major_gridlines": {"visible": False}})
    chart.set_y_axis({"name": _("batch loss"), "num_format": "0.0000"})
    chart.set_legend({"none": True})
    ws.insert_chart(2, 4, chart, {"x_scale": 1.3, "y_scale": 1.2})
    ws.freeze_panes(top, 0)
    ws.set_column(0, 1, 7)
    ws.set_column(2, 2, VALUE_WIDTH)
    ws.set_column(pcol, pcol, 11)
    ws.set_column(pcol + 1, pcol + P.size, VALUE_WIDTH)
