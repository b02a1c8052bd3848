"""The Run sheet of the CompactLayout: one row per step, the way fast.ai's spreadsheets run
thousands of steps as a live chain."""

from __future__ import annotations

from ..i18n import N_, _
from .layout import SECTION_OF, SECTION_TITLES, STATE_KINDS, VALUE_WIDTH

EQ_CHARS_PER_LINE = 16  # about as many characters of an equation fit a line of a 14-wide column
EQ_MAX_LINES = 4  # the equation row's height, at most (the frozen header stays small)
GROUP_TITLES = {"p0": N_("start"), "gs": N_("per-sample gradients"), "g": N_("batch gradients"),
                "p1": N_("updated parameters")}


def write(w, ws):
    lay, f = w.lay, w.fmt
    ws.write_string(0, 0, _("Run: one row per step ({n} steps); every row starts from the row above").format(
        n=f"{lay.n_steps:,}"), f["title"])
    heads = {}  # col -> (group title, quantity, equation)
    previous = None
    for b in lay.blocks:
        if not lay.materialized(b.kind):
            continue
        group = _(GROUP_TITLES[b.kind]) if b.kind in GROUP_TITLES else \
            w.model.optimizer.equations.get(b.kind) or w.names.section(_(SECTION_TITLES[SECTION_OF[b.kind]]))
        first = group != previous
        previous = group
        for item in range(b.items):
            if b.kind in STATE_KINDS and lay.frozen(item):
                continue
            for pos in range(lay.B if b.per_sample else 1):
                col = lay.cell(b.kind, b.layer, item, 0, pos).col
                name = w.names.name(b.kind, b.layer, item)
                if b.per_sample and lay.B > 1:
                    name += f" #{pos + 1}"
                eq = w.names.equation(w.describe, b.kind, b.layer, item, 0, pos) if pos == 0 else ""
                heads[col] = (group if first else "", name, eq)
                first = False
    # row heights before the rows are written (constant-memory mode ignores them afterwards);
    # the equations wrap inside their column instead of being cut off by the next one
    ws.set_row(1, 30)
    longest = max((len(h[2]) for h in heads.values()), default=0)
    ws.set_row(3, 15 * min(EQ_MAX_LINES, max(1, -(-longest // EQ_CHARS_PER_LINE))) + 4)
    eq = w.wb.add_format({"italic": True, "font_color": "#595959", "text_wrap": True, "valign": "top"})
    ws.write_string(1, 0, _("step"), f["head"])
    ws.write_string(1, 1, _("epoch"), f["head"])
    for row, idx in ((1, 0), (2, 1), (3, 2)):
        for col in sorted(heads):
            if heads[col][idx]:
                ws.write_string(row, col, heads[col][idx], f["head"] if row < 3 else eq)
    for k in range(lay.n_steps):
        cells = [(0, lay.step_number(k), None, f["int"]), (1, lay.epoch(k) + 1, None, f["int"])]  # counted on
        cells += [w.formula_cell(ws.name, row, col, formula, value, fmt)
                  for row, col, _, formula, value, fmt in w.step_cells(k)]
        ws.write_row(lay.row(k), cells)
    ws.freeze_panes(lay.HEAD_ROWS, 2)
    ws.set_column(0, 1, 7)
    ws.set_column(2, lay.n_cols, VALUE_WIDTH)

