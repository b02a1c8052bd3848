"""Grade an exercise workbook: every answer cell against the reference, with error carried
forward (an answer that is right given the student's own earlier answers counts) and hints
for the classic confusions of hand calculations."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

import numpy as np

from .cells import damaged_is_error
from ..engine.training import Model
from ..errors import WorkbookError
from ..files import atomic_path
from ..sheet.formulas import StepFormulas
from ..sheet.layout import EXERCISE_SECTIONS, SETTING_NAMES, Cell, qualified
from ..ops.evaluate import evaluate
from ..sheet.refs import CellRefs, NameRefs
from ..sheet.values import StepValues

VERDICTS = {"correct": "correct", "consistent": "consistent with your earlier value", "wrong": "wrong",
            "missing": "not answered"}


@dataclass
class Answer:
    sheet: str
    cell: str
    name: str
    found: object
    expected: float
    consistent_value: float | None
    verdict: str  # correct | consistent | wrong | missing
    hint: str = ""

    @property
    def ok(self) -> bool:
        return self.verdict in ("correct", "consistent")

    @property
    def where(self) -> str:
        return qualified(self.sheet, self.cell)

    def line(self) -> str:
        found = f"{self.found:.9g}" if isinstance(self.found, float) else "—"
        text = f"{self.where} {self.name}: {found} (expected {self.expected:.9g}): {VERDICTS[self.verdict]}"
        if self.verdict == "consistent":
            text += f" (given your earlier answers: {self.consistent_value:.9g})"
        return text + (f"; hint: {self.hint}" if self.hint else "")

    def as_dict(self):
        return {**asdict(self), "where": self.where, "ok": self.ok}


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


@damaged_is_error
def grade(book, rtol: float | None = None, digits: int | None = None) -> list[Answer]:
    """Every answer cell of an exercise workbook, in computation order."""
    close = Tolerance(rtol, digits)
    spec, lay = book.spec, book.layout
    trace = book.train()
    model = Model(spec)
    refs, names = CellRefs(lay), NameRefs(lay, model)
    build = StepFormulas(model, refs)
    kinds = {k for s in book.exercise for k in EXERCISE_SECTIONS[s]}
    settings = _settings(spec)
    out = []
    for k in range(lay.n_steps):
        refs.step = k
        vals = StepValues(trace, model, k)
        alt = _Alternatives(trace, model, lay, k)
        for cell, kind, layer, item, pos in lay.step_cells(k):
            if kind not in kinds:
                continue
            found = book.found(cell)[1]
            expected = float(vals.get(kind, layer, item, pos))
            name = names.name(kind, layer, item) + (f" (sample {pos + 1})" if lay.per_sample(kind, layer) else "")
            consistent = _evaluate(build.formula(kind, layer, item, k, pos), cell.sheet, book, settings)
            if not isinstance(found, float) or isinstance(found, bool):
                verdict = "missing"
            elif close(found, expected):
                verdict = "correct"
            elif consistent is not None and close(found, consistent):
                verdict = "consistent"
            else:
                verdict = "wrong"
            hint = alt.hint(kind, layer, item, pos, found, expected, close) if verdict == "wrong" else ""
            out.append(Answer(cell.sheet, cell.a1(), name, found, expected, consistent, verdict, hint))
    return out


def _settings(spec) -> dict:
    tr = spec.train
    values = {"lr": tr.lr, "momentum": tr.momentum, "beta1": tr.beta1, "beta2": tr.beta2, "alpha": tr.alpha,
              "eps": tr.eps, "l1": tr.l1, "l2": tr.l2, "lr_decay": tr.lr_decay, "delta": spec.loss.delta}
    return {SETTING_NAMES[k]: v for k, v in values.items()}


_REF = re.compile(r"^(?:'((?:[^']|'')+)'!|([A-Za-z_][\w.]*)!)?([A-Z]{1,3}\d+)(?::([A-Z]{1,3}\d+))?$")


def _evaluate(formula: str, sheet: str, book, settings: dict):
    """Our formula for the cell, evaluated on the values the workbook stores (the student's
    answers and what their spreadsheet computed from them); None if that is not possible."""
    from openpyxl.utils.cell import range_boundaries

    def lookup(text):
        m = _REF.match(text)
        where = (m.group(1) or "").replace("''", "'") or m.group(2) or sheet
        first, last = m.group(3), m.group(4) or m.group(3)
        c0, r0, c1, r1 = range_boundaries(f"{first}:{last}")
        values = [book.found(Cell(where, r - 1, c - 1))[1] for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)]
        if any(not isinstance(v, float) for v in values):
            raise ValueError("a referenced cell holds no number")
        return values if m.group(4) else values[0]

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

    def hint(self, kind, layer, item, pos, found, expected, close) -> str:
        spec, m = self.t.spec, self.m
        # first: a batch loss or gradient B times too large (its per-sample parts right) was summed;
        # with B = 2 it is also "twice", but a missing ½ would have shown in the per-sample answers
        if self.B > 1 and kind in ("data_loss", "g"):
            if m.mean and close(found, self.B * expected):
                return f"{self.B} times the expected value: summed over the samples where the spec averages (reduction = \"mean\")"
            if not m.mean and close(found, expected / self.B):
                return f"1/{self.B} of the expected value: averaged over the samples where the spec sums (reduction = \"sum\")"
        if spec.loss.kind == "half_sse" and kind in ("term", "loss", "data_loss", "L", "delta") \
                and close(found, 2 * expected):
            return "twice the expected value: the ½ in E = ½(t − out)² is missing (or its derivative (out − t) got a 2)"
        if kind == "p1" and not m.params.is_weight[item] and close(found, self.t.thetas[self.k, item]):
            return "the bias kept its old value: biases are updated too (unless freeze_biases)"
        if spec.loss.kind in ("cross_entropy", "binary_cross_entropy") and kind in ("term", "loss", "data_loss") \
                and close(found, expected / math.log(10)):
            return "LOG (base 10) where the loss needs LN, the natural logarithm"
        stale = self.stale_hidden()
        if stale is not None and (kind, layer) in stale.get("delta", {}) and close(found, stale["delta"][(kind, layer)][pos, item]):
            return ("the hidden delta was computed from the already-updated weights of the layer above; all "
                    "gradients come from the weights before the update")
        if stale is not None and kind in ("g", "p1") and close(found, stale[kind][item]) and \
                not math.isclose(stale[kind][item], expected, rel_tol=1e-12):
            return ("computed with hidden deltas from the already-updated weights of the layer above (the error "
                    "behind the widely copied 0.291027924); all gradients come from the weights before the update")
        return ""

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
        self._stale = {"delta": deltas, "g": grads, "p1": p1}
        return self._stale


def write_graded_copy(src: str, dst: str, answers: list[Answer]) -> str:
    """A copy of the student's workbook with green (right) and red (wrong) answer cells and the
    expected value in a comment.  The student's file is only read."""
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    fills = {True: PatternFill("solid", fgColor="C6EFCE"), False: PatternFill("solid", fgColor="FFC7CE")}
    try:
        wb = openpyxl.load_workbook(src)
    except Exception as e:  # a damaged part openpyxl needs that sheetnet's own reading skips (styles, docProps)
        raise WorkbookError(f"damaged .xlsx file: cannot copy it for grading ({e.__class__.__name__})", src) from None
    for a in answers:
        cell = wb[a.sheet][a.cell]
        cell.fill = fills[a.ok]
        text = f"{VERDICTS[a.verdict]}: expected {a.expected:.9g}" + (f"\nhint: {a.hint}" if a.hint else "")
        cell.comment = Comment(text, "sheetnet", width=320, height=90)
    with atomic_path(dst, suffix=".xlsx.part") as tmp:
        wb.save(tmp)
    return dst


def summary(answers: list[Answer]) -> str:
    counts = {v: sum(a.verdict == v for a in answers) for v in VERDICTS}
    return (f"{len(answers)} answers: {counts['correct']} correct, {counts['consistent']} consistent with earlier "
            f"values, {counts['wrong']} wrong, {counts['missing']} not answered")
