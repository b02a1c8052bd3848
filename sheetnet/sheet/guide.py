"""The words of a workbook: the Guide sheet, the meaning of each setting, facts of the run."""

from __future__ import annotations

from ..i18n import N_, _
from ..text import display_width

GUIDE_CHARS = 110  # the Guide's column, in characters (a wide character takes two)

SETTING_MEANINGS = {
    "lr": N_("η, the learning rate (of epoch 1; see lr_decay)"),
    "momentum": N_("μ, momentum (optimizer 'momentum')"),
    "beta1": N_("β1, decay of Adam's first moment m"),
    "beta2": N_("β2, decay of Adam's second moment v"),
    "alpha": N_("α, decay of RMSprop's mean square s"),
    "eps": N_("ε, added to √s or √v̂ in the denominator (adagrad, rmsprop, adam)"),
    "l1": N_("λ1: the loss gets λ1·Σ|w| (live only if the spec set l1 or l2)"),
    "l2": N_("λ2: the loss gets (λ2/2)·Σw² (live only if the spec set l1 or l2)"),
    "lr_decay": N_("η in epoch e (from 1) is η/(1 + lr_decay·(e − 1))"),
    "delta": N_("δ of the huber loss"),
}

GUIDE_LINES = [
    ("title", N_("sheetnet workbook: {name}")),
    ("", N_("Every number of the training run below is a live formula. Its value was computed by sheetnet and")),
    ("", N_("stored with it, so the numbers show even where nothing recalculates.")),
    ("", ""),
    ("head", N_("Colours")),
    ("input", N_("Blue on yellow: an input you may edit (Settings, Data, Parameters).")),
    ("", N_("Black: a formula. Change an input and the whole run recomputes, step after step.")),
    ("", ""),
    ("head", N_("Sheets")),
    ("", N_("Settings — η (eta), momentum, β1, β2, α, ε, λ1, λ2, lr_decay, δ as named cells the formulas use.")),
    ("", N_("Data — one row per sample: the inputs, then the targets t.")),
    ("", N_("Parameters — the starting weights: rows = receiving unit, columns = sending unit, last column = bias.")),
    ("", "{steps_sheets}"),
    ("", N_("Losses — the batch loss of every step (before its update), the parameters after every epoch, a chart.")),
    ("evaluation", N_("Epochs — the whole training set (and test set) after each epoch: loss, right answers, a chart.")),
    ("evaluation", N_("Gradients — the mean |∂L/∂w| of each layer at every step, on a log scale: vanishing gradients.")),
    ("", ""),
    ("head", N_("Notation")),
    ("", N_("net_u = Σ_i w·out_i + b: the net input of unit u;  out_u = f(net_u): its output;  t_u: its target.")),
    ("", N_("E_u: the loss term of output u;  E: the loss of one sample;  E_batch: the loss of the batch ({reduction}).")),
    ("", N_("δ_u = ∂E/∂net_u: the delta of unit u;  g = ∂E_batch/∂w: the gradient;  w⁺: the updated parameter.")),
    ("", N_("W[h1<-i2] is the weight to unit h1 from unit i2; b[h1] the bias of h1.")),
    ("", ""),
    ("head", N_("Recalculating")),
    ("", N_("Excel recalculates when you edit a cell. LibreOffice keeps the stored values of an .xlsx until you press")),
    ("", N_("Ctrl+Shift+F9 (Data > Calculate > Recalculate Hard), or set Tools > Options > LibreOffice Calc >")),
    ("", N_("Formula > 'Recalculation on file load' to 'Always'.")),
    ("", ""),
    ("head", N_("Bringing it back")),
    ("", N_("Save the workbook as .xlsx (Excel or LibreOffice) and give it back to sheetnet:")),
    ("", N_("  sheetnet read BOOK.xlsx --json            the losses and final parameters (recomputed if stale)")),
    ("", N_("  sheetnet read BOOK.xlsx --spec RUN.toml   the run as the workbook now describes it, as a spec")),
    ("", N_("  sheetnet resume BOOK.xlsx -o NEXT.xlsx    continue training from the last step, as edited")),
    ("", N_("  sheetnet audit BOOK.xlsx                  every cell checked; the first wrong one is named")),
    ("", N_("  sheetnet recalc BOOK.xlsx                 refresh the stored values after a script edited it")),
]
NOTATION_LINES = {  # a workbook written with --notation: what its labels mean
    "wakui": N_("Wakui's notation: z²₁ = the net input of unit 1 of layer 2 (the input layer is layer 1, its outputs x₁, "
                "x₂, …), a²₁ = its output, t₁ = a target, C = the loss (C₁ its term of output 1), δ²₁ = ∂C/∂z²₁, "
                "w²₁₂ = the weight to unit 1 of layer 2 from unit 2 of layer 1, b²₁ = a bias."),
    "matrix": N_("Matrix notation: Z1[1] = the net input of unit 1 of layer 1, A1[1] = its output, X[1] = an input, "
                 "Y[1] = a target, L = the loss, dZ1[1] = ∂L/∂Z1[1], W1[1,2] = the weight to unit 1 of layer 1 "
                 "from unit 2 below it, b1[1] = a bias."),
}
EXERCISE_LINES = [
    ("", ""),
    ("head", N_("This is an exercise")),
    ("answer", N_("The green cells are yours: compute each number by hand (or with a formula of your own).")),
    ("", N_("Each row says what goes there and the equation. Save, then run `sheetnet audit BOOK.xlsx`: every answer")),
    ("", N_("is graded; an answer that is right given your own earlier answers counts as consistent, not wrong.")),
]


def write_guide(w, ws):
    spec, lay = w.trace.spec, w.lay
    steps = (_("Step 1 … Step {n} — one sheet per step: forward pass, loss, deltas, then a table of every "
               "parameter's gradient and update.") if lay.name == "steps" else
             _("Run — one row per step ({n} steps): each row starts from the updated parameters of the row above."))
    fill = {"name": spec.name or _("a training run"), "steps_sheets": steps.format(n=lay.n_steps),
            "reduction": _("mean over its samples") if spec.loss.reduction == "mean" else _("sum over its samples")}
    fmts = {"title": w.fmt["title"], "head": w.fmt["section"], "input": w.fmt["input"], "answer": w.fmt["answer"],
            "": w.fmt["text"], "evaluation": w.fmt["text"], "note": w.fmt["note"], "wrap": w.fmt["wrap"]}
    lines = [(kind, text) for kind, text in GUIDE_LINES if not (w.blank and kind == "evaluation")]  # exercises: none
    notation = NOTATION_LINES.get(getattr(w, "notation", "mazur"))
    if notation:  # the labels are the book's, not the Notation section's
        at = next(i for i, (_kind, text) in enumerate(lines) if text.startswith("W[h1<-i2]")) + 1
        lines[at:at] = [("wrap", notation)]
    notes = getattr(w, "notes", ())
    if notes:  # under the title: what a reader comparing with the source should know
        lines[1:1] = [("note", note.replace("{", "{{").replace("}", "}}")) for note in notes] + [("", "")]
    for row, (kind, text) in enumerate(lines + (EXERCISE_LINES if w.blank else [])):
        if kind in ("note", "wrap"):  # a long line wraps in the column: its row as high as its lines
            ws.set_row(row, 15 * -(-display_width(_(text) if kind == "wrap" else text) // GUIDE_CHARS) + 3)
        ws.write_string(row, 0, (_(text) if text and kind != "note" else text).format(**fill) if kind != "wrap"
                        else _(text), fmts[kind])
    ws.set_column(0, 0, GUIDE_CHARS)


def run_facts(spec, trace, lay) -> list[str]:
    """Structure of the run that the sheet cannot change (change the spec and export again)."""
    tr = spec.train
    batch = _("the whole data set") if tr.batch_size == 0 else _("{n} sample(s)").format(n=tr.batch_size)
    return [
        _("optimizer: {optimizer} · loss: {loss} ({reduction} over the batch) · batches of {batch} · {epochs} epoch(s) "
          "· {steps} step(s)").format(optimizer=tr.optimizer, loss=spec.loss.kind,
                                      reduction=_("mean") if spec.loss.reduction == "mean" else _("sum"),
                                      batch=batch, epochs=tr.epochs, steps=trace.n_steps)
        + (" · " + _("shuffled with seed {seed}").format(seed=tr.seed) if tr.shuffle else "")
        + (" · " + _("biases frozen") if tr.freeze_biases else ""),
        _("Structure (layers, optimizer, batches, epochs) is fixed in the workbook: change the spec and export again."),
    ]
