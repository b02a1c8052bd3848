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
from .sheet.layout import HISTORY, META, Cell, choose_layout, ref
from .sheet.workbook import FORMAT_VERSION, FastWorksheet, Writer, check_output_path

COMPARE = "Compare"


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
            raise SpecError(f"the run '{label}' needs a name of at most {SHEET_LABEL} characters for its sheets: "
                            "compare fewer settings at once", f"{os.path.basename(spec.path)}, [compare]")
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
        label = ", ".join(LABELS[key].format(f"{value:g}" if isinstance(value, float) else value)
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
        compare = wb.add_worksheet(COMPARE, worksheet_class=FastWorksheet)
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
    first = next(iter(writers.values()))
    f = first.fmt
    ws.write_string(0, 0, "The same problem, one run per setting compared: loss per step", f["title"])
    ws.write_string(1, 0, "Each run is live on its own sheets (adam Settings, adam Run, …): change a run's η and "
                          "its curve moves.", f["subtitle"])
    for c, h in enumerate(("run", "η", "steps", "first loss", "last loss")):
        ws.write_string(3, c, h, f["head"])
    chart = wb.add_chart({"type": "scatter", "subtype": "straight"})
    styles = {1: first.style([w.trace.spec.train.lr for w in writers.values()]),  # one style per column
              3: first.style([w.trace.loss[0] for w in writers.values()]),
              4: first.style([w.trace.loss[-1] for w in writers.values()])}
    for row, (label, w) in enumerate(writers.items(), start=4):
        sheets, trace = w.lay.sheets, w.trace
        n = trace.n_steps
        ws.write_string(row, 0, label, f["label"])
        for col, (src, value) in enumerate(((sheets.setting("lr"), trace.spec.train.lr),
                                            (sheets.history_loss(0), trace.loss[0]),
                                            (sheets.history_loss(n - 1), trace.loss[-1])), start=1):
            col += col > 1  # the steps column sits between η and the losses
            w.formula(ws, Cell(COMPARE, row, col), ref(src, COMPARE), value, styles[col])
        ws.write_number(row, 2, n, f["int"])
        hist, top = sheets.sheet(HISTORY), sheets.HISTORY_FIRST_ROW
        chart.add_series({"name": label, "categories": [hist, top, 0, top + n - 1, 0],
                          "values": [hist, top, 2, top + n - 1, 2], "line": {"width": 1.75},
                          "categories_data": list(range(1, n + 1)), "values_data": [float(x) for x in trace.loss]})
    chart.set_title({"name": "Loss per step, one curve per run"})
    most = max(w.trace.n_steps for w in writers.values())
    chart.set_x_axis({"name": "step", "min": 0, "max": most, "num_format": "0", "major_gridlines": {"visible": False}})
    chart.set_y_axis({"name": "loss", "num_format": "0.000"})
    chart.set_legend({"position": "bottom"})
    ws.insert_chart(4 + len(writers) + 2, 0, chart, {"x_scale": 1.45, "y_scale": 1.3})
    ws.set_column(0, 0, 20)
    ws.set_column(1, 4, 16)
