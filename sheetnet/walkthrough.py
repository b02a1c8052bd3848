"""The hand calculation of one step, in textbook order, with the numbers substituted.

Each line is ``name = equation = equation with numbers = value``.  The equations come
from the same registry formulas the workbook uses (evaluated on names, then on numbers),
so the walk-through, the engine and the spreadsheet say the same thing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .engine.trace import StepView
from .i18n import _
from .text import terminal_width, wrap
from .ops import formula as f
from .ops.notation import notation
from .ops.symbols import Symbols, fmt, pretty

# the settings as a textbook writes them, substituted by their values in every equation
SETTING_SYMBOLS = {"eta": "η", "momentum": "μ", "beta1": "β₁", "beta2": "β₂", "alpha": "α", "eps": "ε",
                   "delta": "δ_huber", "l1": "λ₁", "l2": "λ₂"}


@dataclass
class Line:
    section: str
    name: str
    equation: str
    substituted: str
    value: float
    tag: str = ""  # which of the four backpropagation equations the line is: BP1 … BP4
    comment: str = ""  # why the line reads as it does, in one phrase
    matrix: list | None = None  # a whole matrix (value None): the gradient of a layer's weights


def _sum_terms(terms: list[str]) -> str:
    """Every term of a sum, written out (a long sum wraps; none is left out)."""
    return " + ".join(terms)


class _Step:
    """The values of one sample in one step, and the lines being written."""

    def __init__(self, trace, k: int, sample_pos: int, chain: bool = False, names: str = "mazur"):
        from .engine.training import Model  # the registry objects of the run

        self.trace, self.spec, self.P = trace, trace.spec, trace.params
        self.model = Model(trace.spec)
        self.view = StepView(trace, k)
        self.k, self.pos, self.chain = k, sample_pos, chain
        self.nt = notation(names, trace.spec, trace.params)
        self.n = int(self.view.samples[sample_pos])
        self.theta = trace.thetas[k]
        self.lines: list[Line] = []
        tr = self.spec.train
        self.sym = Symbols()
        self.settings = {"eta": self.view.lr, "momentum": tr.momentum, "beta1": tr.beta1, "beta2": tr.beta2,
                         "alpha": tr.alpha, "eps": tr.eps, "delta": self.spec.loss.delta, "l1": tr.l1, "l2": tr.l2}
        self.hp = {key: self.sym(SETTING_SYMBOLS[key], v) for key, v in self.settings.items()}

    def add(self, section, name, equation, value, tag="", comment=""):
        eq = pretty(equation)
        self.lines.append(Line(section, name, self.sym.as_names(eq), self.sym.as_numbers(eq),
                               float(value), tag, comment))

    def note(self, section, name, equation, value, tag="", comment="", substituted=""):
        self.lines.append(Line(section, name, equation, substituted, float(value), tag, comment))

    def at(self, arrays, l):
        """Layer l's row for the chosen sample (l = −1: the inputs)."""
        if l < 0:
            return self.spec.data.inputs[self.n]
        return arrays[l][self.view.e, self.view.lo + self.pos]

    def out(self, l, i):
        """Token for the output of unit i of layer l (l = −1: input i)."""
        return self.sym(self.nt.out(l, i), self.at(self.trace.a, l)[i])


def walkthrough(trace, k: int = 0, sample: int = 0, chain: bool = False, names: str = "mazur") -> list[Line]:
    """The lines of step ``k`` for the ``sample``-th sample of its batch.

    With ``chain``, each δ of a dense layer is shown as the chain rule's two factors first,
    ∂E/∂out (from the loss, or Σ w·δ from the layer above) and ∂out/∂net, and each weight
    gradient of a one-sample batch as ∂E/∂out · ∂out/∂net · ∂net/∂w, as Mazur derives it.
    ``names`` is the notation of the labels (ops/notation.py): "mazur", "wakui" or "matrix".
    """
    from .engine.wiring import wirings

    s = _Step(trace, k, sample, chain, names)
    nt = s.nt
    spec, P, model, sym = s.spec, s.P, s.model, s.sym
    layers, last = spec.layers, len(model.acts) - 1
    wiring = wirings(spec, P)
    par = lambda idx: sym(nt.param(idx), s.theta[idx])  # noqa: E731
    for l, act in enumerate(model.acts):
        for j, u in enumerate(layers[l + 1].names):
            if wiring[l].kind == "maxpool":
                s.add("forward", nt.out(l, j), f.max_(*[s.out(l - 1, i) for i in wiring[l].window(j)]),
                      s.at(trace.a, l)[j])
                continue
            terms = [f.mul(par(w), s.out(l - 1, i)) for w, i in wiring[l].inputs(j)] + [par(wiring[l].bias(j))]
            s.add("forward", nt.net(l, j), _sum_terms(terms), s.at(trace.z, l)[j])
            net = sym(nt.net(l, j), s.at(trace.z, l)[j])
            if act.name == "softmax":
                every = " + ".join(f"e^{nt.net(l, kk)}" for kk in range(len(layers[l + 1].names)))
                s.note("forward", nt.out(l, j), f"e^{nt.net(l, j)} / ({every})", s.at(trace.a, l)[j])
            else:
                s.add("forward", nt.out(l, j), act.symbol(net), s.at(trace.a, l)[j])
    y, t = s.at(trace.a, last), spec.data.targets[s.n]
    outs = layers[-1].names
    ys = [s.out(last, kk) for kk in range(len(outs))]
    ts = [sym(nt.target(kk), t[kk]) for kk in range(len(outs))]
    names = {"delta": s.hp["delta"]}
    z_last = s.at(trace.z, last)
    terms = (model.loss.term_logits(z_last[None], t[None]) if model.fused else
             model.loss.term(y[None], t[None], model.hp))[0]
    for kk, u in enumerate(outs):
        eq = f.mul(f.neg(ts[kk]), f.ln(ys[kk])) if model.fused else model.loss.xl_term(ys[kk], ts[kk], names)
        s.add("loss", nt.term(kk), eq, terms[kk])
    total = " + ".join(nt.term(kk) for kk in range(len(outs)))
    if model.loss.combine == "mean":
        total = f"({total})/{len(outs)}"
    s.note("loss", nt.loss, total, trace.sample_loss[s.view.e, s.view.lo + sample])
    nb = len(s.view.samples)
    if nb > 1:
        how = _("mean of {loss} over the {n} samples of the batch") if model.mean else \
            _("sum of {loss} over the {n} samples of the batch")
        s.note("loss", f"{nt.loss}_batch", how.format(loss=nt.loss, n=nb),
               trace.sample_loss[s.view.e, s.view.lo:s.view.hi].mean() if model.mean else
               trace.sample_loss[s.view.e, s.view.lo:s.view.hi].sum())
    penalised = bool(spec.train.l1 or spec.train.l2)
    if penalised:
        _penalty_line(s, trace, k)
        s.note("loss", "L" if nt.loss != "L" else "J",
               f"{nt.loss}_batch + {_('penalty')}" if nb > 1 else f"{nt.loss} + {_('penalty')}", trace.loss[k])
    # backward, from the output layer down
    d, factors = {}, {}
    for l in range(last, -1, -1):
        act = model.acts[l]
        for j, u in enumerate(layers[l + 1].names):
            out = s.out(l, j)
            delta_value = s.at(trace.delta, l)[j]
            dense = wiring[l].kind == "dense" and (l == last or wiring[l + 1].kind == "dense")
            tag = ("BP1" if l == last else "BP2") if dense else ""
            if l == last and model.fused:  # softmax + cross-entropy: δ = out − t
                s.add("backward", nt.delta(l, j), model.loss.xl_delta(out, ts[j]), delta_value, tag,
                      _("softmax and cross-entropy together: the derivative collapses to out − t"))
            elif l == last and act.name == "sigmoid" and model.loss.name == "binary_cross_entropy":
                simple = f.sub(out, ts[j]) if len(outs) == 1 else f.div(f.sub(out, ts[j]), str(len(outs)))
                s.add("backward", nt.delta(l, j), simple, delta_value, tag,
                      _("σ′ cancels the denominator of the BCE derivative; the sheet keeps the clamped form"))
            elif wiring[l].kind == "maxpool" and l != last and wiring[l + 1].kind != "maxpool":
                back = [f.mul(par(w), d[(l + 1, kk)]) for w, kk in wiring[l + 1].outputs(j)]
                s.add("backward", nt.delta(l, j), _sum_terms(back), delta_value)
            elif l != last and wiring[l + 1].kind == "maxpool":
                [(_weight, kk)] = wiring[l + 1].outputs(j)
                window = wiring[l + 1].window(kk)
                values = s.at(trace.a, l)[window]
                if window[int(values.argmax())] != j:
                    s.note("backward", nt.delta(l, j), "0", 0.0, comment=_("not the first maximum of its pooling window"))
                    d[(l, j)] = sym(nt.delta(l, j), 0.0)
                    continue
                grad = act.xl_grad(sym(nt.net(l, j), s.at(trace.z, l)[j]), out)
                s.add("backward", nt.delta(l, j), _times(d[(l + 1, kk)], grad), delta_value)
            else:
                net = sym(nt.net(l, j), s.at(trace.z, l)[j])
                if l == last:
                    outer = model.loss.xl_dl_dy(out, ts[j], len(outs), names)
                    outer_value = model.loss.dl_dy(y[None], t[None], model.hp)[0, j]
                else:
                    uses = wiring[l + 1].outputs(j)
                    outer = _sum_terms([f.mul(par(w), d[(l + 1, kk)]) for w, kk in uses])
                    outer_value = sum(s.theta[w] * s.at(trace.delta, l + 1)[kk] for w, kk in uses)
                inner = act.xl_grad(net, out)
                if s.chain and dense:
                    inner_value = act.grad(s.at(trace.z, l)[None, j:j + 1], s.at(trace.a, l)[None, j:j + 1])[0, 0]
                    s.add("backward", nt.by_out(l, j), outer, outer_value)
                    s.add("backward", nt.out_by_net(l, j), inner, inner_value)
                    factors[(l, j)] = (sym(nt.by_out(l, j), outer_value), sym(nt.out_by_net(l, j), inner_value))
                    s.add("backward", nt.delta(l, j), f.mul(*factors[(l, j)]), delta_value, tag)
                else:
                    s.add("backward", nt.delta(l, j), _times(outer, inner), delta_value, tag)
            d[(l, j)] = sym(nt.delta(l, j), delta_value)
    # gradients, then the update of every parameter
    per_sample = s.view.per_sample_gradients()[sample]
    g_all, after = trace.grads[k], trace.thetas[k + 1]
    opt, tr = model.optimizer, spec.train
    grads = {}
    for l in range(len(P.shapes)):
        for idx in range(P.slices[l].start, P.slices[l].stop):
            uses = wiring[l].uses(idx)
            weight = bool(P.is_weight[idx])
            tag = ("BP4" if weight else "BP3") if wiring[l].kind == "dense" else ""
            eq = _sum_terms([d[(l, j)] if i is None else f.mul(d[(l, j)], s.out(l - 1, i)) for j, i in uses])
            if s.chain and nb == 1 and len(uses) == 1 and uses[0][1] is not None:
                j, i = uses[0]
                by_net = sym(nt.net_by(l, j, idx), s.at(trace.a, l - 1)[i] if l else spec.data.inputs[s.n][i])
                eq = f.mul(*factors.get((l, j), (d[(l, j)],)), by_net)
            g = nt.grad(idx, "L" if penalised and weight and nt.loss != "L" else None)
            if nb > 1:
                s.add("gradients", _("{name} (data row {row})").format(name=nt.grad(idx), row=s.n + 1), eq,
                      per_sample[idx], tag)
                how = (_("mean of {name} over the batch") if model.mean else _("sum of {name} over the batch"))
                how = how.format(name=nt.grad(idx))
                s.note("gradients", g, how + " + λ₂·w + λ₁·sign(w)" if penalised and weight else how, g_all[idx])
            else:
                if penalised and weight:
                    eq = f.add(eq, f.mul(s.hp["l2"], par(idx)), f.mul(s.hp["l1"], f.sign(par(idx))))
                s.add("gradients", g, eq, g_all[idx], tag)
            grads[idx] = sym(g, g_all[idx])
        if s.nt.name == "matrix" and wiring[l].kind == "dense":
            s.lines.append(_gradient_matrix(s, l, g_all, nb, penalised))
    state = {n: trace.states[n][k] for n in opt.state} | {n: trace.shown[n][k] for n in opt.shown}
    start = trace.start
    hp = {key: s.hp[key] for key in ("momentum", "beta1", "beta2", "alpha", "eps")}
    for idx in range(P.size):
        if tr.freeze_biases and not P.is_weight[idx]:
            s.note("update", f"{nt.param(idx)}⁺", nt.param(idx), after[idx], comment=_("biases are frozen in this run"))
            continue
        if k > 0:
            prev = {n: sym(f"{n}_prev", trace.states[n][k - 1][idx]) for n in opt.state}
        elif start is not None and start.step > 0:
            prev = {n: sym(f"{n}_prev", start.state[n][idx]) for n in opt.state}
        else:
            prev = {}
        t_step = (start.step if start is not None else 0) + k + 1
        cur = {n: sym(f"{n}[{nt.param(idx)}]", state[n][idx]) for n in (*opt.state, *opt.shown)}
        for n in cur:
            s.add("update", f"{n}[{nt.param(idx)}]", opt.xl_state(n, grads[idx], prev, cur, str(t_step), hp),
                  state[n][idx])
        s.add("update", f"{nt.param(idx)}⁺", opt.xl_param(par(idx), grads[idx], cur, s.hp["eta"], hp), after[idx])
    return s.lines


def _gradient_matrix(s: _Step, l: int, g_all, nb: int, penalised: bool) -> Line:
    """dW = W.grad, the gradient of dense layer l's weight matrix as code-first posts write it:
    dZ·Aᵀ of the layer's deltas and inputs (a batch: their mean or sum over the samples)."""
    P = s.P
    shape = P.shapes[l]
    before = "X" if l == 0 else f"A{l}"
    eq = f"dZ{l + 1}·{before}ᵀ"
    if nb > 1:
        eq = f"(1/{nb})·Σ {eq}" if s.model.mean else f"Σ {eq}"
    if penalised:
        eq += f" + λ₂·W{l + 1} + λ₁·sign(W{l + 1})"
    matrix = g_all[P.w_slices[l]].reshape(shape)
    return Line("gradients", f"dW{l + 1} = W{l + 1}.grad ({shape[0]}×{shape[1]})", eq, "", None,
                matrix=[[float(v) for v in row] for row in matrix])


def _penalty_line(s: _Step, trace, k: int):
    """penalty = (λ₂/2)·Σw² + λ₁·Σ|w| over the weights before the update, with its numbers."""
    tr, w = s.spec.train, s.theta[s.P.is_weight]
    names, numbers = [], []
    if tr.l2:
        names.append("(λ₂/2)·Σw²")
        numbers.append(f"({fmt(tr.l2)}/2)·{fmt(np.dot(w, w))}")
    if tr.l1:
        names.append("λ₁·Σ|w|")
        numbers.append(f"{fmt(tr.l1)}·{fmt(np.abs(w).sum())}")
    s.note("loss", "penalty", " + ".join(names), trace.penalty[k], substituted=" + ".join(numbers))


def _times(a: str, b: str) -> str:
    return a if b == "1" else f.mul(a, b)


BACKWARD = {"mazur": "δ = ∂E/∂net", "wakui": "δ = ∂C/∂z", "matrix": "dZ = ∂L/∂Z"}


def render(lines: list[Line], header: str, width: int | None = None, names: str = "mazur") -> str:
    """The lines as text, one section after the other, wrapped at ``width`` display columns
    (the terminal's width by default); ``names``: the notation the lines were made in."""
    width = width or terminal_width()
    titles = {"function": _("Function value"), "forward": _("Forward pass"), "loss": _("Loss"),
              "backward": _("Backward pass ({definition})").format(definition=BACKWARD[names]),
              "gradients": _("Gradients"), "update": _("Update")}
    out, section = wrap(header, width), None
    for ln in lines:
        if ln.section != section:
            section = ln.section
            out += ["", titles[section]]
        if ln.matrix is not None:  # the equation, then one row of the matrix per line
            out += wrap(f"{ln.name} = {ln.equation} =", width, "  ", "      ")
            for row in ln.matrix:
                out += wrap("[" + "  ".join(fmt(v) for v in row) + "]", width, "      ", "       ")
            continue
        parts = [ln.name, ln.equation]
        if ln.substituted and ln.substituted.strip("()") not in (ln.equation, fmt(ln.value)):
            parts.append(ln.substituted)
        if not ln.equation.endswith(fmt(ln.value)):
            parts.append(fmt(ln.value))
        text = " = ".join(parts)
        if ln.comment:
            text += f"  ({ln.comment})"
        if ln.tag:
            text += f"  [{ln.tag}]"
        out += wrap(text, width, "  ", "      ")
    return "\n".join(out)


def as_dicts(lines: list[Line]) -> list[dict]:
    return [asdict(ln) for ln in lines]
