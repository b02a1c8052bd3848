"""Grade an exercise workbook: every answer cell against the reference, with error carried
forward (an answer that is right given the student's own earlier answers counts) and hints
for the classic confusions of hand calculations."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .cells import damaged_is_error
from .evaluated import Evaluated
from ..engine.training import Model
from ..errors import WorkbookError
from ..i18n import N_, _
from ..files import atomic_path
from ..sheet.formulas import StepFormulas
from ..sheet.layout import EXERCISE_SECTIONS, SETTING_NAMES, Cell, qualified
from ..ops.evaluate import evaluate
from ..sheet.refs import CellRefs, NameRefs
from ..sheet.values import StepValues

VERDICTS = {"correct": N_("correct"), "consistent": N_("consistent with your earlier value"),
            "rounded": N_("right to {digits} significant digits"), "wrong": N_("wrong"),
            "missing": N_("not answered")}  # translated where shown; the keys are what --json gives
MISTAKES = {  # the kinds of mistake a hint names, as the summary and the gradebook count them
    "half": N_("the ½ of the loss missing"), "sum_mean": N_("sum and mean over the batch confused"),
    "bias_kept": N_("a bias not updated"), "frozen_bias": N_("a frozen bias updated"),
    "log10": N_("LOG for LN"), "stale": N_("hidden deltas from the updated weights"),
    "rounded": N_("rounded too early"), "unreadable": N_("a formula sheetnet cannot evaluate"),
    "not_derived": N_("a number where the formula was asked"),
    # gradient descent on a function
    "step_sign": N_("moved up the gradient (x + η·g)"), "no_lr": N_("the step without η"),
    "factor_two": N_("a derivative off by a factor 2"),
}


@dataclass
class Answer:
    sheet: str
    cell: str
    name: str
    found: object
    expected: float
    consistent_value: float | None
    verdict: str  # correct | consistent | rounded | wrong | missing
    hint: str = ""
    mistake: str = ""  # a key of MISTAKES, when a hint names the confusion
    digits: int | None = None  # rounded: right to this many significant digits
    quantity: dict | None = None  # kind, layer, item, sample, step

    @property
    def ok(self) -> bool:
        return self.verdict in ("correct", "consistent")

    @property
    def where(self) -> str:
        return qualified(self.sheet, self.cell)

    @property
    def verdict_text(self) -> str:
        return _(VERDICTS[self.verdict]).format(digits=self.digits)

    def line(self, teacher: bool = False) -> str:
        """One line of the report; the expected value only in the teacher's view."""
        found = f"{self.found:.9g}" if isinstance(self.found, float) else "—"
        expected = " " + _("(expected {value})").format(value=f"{self.expected:.9g}") if teacher else ""
        text = f"{self.where} {self.name}: {found}{expected}: {self.verdict_text}"
        if self.verdict == "consistent":
            text += " " + _("(given your earlier answers: {value})").format(value=f"{self.consistent_value:.9g}")
        return text + ("; " + _("hint: {hint}").format(hint=self.hint) if self.hint else "")

    def as_dict(self, teacher: bool = False):
        d = {**asdict(self), "where": self.where, "ok": self.ok, "verdict_text": self.verdict_text}
        if not teacher and self.verdict != "correct":
            d["expected"] = None  # a student's self-check never shows the answer
        if not teacher and self.verdict != "consistent":
            d["consistent_value"] = None  # from the student's inputs it is the answer too
        return d


class Tolerance:
    """|found − expected| within rtol·|expected| (+ a tiny atol), or to ``digits`` significant digits."""

    def __init__(self, rtol: float | None = None, digits: int | None = None):
        self.rtol, self.digits = (1e-4 if rtol is None and digits is None else rtol), digits

    def __call__(self, found, expected) -> bool:
        if not isinstance(found, float) or isinstance(found, bool) or not math.isfinite(found):
            return False
        if self.digits is not None:
            if expected == 0:
                return abs(found) < 10.0 ** (-self.digits)
            unit = 10.0 ** (math.floor(math.log10(abs(expected))) - self.digits + 1)
            return abs(found - expected) <= 0.5 * unit * (1 + 1e-9)
        return abs(found - expected) <= 1e-12 + self.rtol * abs(expected)


def significant_digits(found, expected) -> int:
    """How many significant digits of ``expected`` ``found`` gets right: the largest N with
    |found − expected| within half a unit of the N-th significant digit (0: not even one)."""
    if not isinstance(found, float) or isinstance(found, bool) or not math.isfinite(found) or expected == 0:
        return 0
    top = math.floor(math.log10(abs(expected)))
    n = 0
    for digits in range(1, 16):
        if abs(found - expected) <= 0.5 * 10.0 ** (top - digits + 1) * (1 + 1e-9):
            n = digits
        else:
            break
    return n


@damaged_is_error
def grade(book, rtol: float | None = None, digits: int | None = None) -> list[Answer]:
    """Every answer cell of an exercise workbook, in computation order."""
    close = Tolerance(rtol, digits)
    spec, lay = book.spec, book.layout
    trace = book.train()
    model = Model(spec)
    refs, names = CellRefs(lay), NameRefs(lay, model, book.notation)
    build = StepFormulas(model, refs)
    kinds = {k for s in book.exercise for k in EXERCISE_SECTIONS[s]}
    settings = _settings(spec)
    values = Evaluated(book)
    derive = book.scope is not None and book.scope.level == "derive"
    out = []
    for k in range(lay.n_steps):
        refs.step = k
        vals = StepValues(trace, model, k)
        alt = _Alternatives(trace, model, lay, k)
        for cell, kind, layer, item, pos in lay.step_cells(k):
            if kind not in kinds or not book.in_scope(kind, layer, item, pos):
                continue
            found, unreadable = _found(book, values, cell)
            expected = float(vals.get(kind, layer, item, pos))
            name = names.name(kind, layer, item) + (f" (sample {pos + 1})" if lay.per_sample(kind, layer) else "")
            consistent = _evaluate(build.formula(kind, layer, item, k, pos), cell.sheet, values, settings)
            hint = mistake = ""
            digits = None
            if found is None:
                verdict = "wrong" if unreadable else "missing"
                if unreadable:
                    hint, mistake = ("a formula sheetnet cannot evaluate, and no value stored with it: type the "
                                     "number, or open and save the file in Excel or LibreOffice"), "unreadable"
            elif derive and not _derived(book.found(cell)[0], cell.sheet):
                verdict, mistake = "wrong", "not_derived"
                hint = ("this exercise asks for the formula: write it with references to the cells it uses "
                        "(=…), not its value")
            else:
                verdict, digits, hint, mistake = judge(
                    found, expected, consistent, close, lambda: alt.hint(kind, layer, item, pos, found, expected, close))
            out.append(Answer(cell.sheet, cell.a1(), name, found, expected, consistent, verdict, hint, mistake, digits,
                              {"kind": kind, "layer": layer, "item": item, "sample": pos + 1, "step": k + 1}))
    return out


def judge(found: float, expected: float, consistent, close, slip) -> tuple[str, int | None, str, str]:
    """(verdict, digits, hint, mistake) of a number the student gave: correct within the
    tolerance ``close``; consistent with the student's earlier answers; wrong with the hint of the
    slip that explains it (``slip()`` -> (hint, mistake) or ("", "")); else, when it gets two or
    more significant digits right, "right to N significant digits" (rounded too early)."""
    if close(found, expected):
        return "correct", None, "", ""
    if consistent is not None and close(found, consistent):
        return "consistent", None, "", ""
    hint, mistake = slip()
    n = significant_digits(found, expected)
    if mistake or n < 2:
        return "wrong", None, hint, mistake
    return "rounded", n, _("right to {n} significant digits, short of the tolerance: keep more digits "
                           "(or grade with --digits {n})").format(n=n), "rounded"


def _derived(formula, sheet) -> bool:
    """Is the answer a formula that reads other cells (not a number, nor =0.15*0.05+…)?"""
    from ..sheet.exercise import references

    return bool(formula) and any(True for _ in references(formula, sheet))


def _found(book, values, cell):
    """(the student's number or None, whether a formula could not be evaluated): a formula
    is evaluated by sheetnet from the workbook's cells (a script may have stored no value)."""
    formula, stored = book.found(cell)
    if formula is not None:
        v = values.number(cell)
        if v is not None:
            return v, False
    if isinstance(stored, float) and not isinstance(stored, bool) and math.isfinite(stored):
        return stored, False
    return None, formula is not None and formula.strip() != ""


def _settings(spec) -> dict:
    tr = spec.train
    values = {"lr": tr.lr, "momentum": tr.momentum, "beta1": tr.beta1, "beta2": tr.beta2, "alpha": tr.alpha,
              "eps": tr.eps, "l1": tr.l1, "l2": tr.l2, "lr_decay": tr.lr_decay, "delta": spec.loss.delta}
    return {SETTING_NAMES[k]: v for k, v in values.items()}


def _evaluate(formula: str, sheet: str, values, settings: dict):
    """Our formula for the cell, evaluated on the workbook's values (the student's answers and
    what follows from them); None if a cell it reads holds no number."""
    from openpyxl.utils.cell import range_boundaries

    from .evaluated import _REF

    def lookup(text):
        m = _REF.match(text)
        where = (m.group(1) or "").replace("''", "'") or m.group(2) or sheet
        first, last = m.group(3), m.group(4) or m.group(3)
        c0, r0, c1, r1 = range_boundaries(f"{first}:{last}")
        found = [values.number(Cell(where, r - 1, c - 1)) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)]
        if any(v is None for v in found):
            raise ValueError("a referenced cell holds no number")
        return found if m.group(4) else found[0]

    try:
        return float(evaluate(formula, lookup, settings))
    except (ValueError, ArithmeticError, KeyError, TypeError):
        return None


class _Alternatives:
    """What the common wrong turns give, to name the confusion behind a wrong answer."""

    def __init__(self, trace, model, lay, k):
        self.t, self.m, self.lay, self.k = trace, model, lay, k
        e, lo, hi = trace.steps[k]
        self.e, self.lo, self.hi = e, lo, hi
        self.B = hi - lo
        self._stale = None

    def hint(self, kind, layer, item, pos, found, expected, close) -> tuple[str, str]:
        """(hint, kind of mistake) for a wrong answer, or ("", "").  Each test compares the
        answer with what one wrong turn gives *for this cell*, everything else right."""
        spec, m = self.t.spec, self.m
        if kind == "p1" and self.lay.frozen(item):  # biases frozen: the value stays p0
            p0, lr = self.t.thetas[self.k, item], self.t.lr[self.k]
            stale = self.stale_hidden()
            updated = [p0 - lr * self.t.grads[self.k, item]]
            if stale is not None:
                updated.append(p0 - lr * stale["g"][item])
            if any(close(found, u) for u in updated):
                return (_("biases are not updated in this exercise (freeze_biases): the updated value is the "
                          "starting one"), "frozen_bias")
        # a batch loss or gradient B times too large (its per-sample parts right) was summed;
        # with B = 2 it is also "twice", but a missing ½ would have shown in the per-sample answers
        if self.B > 1 and kind in ("data_loss", "g"):
            if m.mean and close(found, self.B * expected):
                return (_("{B} times the expected value: summed over the samples where the spec averages "
                          "(reduction = \"mean\")").format(B=self.B), "sum_mean")
            if not m.mean and close(found, expected / self.B):
                return (_("1/{B} of the expected value: averaged over the samples where the spec sums "
                          "(reduction = \"sum\")").format(B=self.B), "sum_mean")
        if spec.loss.kind == "half_sse" and kind in ("term", "loss", "data_loss", "L", "delta") \
                and close(found, 2 * expected):
            return (_("twice the expected value: the ½ in E = ½(t − out)² is missing (or its derivative "
                      "(out − t) got a 2)"), "half")
        if kind == "p1" and not m.params.is_weight[item] and not self.lay.frozen(item) \
                and close(found, self.t.thetas[self.k, item]):
            return _("the bias kept its old value: biases are updated too (unless freeze_biases)"), "bias_kept"
        if spec.loss.kind in ("cross_entropy", "binary_cross_entropy") and kind in ("term", "loss", "data_loss") \
                and close(found, expected / math.log(10)):
            return _("LOG (base 10) where the loss needs LN, the natural logarithm"), "log10"
        stale = self.stale_hidden()
        if stale is not None and (kind, layer) in stale.get("delta", {}) \
                and close(found, stale["delta"][(kind, layer)][pos, item]):
            return (_("the hidden delta was computed from the already-updated weights of the layer above; all "
                      "gradients come from the weights before the update"), "stale")
        if stale is not None and kind in ("g", "p1") and close(found, stale[kind][item]) and \
                not math.isclose(stale[kind][item], expected, rel_tol=1e-12):
            return (_("computed with hidden deltas from the already-updated weights of the layer above (the error "
                      "behind the widely copied 0.291027924); all gradients come from the weights before the "
                      "update"), "stale")
        return "", ""

    def stale_hidden(self):
        """The step done the wrong way: hidden deltas from the updated weights (plain SGD only)."""
        if self._stale is not None or self.m.optimizer.name != "sgd" or len(self.m.acts) < 2:
            return self._stale
        t, m, P = self.t, self.m, self.m.params
        theta_new = t.thetas[self.k + 1]
        x = t.spec.data.inputs[t.orders[self.e, self.lo:self.hi]]
        deltas = {}
        grads = t.grads[self.k].copy()
        last = len(m.acts) - 1
        delta = t.delta[last][self.e, self.lo:self.hi]
        c = 1.0 / self.B if m.mean else 1.0
        for l in range(last - 1, -1, -1):
            z, a = t.z[l][self.e, self.lo:self.hi], t.a[l][self.e, self.lo:self.hi]
            delta = (delta @ P.W(theta_new, l + 1)) * m.acts[l].grad(z, a)
            deltas[("delta", l)] = delta
            a_prev = x if l == 0 else t.a[l - 1][self.e, self.lo:self.hi]
            grads[P.w_slices[l]] = (c * delta.T @ a_prev).ravel()
            grads[P.b_slices[l]] = c * delta.sum(axis=0)
            if m.penalised:
                w = t.thetas[self.k][P.w_slices[l]]
                grads[P.w_slices[l]] += t.spec.train.l2 * w + t.spec.train.l1 * np.sign(w)
        p1 = t.thetas[self.k] - t.lr[self.k] * grads
        frozen = [i for i in range(P.size) if self.lay.frozen(i)]
        p1[frozen] = t.thetas[self.k][frozen]  # the same wrong turn keeps frozen biases frozen
        self._stale = {"delta": deltas, "g": grads, "p1": p1}
        return self._stale


def write_graded_copy(src: str, dst: str, answers: list[Answer], teacher: bool = False) -> str:
    """A copy of the student's workbook with green (right) and red (wrong) answer cells, the
    verdict and hint in a comment (and the expected value, for a teacher).  The student's file
    is only read."""
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    fills = {True: PatternFill("solid", fgColor="C6EFCE"), False: PatternFill("solid", fgColor="FFC7CE")}
    try:
        wb = openpyxl.load_workbook(src)
    except Exception as e:  # a damaged part openpyxl needs that sheetnet's own reading skips (styles, docProps)
        raise WorkbookError(_("damaged .xlsx file: cannot copy it for grading ({name})").format(
            name=e.__class__.__name__), src) from None
    for a in answers:
        cell = wb[a.sheet][a.cell]
        cell.fill = fills[a.ok]
        text = a.verdict_text + (": " + _("expected {value}").format(
            value=f"{a.expected:.9g}") if teacher else "") \
            + ("\n" + _("hint: {hint}").format(hint=a.hint) if a.hint else "")
        cell.comment = Comment(text, "sheetnet", width=320, height=90)
    with atomic_path(dst, suffix=".xlsx.part") as tmp:
        wb.save(tmp)
    return dst


def summary(answers: list[Answer]) -> str:
    counts = {v: sum(a.verdict == v for a in answers) for v in VERDICTS}
    rounded = _(", {n} right to fewer significant digits").format(n=counts["rounded"]) if counts["rounded"] else ""
    return _("{n} answers: {correct} correct, {consistent} consistent with earlier values{rounded}, {wrong} wrong, "
             "{missing} not answered").format(n=len(answers), correct=counts["correct"],
                                              consistent=counts["consistent"], rounded=rounded, wrong=counts["wrong"],
                                              missing=counts["missing"])


def mistake_counts(answers: list[Answer]) -> dict:
    """{kind of mistake: how many answers show it}, for every kind in MISTAKES."""
    return {k: sum(a.mistake == k for a in answers) for k in MISTAKES}


def mistake_lines(answers: list[Answer]) -> list[str]:
    """One line per kind of mistake found: how many answers, and where first."""
    lines = []
    for k, n in mistake_counts(answers).items():
        if n:
            first = next(a for a in answers if a.mistake == k)
            lines.append(_("{mistake}: {n} answer(s), first {where} {name}").format(
                mistake=_(MISTAKES[k]), n=n, where=first.where, name=first.name))
    return lines
