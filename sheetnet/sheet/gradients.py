"""The Gradients sheet: how large each layer's weight gradients are, step by step.

    size_l(k) = (1/n_l)·Σ_w |∂L/∂w|   over the n_l weights of layer l, at step k

as live formulas on the step's gradient cells ((SUMIF(g,">0") − SUMIF(g,"<0"))/n_l, which
every engine computes without array formulas), with a chart on a log scale: the standard
picture of vanishing gradients, which shrink layer by layer toward the input in a deep
sigmoid net.  The values are ``trace.gradient_sizes``.
"""

from __future__ import annotations

import numpy as np

from ..i18n import _
from ..ops import formula as f
from .layout import VALUE_WIDTH, GradientGrid, contiguous, ref, ref_range

MARKERS_UP_TO = 30


class GradientSheet:
    def __init__(self, trace, model, lay):
        self.trace, self.model, self.lay = trace, model, lay
        self.grid = GradientGrid(lay)
        self.sizes = trace.gradient_sizes.to_numpy()

    def cells(self):
        """(cell, name, formula, value) of every gradient size."""
        g = self.grid
        # a layer's gradient cells lie alike in every step: a range, or (else) cell by cell
        ranged = {layer: contiguous(g.gradients(0, layer)) for layer in g.layers}
        for k in range(self.lay.n_steps):
            for j, layer in enumerate(g.layers):
                if ranged[layer]:
                    first, last, n = g.gradient_span(k, layer)
                    text = f.sum_abs(ref_range(first, last, g.sheet))
                else:
                    cells = g.gradients(k, layer)
                    n = len(cells)
                    text = f.add(*[f.abs_(ref(c, g.sheet)) for c in cells])
                text = f.div(text, str(n))
                yield g.cell(k, j), _Name(layer, self.lay.step_number(k)), text, self.sizes[k, j]


def write(w, ws):
    sheet = GradientSheet(w.trace, w.model, w.lay)
    g, fmt, lay = sheet.grid, w.fmt, w.lay
    ws.write_string(0, 0, _("Gradients: the mean |∂L/∂w| over each layer's weights, step by step "
                            "(vanishing gradients shrink toward the input)"), fmt["title"])
    ws.write_string(g.HEAD, 0, _("step"), fmt["head"])
    for j, layer in enumerate(g.layers):
        ws.write_string(g.HEAD, 1 + j, _("layer {l}").format(l=layer + 1), fmt["head"])
    style = fmt["small"]  # sizes span decades: E-notation, 9 significant digits
    row, cells = None, []
    for cell, _name, text, value in sheet.cells():
        if cell.row != row:
            if cells:
                ws.write_row(row, cells)
            row = cell.row
            cells = [(0, lay.step_number(cell.row - g.HEAD - 1), None, fmt["int"])]
        cells.append(w.formula_cell(g.sheet, cell.row, cell.col, text, float(value), style))
    if cells:
        ws.write_row(row, cells)
    n = lay.n_steps
    positive = bool(np.all(sheet.sizes > 0))
    chart = w.wb.add_chart({"type": "scatter", "subtype": "straight"})
    steps = [float(lay.step_number(k)) for k in range(n)]
    for j, layer in enumerate(g.layers):
        chart.add_series({"name": _("layer {l}").format(l=layer + 1), "categories": [g.sheet, g.HEAD + 1, 0, g.HEAD + n, 0],
                          "values": [g.sheet, g.HEAD + 1, 1 + j, g.HEAD + n, 1 + j],
                          "categories_data": steps, "values_data": [float(v) for v in sheet.sizes[:, j]],
                          "line": {"width": 1.5},
                          "marker": {"type": "circle", "size": 4} if n <= MARKERS_UP_TO else {"type": "none"}})
    chart.set_title({"name": _("Gradient size per layer")})
    chart.set_x_axis({"name": _("step"), "num_format": "0", "min": steps[0] - 1, "max": max(steps[-1], steps[0] + 1),
                      "major_gridlines": {"visible": False}})
    y = {"name": "mean |∂L/∂w|", "num_format": "0.0E+0"}
    if positive:
        y.update({"log_base": 10})
    chart.set_y_axis(y)
    chart.set_legend({"position": "right"})
    ws.insert_chart(2, 0, chart, {"x_scale": 1.6, "y_scale": 1.4})
    ws.freeze_panes(g.HEAD + 1, 1)
    ws.set_column(0, 0, 7)
    ws.set_column(1, len(g.layers), VALUE_WIDTH)


class _Name:
    """A gradient size's name in a finding, spelled out only when one is reported."""

    __slots__ = ("layer", "step")

    def __init__(self, layer, step):
        self.layer, self.step = layer, step

    def __str__(self):
        return f"gradient size of layer {self.layer + 1} in step {self.step}"
