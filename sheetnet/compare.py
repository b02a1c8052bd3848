"""Several runs of one problem in one workbook, their losses in one chart.

In the spirit of fast.ai's one-sheet-per-optimizer spreadsheet: every run is a complete,
live run of its own (``adam Settings``, ``adam Data``, ``adam Parameters``, ``adam Run``,
``adam Losses``; its settings are workbook-wide names such as ``adam_eta``), and a ``Compare`` sheet
charts the loss of every run, read from their Losses sheets.
"""

from __future__ import annotations

import dataclasses
import itertools
import os

import xlsxwriter

from .engine.training import Model, train
from .errors import SpecError
from .files import atomic_path
from .i18n import N_, _
from .sheet.layout import HISTORY, META, Cell, choose_layout, ref
from .sheet import epochs
from .sheet.workbook import FORMAT_VERSION, FastWorksheet, Writer, check_output_path

COMPARE = N_("Compare")  # the sheet; named in the language of the workbook


SHEET_LABEL = 20  # characters: "<label> Parameters" stays within a sheet name's 31
LABELS = {"optimizer": "{}", "activation": "{}", "lr": "η {}", "batch_size": "batch {}", "seed": "seed {}",
          "lr_decay": "decay {}", "l1": "l1 {}", "l2": "l2 {}"}  # how a run's sheets name what it changes


def runs(spec, epochs: int | None = None) -> dict:
    """label -> the spec of that run.  [compare] with optimizers and their learning rates: one run
    per optimizer, each with its default ε (all five at the spec's learning rate when the spec has
    no [compare]).  With settings and lists of values: one run per value, every combination where
    several settings are listed, named as LABELS says (``η 0.5``, ``relu``, ``η 0.5, batch 4``)."""
    from .ops import OPTIMIZERS

    extra = {"epochs": epochs} if epochs else {}
    if not spec.compare or not isinstance(spec.compare[0][1], tuple):
        pairs = spec.compare or tuple((name, spec.train.lr) for name in OPTIMIZERS)
        return {name: spec.with_train(optimizer=name, lr=lr, eps=None, **extra) for name, lr in pairs}
    out = {}
    for label, changes in sweep(spec.compare):
        if len(label) > SHEET_LABEL:
            raise SpecError(_("the run '{label}' needs a name of at most {sheet_label} characters for its sheets: "
                              "compare fewer settings at once").format(
                label=label, sheet_label=SHEET_LABEL), f"{os.path.basename(spec.path)}, [compare]")
        run = spec
        if "activation" in changes:
            run = with_hidden_activation(run, changes.pop("activation"))
        out[label] = run.with_train(**changes, **extra)
    return out


def sweep(compare) -> list[tuple[str, dict]]:
    """Every combination of [compare]'s lists of values, each with its label (LABELS:
    ``η 0.5, batch 4``) and its changes to the settings; a changed optimizer takes its own ε."""
    keys = [key for key, _ in compare]
    out = []
    for values in itertools.product(*(values for _, values in compare)):
        changes = dict(zip(keys, values))
        label = ", ".join("whole batch" if (key, value) == ("batch_size", 0) else
                          LABELS[key].format(f"{value:g}" if isinstance(value, float) else value)
                          for key, value in changes.items())
        if "optimizer" in changes:
            changes["eps"] = None
        out.append((label, changes))
    return out


def with_hidden_activation(spec, activation: str):
    """The spec with every hidden layer that has an activation using ``activation`` instead."""
    layers = [dataclasses.replace(layer, activation=activation)
              if 0 < l < len(spec.layers) - 1 and layer.activation else layer
              for l, layer in enumerate(spec.layers)]
    return dataclasses.replace(spec, layers=tuple(layers))


def write_comparison(specs: dict, path: str, progress=None) -> dict:
    """Train every spec of ``specs`` (label -> spec) and write the runs into one workbook;
    returns label -> trace."""
    check_output_path(path)
    traces = {}
    for label, spec in specs.items():
        traces[label] = train(spec)
        if progress:
            progress(label, traces[label])
    with atomic_path(path, suffix=".xlsx.part") as tmp:
        wb = xlsxwriter.Workbook(tmp, {"constant_memory": True, "strings_to_formulas": False,
                                       "strings_to_numbers": False, "strings_to_urls": False})
        compare = wb.add_worksheet(_(COMPARE), worksheet_class=FastWorksheet)
        writers = {}
        for label, trace in traces.items():
            model = Model(trace.spec)
            lay = choose_layout(model, trace.steps, trace.orders, "compact", start=trace.start, prefix=f"{label} ")
            writers[label] = Writer(wb, trace, model, lay)
        _write_compare(wb, compare, writers)
        for w in writers.values():
            w.write_run()
        meta = wb.add_worksheet(META)
        meta.write_string(0, 0, "sheetnet")
        meta.write_number(0, 1, FORMAT_VERSION)
        meta.write_string(1, 0, "layout")
        meta.write_string(1, 1, "comparison")
        meta.hide()
        wb.close()
    return traces


def _write_compare(wb, ws, writers):
    """The Compare sheet: a row per run (its η, steps, batch losses, whole-set losses and
    accuracy after the last epoch, all references to the run's sheets) and two charts: the
    batch loss per step and the training-set loss per epoch, one curve per run."""
    first = next(iter(writers.values()))
    f = first.fmt
    ws.write_string(0, 0, _("The same problem, one run per setting compared: loss per step and per epoch"),
                    f["title"])
    ws.write_string(1, 0, _("Each run is live on its own sheets (adam Settings, adam Run, …): change a run's η and "
                            "its curves move."), f["subtitle"])
    sheets = {label: epochs.of(w) for label, w in writers.items()}
    classes = all(e.kind is not None for e in sheets.values())
    test = all("test" in e.sets for e in sheets.values())
    columns = [("η", "lr"), (_("steps"), None), (_("first batch loss"), "first"), (_("last batch loss"), "last"),
               (_("training-set loss"), ("training", "loss"))]
    if classes:
        columns.append((_("training accuracy"), ("training", "accuracy")))
    if test:
        columns.append((_("test-set loss"), ("test", "loss")))
        if classes:
            columns.append((_("test accuracy"), ("test", "accuracy")))
    ws.write_string(3, 0, _("run"), f["head"])
    for c, (head, _what) in enumerate(columns, start=1):
        ws.write_string(3, c, head, f["head"])
    ws.write_string(3, len(columns) + 1, _("diverged"), f["head"])

    def source(w, e, what):
        """(cell, value) a column refers to for run ``w``."""
        n = w.trace.n_steps
        if what == "lr":
            return w.lay.sheets.setting("lr"), w.trace.spec.train.lr
        if what in ("first", "last"):
            k = 0 if what == "first" else n - 1
            return w.lay.sheets.history_loss(k), w.trace.loss[k]
        last = len(e.grid.epochs) - 1
        ev = e.values[last][what[0]][1] if e.grid.live else e.final(what[0])
        return e.grid.summary(last, what), ev.loss if what[1] == "loss" else ev.accuracy

    table = {label: [source(w, sheets[label], what) if what else None for _, what in columns]
             for label, w in writers.items()}
    styles = [f["int"] if what is None else f["percent"] if isinstance(what, tuple) and what[1] == "accuracy"
              else first.style([table[label][c][1] for label in writers]) for c, (_, what) in enumerate(columns)]
    per_step = wb.add_chart({"type": "scatter", "subtype": "straight"})
    per_epoch = wb.add_chart({"type": "scatter", "subtype": "straight"})
    for row, (label, w) in enumerate(writers.items(), start=4):
        trace, e = w.trace, sheets[label]
        n = trace.n_steps
        ws.write_string(row, 0, label, f["label"])
        for c, cell in enumerate(table[label], start=1):
            if cell is None:
                ws.write_number(row, c, n, f["int"])
            else:
                w.formula(ws, Cell(ws.name, row, c), ref(cell[0], ws.name), cell[1], styles[c - 1])
        diverged = trace.diverged_at
        losses = [e.values[i]["training"][1].loss if e.grid.live else e.final("training", i).loss
                  for i in (0, len(e.grid.epochs) - 1)]
        verdict = (_("stopped at step {step}").format(step=diverged) if diverged is not None else
                   _("no, but the loss grew") if losses[-1] > losses[0] else _("no"))
        ws.write_string(row, len(columns) + 1, verdict, f["text"])
        hist, top = w.lay.sheets.sheet(HISTORY), w.lay.sheets.HISTORY_FIRST_ROW
        per_step.add_series({"name": label, "categories": [hist, top, 0, top + n - 1, 0],
                             "values": [hist, top, 2, top + n - 1, 2], "line": {"width": 1.75},
                             "categories_data": list(range(1, n + 1)), "values_data": [float(x) for x in trace.loss]})
        g = e.grid
        rows = len(g.epochs)
        col = g.summary_cols[("training", "loss")]
        losses = [float(e.values[i]["training"][1].loss) if g.live else float(e.final("training", i).loss)
                  for i in range(rows)]
        per_epoch.add_series({"name": label, "categories": [g.sheet, g.SUMMARY_HEAD + 1, 0, g.SUMMARY_HEAD + rows, 0],
                              "values": [g.sheet, g.SUMMARY_HEAD + 1, col, g.SUMMARY_HEAD + rows, col],
                              "line": {"width": 1.75}, "marker": {"type": "none"},
                              "categories_data": [float(g.epoch_number(i)) for i in range(rows)],
                              "values_data": losses})
    per_step.set_title({"name": _("Batch loss per step, one curve per run")})
    most = max(w.trace.n_steps for w in writers.values())
    per_step.set_x_axis({"name": _("step"), "min": 0, "max": most, "num_format": "0",
                         "major_gridlines": {"visible": False}})
    batch = [float(x) for w in writers.values() for x in w.trace.loss]
    decades = min(batch) > 0 and max(batch) / min(batch) > 1e3
    per_step.set_y_axis({"name": _("batch loss") + (" " + _("(log scale)") if decades else ""),
                         "num_format": "0.0E+0" if decades else "0.000", **({"log_base": 10} if decades else {})})
    per_step.set_legend({"position": "bottom"})
    per_epoch.set_title({"name": _("Training-set loss after each epoch")})
    most = max(sheets[label].grid.epoch_number(len(sheets[label].grid.epochs) - 1) for label in writers)
    per_epoch.set_x_axis({"name": _("after epoch"), "min": 0, "max": max(most, 1), "num_format": "0",
                          "major_gridlines": {"visible": False}})
    every = [v for e in sheets.values() for i in range(len(e.grid.epochs))
             for v in [e.values[i]["training"][1].loss if e.grid.live else e.final("training", i).loss]]
    spread = min(every) > 0 and max(every) / min(every) > 1e3  # decades apart: a log scale shows them all
    per_epoch.set_y_axis({"name": _("training-set loss") + (" " + _("(log scale)") if spread else ""),
                          "num_format": "0.0E+0" if spread else "0.000", **({"log_base": 10} if spread else {})})
    per_epoch.set_legend({"position": "bottom"})
    chart_row = 4 + len(writers) + 2
    ws.insert_chart(chart_row, 0, per_epoch, {"x_scale": 1.45, "y_scale": 1.1})  # 16 rows high
    ws.insert_chart(chart_row + 17, 0, per_step, {"x_scale": 1.45, "y_scale": 1.1})
    ws.set_column(0, 0, 20)
    ws.set_column(1, len(columns) + 1, 16)
