"""The Epochs sheet: the whole training set (and test set) after every epoch, as live formulas.

The batch losses of the Losses sheet are each one batch's, before its update: they do not
compare across batch sizes.  Here every sample is run forward again with the parameters
after each epoch (the Losses sheet's table), so the loss of the whole set is

    L_e = (1/N)·Σ_n l_n(θ_e) + penalty(θ_e)      (Σ for reduction = "sum")

and, where the targets are classes, a sample is right when the network's answer is its class
(engine.evaluate).  The geometry is layout.EpochGrid; the formulas are the step's own
(formulas.StepFormulas) on references to this sheet (refs.EpochRefs); the values are the
engine's, computed the same way as ``trace.epochs``.
"""

from __future__ import annotations

import numpy as np

from ..i18n import N_, _
from ..engine.evaluate import evaluate, right, target_kind, xl_right
from ..ops import formula as f
from .formulas import StepFormulas
from .layout import VALUE_WIDTH, Cell, EpochGrid, ref, ref_range
from .refs import EpochRefs, NameRefs
from .values import number_style

SET_TITLE = {"training": N_("training set"), "test": N_("test set")}
SUMMARY_HEADS = {"loss": N_("loss"), "right": N_("right"), "accuracy": N_("accuracy")}


def classes_of(spec) -> str | None:
    """The kind of class targets both sets share (engine.evaluate.target_kind), or None."""
    kind = target_kind(spec.data.targets)
    if spec.data.test_targets is not None and target_kind(spec.data.test_targets) != kind:
        return None
    return kind


class EpochSheet:
    """Every cell of the Epochs sheet: ``cells()`` for the writer and the audit alike."""

    def __init__(self, trace, model, lay, budget=None):
        self.trace, self.model, self.lay = trace, model, lay
        self.kind = classes_of(model.spec)
        self.grid = EpochGrid(lay, self.kind is not None, **({} if budget is None else {"budget": budget}))
        data = model.spec.data
        self.sets = {"training": (data.inputs, data.targets)}
        if data.test_inputs is not None:
            self.sets["test"] = (data.test_inputs, data.test_targets)
        self.values = []  # per table row: {set: (quantities (N, Q), Evaluation)}
        self.stopped = None  # the epoch after which the evaluation is not finite, if any
        for i in range(len(self.grid.epochs)):
            row = {which: self._evaluate(i, x, t) for which, (x, t) in self.sets.items()}
            if not all(np.all(np.isfinite(q)) and np.isfinite(ev.loss) for q, ev in row.values()):
                self.stopped = self.grid.epoch_number(i)
                self.grid.keep(i)
                break
            self.values.append(row)

    def final(self, which: str, i: int | None = None):
        """The engine's Evaluation of set ``which`` at table row ``i`` (default: the last)."""
        i = len(self.grid.epochs) - 1 if i is None else i
        with np.errstate(all="ignore"):
            return evaluate(self.model, self.trace.thetas[self.grid.theta_index(i)], *self.sets[which])

    def _evaluate(self, i, x, t):
        """(the sample rows' values, in the grid's quantity order; the set's Evaluation)."""
        m = self.model
        theta = self.trace.thetas[self.grid.theta_index(i)]
        with np.errstate(all="ignore"):
            za = m.forward(theta, x)
            z, y = za[-1]
            terms = m.loss.term_logits(z, t) if m.fused else m.loss.term(y, t, m.hp)
            per_sample = m.loss.per_sample(terms)
            columns = []
            for kind, layer, item in self.grid.quantities:
                if kind == "net":
                    columns.append(za[layer][0][:, item])
                elif kind == "out":
                    columns.append(za[layer][1][:, item])
                elif kind == "exp":
                    zl = za[layer][0]
                    columns.append(np.exp(zl[:, item] - zl.max(axis=1)))
                elif kind == "term":
                    columns.append(terms[:, item])
                elif kind == "loss":
                    columns.append(per_sample)
                else:  # right
                    columns.append(right(y, t).astype(float))
            ev = evaluate(m, theta, x, t)
        return np.column_stack(columns), ev

    def styles(self):
        """One number style per column of the sample rows, and per column of the table."""
        cols = np.vstack([q for row in self.values for q, _ in row.values()]) if self.values else None
        per_col = [number_style(cols[:, j]) if cols is not None else "value" for j in range(len(self.grid.quantities))]
        losses = [ev.loss for row in self.values for _, ev in row.values()]
        return per_col, number_style(losses) if losses else "value"

    def sample_cells(self):
        """(cell, name, formula, value) of every sample row's cell, row by row."""
        g, refs = self.grid, EpochRefs(self.lay, self.grid)
        names = NameRefs(self.lay, self.model, getattr(self, "notation", "mazur"))
        labels = ["right" if kind == "right" else names.name(kind, layer, item) for kind, layer, item in g.quantities]
        build = StepFormulas(self.model, refs)
        out_kind = [(k, l, i) for k, l, i in g.quantities if k == "out" and l == len(self.model.acts) - 1]

        def formula(kind, layer, item):
            if kind != "right":
                return build.formula(kind, layer, item, 0)
            outs = [refs.one(*o) for o in out_kind]
            ts = [refs.one("t", None, k) for k in range(len(out_kind))]
            return xl_right(self.kind, outs, ts, refs.span("out", out_kind[0][1], (0, len(out_kind) - 1), (0, 0)))

        # after the start, a sample's formulas differ from epoch to epoch only in their row and the
        # row of the parameters they read: built once per sample, as a template over the two
        templates = {}
        for i in range(len(self.values)):
            after = g.epoch_number(i)
            prow = None if g.epochs[i] == 0 else str(g.param(i, 0).row + 1)
            for which in self.sets:
                q = self.values[i][which][0]
                for n in range(q.shape[0]):
                    refs.at_sample(i, which, n)
                    row = str(g.row(i, which, n) + 1)
                    for j, (kind, layer, item) in enumerate(g.quantities):
                        if prow is None:
                            text = formula(kind, layer, item)
                        else:
                            key = (which, n, j)
                            text = templates.get(key)
                            if text is None:
                                refs.template = True
                                text = templates[key] = formula(kind, layer, item)
                                refs.template = False
                            text = text.replace(EpochRefs.ROW, row).replace(EpochRefs.PARAM_ROW, prow)
                        name = f"{labels[j]} of {SET_TITLE[which]} sample {n + 1} after epoch {after}"
                        yield g.cell(i, which, n, kind, layer, item), name, text, q[n, j]

    def summary_cells(self):
        """(cell, name, formula, value) of the table's loss, right and accuracy cells."""
        g, refs = self.grid, EpochRefs(self.lay, self.grid)
        build = StepFormulas(self.model, refs)
        loss_col = g.col_of[("loss", None, 0)]
        for i in range(len(self.values)):
            after = g.epoch_number(i)
            for which, (x, _targets) in self.sets.items():
                ev = self.values[i][which][1]
                first, last = g.row(i, which, 0), g.row(i, which, len(x) - 1)
                losses = ref_range(Cell(g.sheet, first, loss_col), Cell(g.sheet, last, loss_col), g.sheet)
                text = f.average(losses) if self.model.mean else f.sum_(losses)
                if build.penalised:
                    refs.at_sample(i, which, 0)
                    text = f.add(text, build.f_penalty(None, 0, 0, 0))
                yield (g.summary(i, (which, "loss")), f"{SET_TITLE[which]} loss after epoch {after}", refs.named(text),
                       ev.loss)
                if self.kind is not None:
                    right_col = g.col_of[("right", None, 0)]
                    hits = ref_range(Cell(g.sheet, first, right_col), Cell(g.sheet, last, right_col), g.sheet)
                    count = g.summary(i, (which, "right"))
                    yield count, f"{SET_TITLE[which]} right answers after epoch {after}", f.sum_(hits), ev.correct
                    yield (g.summary(i, (which, "accuracy")), f"{SET_TITLE[which]} accuracy after epoch {after}",
                           f.div(ref(count, g.sheet), str(len(x))), ev.accuracy)

    def cells(self):
        """Every formula cell, in computation order (sample rows, then the table)."""
        if self.grid.live:
            yield from self.sample_cells()
            yield from self.summary_cells()

    def note(self) -> str:
        g = self.grid
        if not g.live:
            return _("The data are too many for formulas here ({cells} cells per epoch): the table holds "
                     "sheetnet's numbers, which do not recompute.").format(cells=f"{g.cells_per_epoch:,}")
        parts = []
        if g.stride > 1:
            parts.append(_("One epoch in {k} and the last are evaluated (all of them would need more than "
                           "{cells} cells).").format(k=g.stride, cells=f"{g.budget:,}"))
        if self.stopped is not None:
            parts.append(_("After epoch {e} the evaluation is not finite: the table stops before it.").format(
                e=self.stopped))
        return " ".join(parts)


def of(w) -> EpochSheet:
    """Writer ``w``'s Epochs sheet, evaluated once (the Compare sheet refers to its table too)."""
    if getattr(w, "_epoch_sheet", None) is None:
        w._epoch_sheet = EpochSheet(w.trace, w.model, w.lay)
        w._epoch_sheet.notation = getattr(w, "notation", "mazur")
    return w._epoch_sheet


def write(w, ws):
    """The Epochs sheet of writer ``w``: title, the table with its chart, the sample rows."""
    sheet = of(w)
    g, fmt = sheet.grid, w.fmt
    ws.write_string(0, 0, _("Epochs: the whole training set and the test set evaluated with the parameters after "
                            "each epoch (0: the start)") if "test" in sheet.sets else
                    _("Epochs: the whole training set evaluated with the parameters after each epoch (0: the start)"),
                    fmt["title"])
    note = sheet.note()
    if note:
        ws.write_string(1, 0, note, fmt["subtitle"])
    col_styles, loss_style = sheet.styles()
    head = g.SUMMARY_HEAD  # rows in order (constant memory): the sets' names, then the header
    columns = [(key, c) for key, c in g.summary_cols.items() if key != "epoch"]
    for (which, what), col in columns:
        if what == "loss":
            ws.write_string(head - 1, col, _(SET_TITLE[which]), fmt["label"])
    ws.write_string(head, 0, _("after epoch"), fmt["head"])
    for (which, what), col in columns:
        ws.write_string(head, col, _(SUMMARY_HEADS[what]), fmt["head"])
    table = {}
    for cell, _name, text, value in sheet.summary_cells():
        table[(cell.row, cell.col)] = (text, value)
    n_rows = len(sheet.values) if g.live else len(g.epochs)
    for i in range(n_rows):
        row = g.summary(i, "epoch").row
        cells = [(0, g.epoch_number(i), None, fmt["int"])]
        if g.live:
            for (which, what), c in ((k, c) for k, c in g.summary_cols.items() if k != "epoch"):
                text, value = table[(row, c)]
                style = {"loss": loss_style, "right": "int", "accuracy": "percent"}[what]
                cells.append(w.formula_cell(g.sheet, row, c, text, float(value), fmt[style]))
        else:  # the engine's numbers, plainly
            for which in sheet.sets:
                ev = sheet.final(which, i)
                cells.append((g.summary_cols[(which, "loss")], ev.loss, None, fmt["value"]))
                if sheet.kind is not None:
                    cells.append((g.summary_cols[(which, "right")], ev.correct, None, fmt["int"]))
                    cells.append((g.summary_cols[(which, "accuracy")], ev.accuracy, None, fmt["percent"]))
        ws.write_row(row, sorted(cells, key=lambda c: c[0]))
    _chart(w, ws, sheet, n_rows)
    if g.live and sheet.values:
        ws.write_string(g.title_row, 0, _("Every sample run forward with the parameters after the epoch "
                                          "(formulas as on the step sheets)"), fmt["section"])
        ws.write_string(g.head_row, 0, _("after epoch"), fmt["head"])
        ws.write_string(g.head_row, 1, _("set"), fmt["head"])
        ws.write_string(g.head_row, 2, _("sample"), fmt["head"])
        for (kind, layer, item), col in g.col_of.items():
            ws.write_string(g.head_row, col, _heading(w, kind, layer, item), fmt["head"])
        styles = [fmt[s] for s in col_styles]
        current, cells = None, []
        for cell, _name, text, value in sheet.sample_cells():
            if cell.row != current:
                if cells:
                    ws.write_row(current, cells)
                current = cell.row
                i, which, n = _row_of(g, cell.row, sheet)
                cells = [(0, g.epoch_number(i), None, fmt["int"]), (1, _(SET_TITLE[which]), None, fmt["text"]),
                         (2, n + 1, None, fmt["int"])]
            cells.append(w.formula_cell(g.sheet, cell.row, cell.col, text, float(value),
                                        styles[cell.col - 3]))
        if cells:
            ws.write_row(current, cells)
        ws.freeze_panes(g.head_row + 1, 3)
    ws.set_column(0, 0, 11)
    ws.set_column(1, len(g.summary_cols) - 1, VALUE_WIDTH)
    ws.set_column(len(g.summary_cols), 2 + len(g.quantities), VALUE_WIDTH)


def _row_of(g, row, sheet):
    """(table row i, set, sample n) of a sample row."""
    per = g.n_train + g.n_test
    i, offset = divmod(row - g.head_row - 1, per)
    return (i, "training", offset) if offset < g.n_train else (i, "test", offset - g.n_train)


def _heading(w, kind, layer, item) -> str:
    if kind == "right":
        return _("right (1) or not (0)")
    return w.names.name(kind, layer, item)


def _chart(w, ws, sheet, n_rows):
    """Loss of each set per epoch (and accuracy, right axis): a scatter chart, its x-axis epochs."""
    g = sheet.grid
    if n_rows == 0:
        return
    chart = w.wb.add_chart({"type": "scatter", "subtype": "straight_with_markers" if n_rows <= 30 else "straight"})
    epochs = [g.epoch_number(i) for i in range(n_rows)]
    top, bottom = g.SUMMARY_HEAD + 1, g.SUMMARY_HEAD + n_rows
    colours = {"training": "#2F5597", "test": "#C55A11"}
    for which in sheet.sets:
        x_data = [float(e) for e in epochs]
        rows = [sheet.values[i][which][1] if g.live else sheet.final(which, i) for i in range(n_rows)]
        col = g.summary_cols[(which, "loss")]
        chart.add_series({"name": _("{set} loss").format(set=_(SET_TITLE[which])), "categories": [g.sheet, top, 0, bottom, 0],
                          "values": [g.sheet, top, col, bottom, col], "categories_data": x_data,
                          "values_data": [float(r.loss) for r in rows],
                          "line": {"color": colours[which], "width": 1.75},
                          "marker": {"type": "circle", "size": 5, "border": {"color": colours[which]},
                                     "fill": {"color": colours[which]}} if n_rows <= 30 else {"type": "none"}})
        if sheet.kind is not None:
            col = g.summary_cols[(which, "accuracy")]
            chart.add_series({"name": _("{set} accuracy").format(set=_(SET_TITLE[which])), "categories": [g.sheet, top, 0, bottom, 0],
                              "values": [g.sheet, top, col, bottom, col], "categories_data": x_data,
                              "values_data": [float(r.accuracy) for r in rows], "y2_axis": True,
                              "line": {"color": colours[which], "width": 1.25, "dash_type": "dash"},
                              "marker": {"type": "none"}})
    chart.set_title({"name": _("Whole-set loss after each epoch")})
    chart.set_x_axis({"name": _("after epoch"), "num_format": "0", "min": epochs[0], "max": max(epochs[-1], epochs[0] + 1),
                      "major_gridlines": {"visible": False}})
    chart.set_y_axis({"name": _("loss"), "num_format": "0.000"})
    if sheet.kind is not None:
        chart.set_y2_axis({"name": _("accuracy"), "min": 0, "max": 1, "num_format": "0%"})
    chart.set_legend({"position": "bottom"})
    ws.insert_chart(g.SUMMARY_HEAD - 1, g.chart_col, chart, {"x_scale": 1.3, "y_scale": 1.35})
