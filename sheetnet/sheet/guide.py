"""The words of a workbook: the Guide sheet, the meaning of each setting, facts of the run."""

from __future__ import annotations

SETTING_MEANINGS = {
    "lr": "η, the learning rate (of epoch 1; see lr_decay)",
    "momentum": "μ, momentum (optimizer 'momentum')",
    "beta1": "β1, decay of Adam's first moment m",
    "beta2": "β2, decay of Adam's second moment v",
    "alpha": "α, decay of RMSprop's mean square s",
    "eps": "ε, added to √s or √v̂ in the denominator (adagrad, rmsprop, adam)",
    "l1": "λ1: the loss gets λ1·Σ|w| (live only if the spec set l1 or l2)",
    "l2": "λ2: the loss gets (λ2/2)·Σw² (live only if the spec set l1 or l2)",
    "lr_decay": "η in epoch e (from 0) is η/(1 + lr_decay·e)",
    "delta": "δ of the huber loss",
}

GUIDE_LINES = [
    ("title", "sheetnet workbook: {name}"),
    ("", "Every number of the training run below is a live formula. Its value was computed by sheetnet and"),
    ("", "stored with it, so the numbers show even where nothing recalculates."),
    ("", ""),
    ("head", "Colours"),
    ("input", "Blue on yellow: an input you may edit (Settings, Data, Parameters)."),
    ("", "Black: a formula. Change an input and the whole run recomputes, step after step."),
    ("", ""),
    ("head", "Sheets"),
    ("", "Settings — η (eta), momentum, β1, β2, α, ε, λ1, λ2, lr_decay, δ as named cells the formulas use."),
    ("", "Data — one row per sample: the inputs, then the targets t."),
    ("", "Parameters — the starting weights: rows = receiving unit, columns = sending unit, last column = bias."),
    ("", "{steps_sheets}"),
    ("", "Losses — the loss of every step, the parameters after every epoch, and a chart of the loss."),
    ("", ""),
    ("head", "Notation"),
    ("", "net_u = Σ_i w·out_i + b: the net input of unit u;  out_u = f(net_u): its output;  t_u: its target."),
    ("", "E_u: the loss term of output u;  E: the loss of one sample;  E_batch: the loss of the batch ({reduction})."),
    ("", "δ_u = ∂E/∂net_u: the delta of unit u;  g = ∂E_batch/∂w: the gradient;  w⁺: the updated parameter."),
    ("", "W[h1<-i2] is the weight to unit h1 from unit i2; b[h1] the bias of h1."),
    ("", ""),
    ("head", "Recalculating"),
    ("", "Excel recalculates when you edit a cell. LibreOffice keeps the stored values of an .xlsx until you press"),
    ("", "Ctrl+Shift+F9 (Data > Calculate > Recalculate Hard), or set Tools > Options > LibreOffice Calc >"),
    ("", "Formula > 'Recalculation on file load' to 'Always'."),
    ("", ""),
    ("head", "Bringing it back"),
    ("", "Save the workbook as .xlsx (Excel or LibreOffice) and give it back to sheetnet:"),
    ("", "  sheetnet read BOOK.xlsx --json            the losses and final parameters (recomputed if stale)"),
    ("", "  sheetnet read BOOK.xlsx --spec RUN.toml   the run as the workbook now describes it, as a spec"),
    ("", "  sheetnet resume BOOK.xlsx -o NEXT.xlsx    continue training from the last step, as edited"),
    ("", "  sheetnet audit BOOK.xlsx                  every cell checked; the first wrong one is named"),
    ("", "  sheetnet recalc BOOK.xlsx                 refresh the stored values after a script edited it"),
]
EXERCISE_LINES = [
    ("", ""),
    ("head", "This is an exercise"),
    ("answer", "The green cells are yours: compute each number by hand (or with a formula of your own)."),
    ("", "Each row says what goes there and the equation. Save, then run `sheetnet audit BOOK.xlsx`: every answer"),
    ("", "is graded; an answer that is right given your own earlier answers counts as consistent, not wrong."),
]


def write_guide(w, ws):
    spec, lay = w.trace.spec, w.lay
    steps = ("Step 1 … Step {n} — one sheet per step: forward pass, loss, deltas, then a table of every "
             "parameter's gradient and update." if lay.name == "steps" else
             "Run — one row per step ({n} steps): each row starts from the updated parameters of the row above.")
    fill = {"name": spec.name or "a training run", "steps_sheets": steps.format(n=lay.n_steps),
            "reduction": "mean over its samples" if spec.loss.reduction == "mean" else "sum over its samples"}
    fmts = {"title": w.fmt["title"], "head": w.fmt["section"], "input": w.fmt["input"], "answer": w.fmt["answer"],
            "": w.fmt["text"]}
    for row, (kind, text) in enumerate(GUIDE_LINES + (EXERCISE_LINES if w.blank else [])):
        ws.write_string(row, 0, text.format(**fill), fmts[kind])
    ws.set_column(0, 0, 110)


def run_facts(spec, trace, lay) -> list[str]:
    """Structure of the run that the sheet cannot change (change the spec and export again)."""
    tr = spec.train
    batch = "the whole data set" if tr.batch_size == 0 else f"{tr.batch_size} sample(s)"
    return [
        f"optimizer: {tr.optimizer} · loss: {spec.loss.kind} ({spec.loss.reduction} over the batch) · "
        f"batches of {batch} · {tr.epochs} epoch(s) · {trace.n_steps} step(s)"
        + (" · shuffled with seed " + str(tr.seed) if tr.shuffle else "")
        + (" · biases frozen" if tr.freeze_biases else ""),
        "Structure (layers, optimizer, batches, epochs) is fixed in the workbook: change the spec and export again.",
    ]
