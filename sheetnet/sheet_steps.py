"""A step sheet of the StepsLayout: the step as a textbook prints it."""

from __future__ import annotations

from .layout import PARAM_KINDS, SECTION_TITLES, Cell

PARAM_HEADS = {"p0": "start", "gs": "g (sample {n})", "g": "gradient g", "p1": "updated"}


def write(w, ws, k):
    """Write step ``k`` on ``ws`` (``w`` is the workbook writer)."""
    lay, trace, f = w.lay, w.trace, w.fmt
    samples = lay.samples(k)
    e = lay.steps[k][0]
    cells = []  # (row, col, kind, content, value, format)

    def text(row, col, s, fmt):
        cells.append((row, col, "s", s, None, fmt))

    text(0, 0, f"Step {k + 1} of {lay.n_steps}", f["title"])
    text(1, 0, f"epoch {e + 1} · sample(s) {', '.join(str(int(n) + 1) for n in samples)} of the Data sheet",
         f["subtitle"])
    text(3, 0, "quantity", f["head"])
    text(3, 1, "equation", f["head"])
    for pos, n in enumerate(samples):
        text(3, lay.FIRST_COL + pos, f"sample {int(n) + 1}", f["head"])
    for row, section in lay.section_rows:
        text(row, 0, SECTION_TITLES[section], f["section"])
    text(lay.param_header_row - 1, 0, SECTION_TITLES["update"] + " (one row per parameter)", f["section"])
    # labels and equations
    for b in lay.blocks:
        if b.kind in PARAM_KINDS:
            continue
        for item in range(b.items):
            row = lay.cell(b.kind, b.layer, item, k).row
            text(row, 0, w.names.name(b.kind, b.layer, item), f["label"])
            text(row, 1, w.names.equation(w.describe, b.kind, b.layer, item, k), f["eq"])
    # the parameter table
    hr = lay.param_header_row
    text(hr, 0, "parameter", f["head"])
    text(hr, 1, "gradient (one sample)" if lay.max_batch > 1 else "gradient", f["head"])
    opt = w.model.optimizer
    for kind, col in lay.param_cols.items():
        if kind == "gs":
            for pos, n in enumerate(samples):
                text(hr, col + pos, PARAM_HEADS["gs"].format(n=int(n) + 1), f["head"])
        else:
            head = PARAM_HEADS.get(kind) or opt.equations.get(kind, kind)
            if kind == "p1":
                head += ": " + opt.equations["param"]
            text(hr, col, head, f["head"])
    P = w.model.params
    for idx in range(P.size):
        row = lay.param_first_row + idx
        text(row, 0, P.labels[idx], f["label"])
        text(row, 1, w.names.equation(w.describe, "gs", None, idx, k), f["eq"])
    for cell, formula, value in w.step_cells(k):
        cells.append((cell.row, cell.col, "f", formula, value, None))
    cells.sort(key=lambda c: (c[0], c[1]))
    for row, col, kind, content, value, fmt in cells:
        if kind == "s":
            ws.write_string(row, col, content, fmt)
        else:
            w.formula(ws, Cell(ws.name, row, col), content, value)
    ws.freeze_panes(4, 2)
    ws.set_column(0, 0, 13)
    ws.set_column(1, 1, 38)
    ws.set_column(2, lay.n_cols, 15)
    ws.set_row(hr, 45)

