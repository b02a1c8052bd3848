"""A step sheet of the StepsLayout: the step as a textbook prints it."""

from __future__ import annotations

from itertools import groupby

from .layout import PARAM_KINDS, SECTION_TITLES, VALUE_WIDTH

GRID_TITLES = {"in": "pixels", "kernel": "filters", "net": "net", "out": "out", "delta": "δ"}
PARAM_HEADS = {"p0": "start", "gs": "g (sample {n})", "g": "gradient g", "p1": "updated"}


def write(w, ws, k):
    """Write step ``k`` on ``ws`` (``w`` is the workbook writer)."""
    lay, f = w.lay, w.fmt
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
    for row in ([] if lay.grids else [3]) + lay.sample_header_rows:
        for pos, n in enumerate(samples):
            text(row, lay.FIRST_COL + pos, f"sample {int(n) + 1}", f["head"])
    for row, section in lay.section_rows:
        text(row, 0, SECTION_TITLES[section], f["section"])
    text(lay.param_header_row - 1, 0, SECTION_TITLES["update"] + " (one row per parameter)", f["section"])
    # labels and equations
    spec = w.model.spec
    for b in lay.blocks:
        if b.kind in PARAM_KINDS:
            continue
        grid = lay.grids.get(b.key)
        if grid is not None:  # a band of little grids: header row, then one grid row-block per sample
            F, H, W = grid
            top = lay.rows[b.key]
            what = "the image" if b.kind == "in" else f"layer {b.layer + 1} ({spec.layers[b.layer + 1].kind})"
            text(top - 1, 0, GRID_TITLES[b.kind], f["label"])
            text(top - 1, 1, f"{what}: " + (w.equation(b.kind, b.layer, 0, k) or "?") + "  (first unit)",
                 f["eq"])
            maps = ["image"] if b.kind == "in" else spec.layers[b.layer + 1].map_names
            for m, name in enumerate(maps):
                text(top - 1, lay.FIRST_COL + m * (W + 1), name, f["head"])
            for pos, n in enumerate(samples if b.per_sample else []):
                text(top + pos * (H + 1), 0, f"sample {int(n) + 1}", f["subtitle"])
            continue
        for item in range(b.items):
            row = lay.cell(b.kind, b.layer, item, k).row
            text(row, 0, w.names.name(b.kind, b.layer, item), f["label"])
            text(row, 1, w.equation(b.kind, b.layer, item, k), f["eq"])
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
            if kind == "p1" and not w.scope.equations_hidden:
                head += ": " + opt.equations["param"]
                if any(lay.frozen(idx) for idx in range(w.model.params.size)):
                    head += "; grey rows frozen: w⁺ = w"  # the rule above does not hold there
            text(hr, col, head, f["head"])
    P = w.model.params
    frozen = [idx for idx in range(P.size) if lay.frozen(idx)]
    for idx in range(P.size):
        row = lay.param_first_row + idx
        if idx in frozen:
            text(row, 0, f"{P.labels[idx]} (frozen)", f["frozen_label"])
            if not w.scope.equations_hidden:  # an exercise without equations shows none, here too
                text(row, 1, f"frozen: {P.labels[idx]}⁺ = {P.labels[idx]} (gradient not used)", f["eq"])
            continue
        text(row, 0, P.labels[idx], f["label"])
        text(row, 1, w.equation("gs", None, idx, k), f["eq"])
    pixel = f["pixel"] if lay.grids.get(("in", None)) else None
    frozen_rows = {lay.param_first_row + idx for idx in frozen}
    for row, col, kind, formula, value, style in w.step_cells(k):
        fmt = pixel if kind == "in" else f["frozen"] if kind == "p1" and row in frozen_rows else style
        cells.append((row, col, "f", formula, value, fmt))
    cells.sort(key=lambda c: (c[0], c[1]))
    ws.set_row(hr, 45)  # before the rows are written: constant-memory mode ignores it afterwards
    for row, group in groupby(cells, key=lambda c: c[0]):
        ws.write_row(row, [(col, content, None, fmt) if kind == "s"
                           else w.formula_cell(ws.name, row, col, content, value, fmt)
                           for _, col, kind, content, value, fmt in group])
    _shade_grids(lay, ws, len(samples))
    ws.freeze_panes(4, 2)
    ws.set_column(0, 0, 13)
    ws.set_column(1, 1, 38)
    ws.set_column(2, lay.n_cols, VALUE_WIDTH)  # -3.71504283E-04 fits: no cell shows ###



PIXEL_SCALE = {"type": "2_color_scale", "min_color": "#FFFFFF", "max_color": "#8C8C8C"}
KERNEL_SCALE = {"type": "3_color_scale", "min_color": "#9DC3E6", "mid_color": "#FFFFFF", "max_color": "#F4B183"}
MAP_SCALE = {"type": "2_color_scale", "min_color": "#FFFFFF", "max_color": "#F4B183"}


def _shade_grids(lay, ws, batch):
    """Colour every image and feature map like a picture: dark = large."""
    for (kind, layer), (F, H, W) in lay.grids.items():
        if kind not in ("in", "out", "kernel"):
            continue
        top = lay.rows[(kind, layer)]
        for pos in range(1 if kind == "kernel" else batch):
            for m in range(F):
                r0, c0 = top + pos * (H + 1), lay.FIRST_COL + m * (W + 1)
                scale = {"in": PIXEL_SCALE, "kernel": KERNEL_SCALE}.get(kind, MAP_SCALE)
                ws.conditional_format(r0, c0, r0 + H - 1, c0 + W - 1, scale)
