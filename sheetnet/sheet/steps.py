"""A step sheet of the StepsLayout: the step as a textbook prints it."""

from __future__ import annotations

from itertools import groupby

from ..i18n import N_, _
from .layout import PARAM_KINDS, SECTION_TITLES, VALUE_WIDTH

GRID_TITLES = {"in": N_("pixels"), "kernel": N_("filter"), "net": "net", "out": "out", "delta": "δ"}
GRID_WIDTHS = {"in": 2, "delta": 7}  # characters: pixels 0/1; "-3.7E-4"; other grids "-0.436" (6)
PARAM_HEADS = {"p0": N_("start"), "gs": N_("g (sample {n})"), "g": N_("gradient g"), "p1": N_("updated")}


def write(w, ws, k):
    """Write step ``k`` on ``ws`` (``w`` is the workbook writer)."""
    lay, f = w.lay, w.fmt
    samples = lay.samples(k)
    cells = []  # (row, col, kind, content, value, format)

    def text(row, col, s, fmt):
        cells.append((row, col, "s", s, None, fmt))

    title = _("Step {k} of {n}").format(k=k + 1, n=lay.n_steps)
    if lay.start_step:  # a continued run: its steps count on
        title += " " + _("(step {t} of the run)").format(t=lay.step_number(k))
    text(0, 0, title, f["title"])
    text(1, 0, _("epoch {e} · sample(s) {samples} of the Data sheet").format(
        e=lay.epoch(k) + 1, samples=", ".join(str(int(n) + 1) for n in samples)), f["subtitle"])
    text(3, 0, _("quantity"), f["head"])
    text(3, 1, _("equation"), f["head"])
    for pos, n in enumerate(samples):
        text(3, lay.FIRST_COL + pos, _("sample {n}").format(n=int(n) + 1), f["head"])
    for row, section in lay.section_rows:
        text(row, 0, w.names.section(_(SECTION_TITLES[section])), f["section"])
    update = SECTION_TITLES["update"]
    text(lay.param_header_row - 1, 0, _(update) + " " + _("(one row per parameter)"), f["section"])
    # labels and equations
    spec = w.model.spec
    for b in lay.blocks:
        if b.kind in PARAM_KINDS:
            continue
        grid = lay.grids.get(b.key)
        if grid is not None:  # a row here, the grids in the panel on the right: a band per sample
            F, H, W = grid
            what = _("the image") if b.kind == "in" else _("layer {l} ({kind})").format(
                l=b.layer + 1, kind=spec.layers[b.layer + 1].kind)
            text(lay.rows[b.key], 0, _grid_title(spec, b), f["label"])
            text(lay.rows[b.key], 1, f"{what}: " + (w.equation(b.kind, b.layer, 0, k) or "?")
                 + "  " + _("(first unit; the grids are on the right)"), f["eq"])
            maps = ["image"] if b.kind == "in" else spec.layers[b.layer + 1].map_names
            for pos, n in enumerate(samples if b.per_sample else samples[:1]):
                for m, name in enumerate(maps):
                    row, col = lay.grid_map_origin(b.key, m, pos)
                    head = f"{_grid_title(spec, b)} {name}" if b.kind != "in" else \
                        _("sample {n}").format(n=int(n) + 1)
                    text(row - 1, col, head, f["grid_head"])
            continue
        for item in range(b.items):
            row = lay.cell(b.kind, b.layer, item, k).row
            text(row, 0, w.names.name(b.kind, b.layer, item), f["label"])
            text(row, 1, w.equation(b.kind, b.layer, item, k), f["eq"])
    # the parameter table
    hr = lay.param_header_row
    text(hr, 0, _("parameter"), f["head"])
    text(hr, 1, _("gradient (one sample)") if lay.max_batch > 1 else _("gradient"), f["head"])
    opt = w.model.optimizer
    for kind, col in lay.param_cols.items():
        if kind == "gs":
            for pos, n in enumerate(samples):
                per_sample = PARAM_HEADS["gs"]
                text(hr, col + pos, _(per_sample).format(n=int(n) + 1), f["head"])
        else:
            head = _(PARAM_HEADS[kind]) if kind in PARAM_HEADS else opt.equations.get(kind, kind)
            if kind == "p1" and not w.scope.equations_hidden:
                head += ": " + opt.equations["param"]
                if any(lay.frozen(idx) for idx in range(w.model.params.size)):
                    head += "; " + _("grey rows frozen: w⁺ = w")  # the rule above does not hold there
            text(hr, col, head, f["head"])
    P = w.model.params
    frozen = [idx for idx in range(P.size) if lay.frozen(idx)]
    for idx in range(P.size):
        row = lay.param_first_row + idx
        if idx in frozen:
            text(row, 0, _("{label} (frozen)").format(label=P.labels[idx]), f["frozen_label"])
            if not w.scope.equations_hidden:  # an exercise without equations shows none, here too
                text(row, 1, _("frozen: {label}⁺ = {label} (gradient not used)").format(label=P.labels[idx]),
                     f["eq"])
            continue
        text(row, 0, P.labels[idx], f["label"])
        text(row, 1, w.equation("gs", None, idx, k), f["eq"])
    pixel = f["pixel"] if lay.grids.get(("in", None)) else None
    frozen_rows = {lay.param_first_row + idx for idx in frozen}
    for row, col, kind, formula, value, style in w.step_cells(k):
        in_panel = lay.grids and col >= lay.panel_col and row < lay.param_header_row
        fmt = (pixel if kind == "in" else f["grid_delta"] if kind == "delta" else f["grid"]) if in_panel else \
            f["frozen"] if kind == "p1" and row in frozen_rows else style
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
    if lay.grids:  # the panel: narrow columns (a 0/1 image's nearly square), thin gaps between blocks
        ws.set_column(lay.panel_col - 1, lay.panel_end, 1)
    for key, (F, H, W) in lay.grids.items():
        col = lay.grid_cols[key]
        ws.set_column(col, col + W - 1, GRID_WIDTHS.get(key[0], lay.GRID_COL_WIDTH))



PIXEL_SCALE = {"type": "2_color_scale", "min_color": "#FFFFFF", "max_color": "#8C8C8C"}
KERNEL_SCALE = {"type": "3_color_scale", "min_color": "#9DC3E6", "mid_color": "#FFFFFF", "max_color": "#F4B183"}
MAP_SCALE = {"type": "2_color_scale", "min_color": "#FFFFFF", "max_color": "#F4B183"}


def _grid_title(spec, block) -> str:
    """What a band's grids of ``block`` are called: image, filters, net, out, pooled, δ."""
    if block.kind == "out" and spec.layers[block.layer + 1].kind == "maxpool":
        return _("pooled")
    if block.kind == "delta" and spec.layers[block.layer + 1].kind == "maxpool":
        return _("δ pooled")
    return _(GRID_TITLES[block.kind])


def _shade_grids(lay, ws, batch):
    """Colour every image and feature map like a picture: dark = large."""
    for key, (F, H, W) in lay.grids.items():
        kind = key[0]
        if kind not in ("in", "out", "kernel"):
            continue
        for pos in range(1 if kind == "kernel" else batch):
            for m in range(F):
                r0, c0 = lay.grid_map_origin(key, m, pos)
                scale = {"in": PIXEL_SCALE, "kernel": KERNEL_SCALE}.get(kind, MAP_SCALE)
                ws.conditional_format(r0, c0, r0 + H - 1, c0 + W - 1, scale)
