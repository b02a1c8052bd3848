"""The hand calculation of one step, in textbook order, with the numbers substituted.

Each line is ``name = equation = equation with numbers = value``.  The equations come
from the same registry formulas the workbook uses (evaluated on names, then on numbers),
so the walk-through, the engine and the spreadsheet say the same thing.
"""

from __future__ import annotations

import textwrap
from dataclasses import asdict, dataclass

from .ops import formula as f
from .ops.symbols import Symbols, fmt, pretty

MAX_TERMS = 8  # longer sums are shown as first terms … last term


@dataclass
class Line:
    section: str
    name: str
    equation: str
    substituted: str
    value: float


def _sum_terms(terms: list[str]) -> str:
    if len(terms) > MAX_TERMS:
        terms = terms[:3] + ["…"] + terms[-1:]
    return " + ".join(terms)


class _Step:
    """The values of one sample in one step, and the lines being written."""

    def __init__(self, trace, k: int, sample_pos: int):
        from .engine.training import Model  # the registry objects of the run

        self.trace, self.spec, self.P = trace, trace.spec, trace.params
        self.model = Model(trace.spec)
        self.view = trace.step(k)
        self.k, self.pos = k, sample_pos
        self.n = int(self.view.samples[sample_pos])
        self.theta = trace.thetas[k]
        self.lines: list[Line] = []
        tr = self.spec.train
        self.sym = Symbols()
        self.settings = {"eta": self.view.lr, "momentum": tr.momentum, "beta1": tr.beta1, "beta2": tr.beta2,
                         "alpha": tr.alpha, "eps": tr.eps, "delta": self.spec.loss.delta, "l1": tr.l1, "l2": tr.l2}
        names = {"eta": "η", "momentum": "μ", "beta1": "β1", "beta2": "β2", "alpha": "α", "eps": "ε",
                 "delta": "δ_huber", "l1": "l1", "l2": "l2"}
        self.hp = {key: self.sym(names[key], v) for key, v in self.settings.items()}

    def add(self, section, name, equation, value):
        eq = pretty(equation)
        self.lines.append(Line(section, name, self.sym.as_names(eq), self.sym.as_numbers(eq),
                               float(value)))

    def note(self, section, name, equation, value):
        self.lines.append(Line(section, name, equation, "", float(value)))

    def at(self, arrays, l):
        """Layer l's row for the chosen sample (l = −1: the inputs)."""
        if l < 0:
            return self.spec.data.inputs[self.n]
        return arrays[l][self.view.epoch, self.view.lo + self.pos]

    def out(self, l, i):
        """Token for the output of unit i of layer l (l = −1: input i)."""
        u = self.spec.layers[l + 1].names[i]
        return self.sym(u if l < 0 else f"out_{u}", self.at(self.trace.a, l)[i])


def walkthrough(trace, k: int = 0, sample: int = 0) -> list[Line]:
    """The lines of step ``k`` for the ``sample``-th sample of its batch."""
    from .engine.wiring import wirings

    s = _Step(trace, k, sample)
    spec, P, model, sym = s.spec, s.P, s.model, s.sym
    layers, last = spec.layers, len(model.acts) - 1
    wiring = wirings(spec, P)
    label = P.labels
    par = lambda idx: sym(label[idx], s.theta[idx])  # noqa: E731
    for l, act in enumerate(model.acts):
        for j, u in enumerate(layers[l + 1].names):
            if wiring[l].kind == "maxpool":
                s.add("forward", f"out_{u}", f.max_(*[s.out(l - 1, i) for i in wiring[l].window(j)]),
                      s.at(trace.a, l)[j])
                continue
            terms = [f.mul(par(w), s.out(l - 1, i)) for w, i in wiring[l].inputs(j)] + [par(wiring[l].bias(j))]
            s.add("forward", f"net_{u}", _sum_terms(terms), s.at(trace.z, l)[j])
            net = sym(f"net_{u}", s.at(trace.z, l)[j])
            if act.name == "softmax":
                s.note("forward", f"out_{u}", f"e^net_{u} / Σ_k e^net_k", s.at(trace.a, l)[j])
            else:
                s.add("forward", f"out_{u}", act.symbol(net), s.at(trace.a, l)[j])
    y, t = s.at(trace.a, last), spec.data.targets[s.n]
    outs = layers[-1].names
    ys = [s.out(last, kk) for kk in range(len(outs))]
    ts = [sym(f"t_{u}", t[kk]) for kk, u in enumerate(outs)]
    names = {"delta": s.hp["delta"]}
    z_last = s.at(trace.z, last)
    terms = (model.loss.term_logits(z_last[None], t[None]) if model.fused else
             model.loss.term(y[None], t[None], model.hp))[0]
    for kk, u in enumerate(outs):
        eq = f.mul(f.neg(ts[kk]), f.ln(ys[kk])) if model.fused else model.loss.xl_term(ys[kk], ts[kk], names)
        s.add("loss", f"E_{u}", eq, terms[kk])
    total = " + ".join(f"E_{u}" for u in outs)
    if model.loss.combine == "mean":
        total = f"({total})/{len(outs)}"
    s.note("loss", "E", total, trace.sample_loss[s.view.epoch, s.view.lo + sample])
    nb = len(s.view.samples)
    if nb > 1:
        how = "mean" if model.mean else "sum"
        s.note("loss", "E_batch", f"{how} of E over the {nb} samples of the batch",
               trace.sample_loss[s.view.epoch, s.view.lo:s.view.hi].mean() if model.mean else
               trace.sample_loss[s.view.epoch, s.view.lo:s.view.hi].sum())
    if trace.penalty[k]:
        s.note("loss", "penalty", "(l2/2)·Σw² + l1·Σ|w|", trace.penalty[k])
        s.note("loss", "L", "E_batch + penalty" if nb > 1 else "E + penalty", trace.loss[k])
    # backward, from the output layer down
    d = {}
    for l in range(last, -1, -1):
        act = model.acts[l]
        for j, u in enumerate(layers[l + 1].names):
            out = s.out(l, j)
            if l == last and model.fused:  # softmax + cross-entropy: δ = out − t, no σ'-like factor
                grad = None
            elif wiring[l].kind == "maxpool":
                grad = "1"
            else:
                grad = act.xl_grad(sym(f"net_{u}", s.at(trace.z, l)[j]), out)
            if l == last and model.fused:
                eq = model.loss.xl_delta(out, ts[j])
            elif l == last:
                eq = _times(model.loss.xl_dl_dy(out, ts[j], len(outs), names), grad)
            elif wiring[l + 1].kind == "maxpool":
                [(_, kk)] = wiring[l + 1].outputs(j)
                window = wiring[l + 1].window(kk)
                values = s.at(trace.a, l)[window]
                if window[int(values.argmax())] != j:
                    s.note("backward", f"δ_{u}", "0: not the first maximum of its pooling window", 0.0)
                    d[(l, j)] = sym(f"δ_{u}", 0.0)
                    continue
                eq = _times(d[(l + 1, kk)], grad)
            else:
                back = [f.mul(par(w), d[(l + 1, kk)]) for w, kk in wiring[l + 1].outputs(j)]
                eq = _times(_sum_terms(back), grad)
            s.add("backward", f"δ_{u}", eq, s.at(trace.delta, l)[j])
            d[(l, j)] = sym(f"δ_{u}", s.at(trace.delta, l)[j])
    # gradients, then the update of every parameter
    per_sample = s.view.per_sample_gradients()[sample]
    g_all, after = trace.grads[k], trace.thetas[k + 1]
    opt, tr = model.optimizer, spec.train
    grads = {}
    for l in range(len(P.shapes)):
        for idx in range(P.slices[l].start, P.slices[l].stop):
            uses = wiring[l].uses(idx)
            eq = _sum_terms([d[(l, j)] if i is None else f.mul(d[(l, j)], s.out(l - 1, i)) for j, i in uses])
            g = f"∂E/∂{label[idx]}"
            if nb > 1:
                s.add("gradients", f"{g} (data row {s.n + 1})", eq, per_sample[idx])
                eq = f"{'mean' if model.mean else 'sum'} over the batch"
                if P.is_weight[idx] and (tr.l1 or tr.l2):
                    eq += " + l2·w + l1·sign(w)"
                s.note("gradients", g, eq, g_all[idx])
            else:
                if P.is_weight[idx] and (tr.l1 or tr.l2):
                    eq = f.add(eq, f.mul(s.hp["l2"], par(idx)), f.mul(s.hp["l1"], f.sign(par(idx))))
                s.add("gradients", g, eq, g_all[idx])
            grads[idx] = sym(g, g_all[idx])
    state = {n: trace.states[n][k] for n in opt.state} | {n: trace.shown[n][k] for n in opt.shown}
    start = trace.start
    for idx in range(P.size):
        if tr.freeze_biases and not P.is_weight[idx]:
            s.note("update", f"{label[idx]}⁺", f"{label[idx]} (biases frozen) = {fmt(after[idx])}", after[idx])
            continue
        if k > 0:
            prev = {n: sym(f"{n}_prev", trace.states[n][k - 1][idx]) for n in opt.state}
        elif start is not None and start.step > 0:
            prev = {n: sym(f"{n}_prev", start.state[n][idx]) for n in opt.state}
        else:
            prev = {}
        t_step = (start.step if start is not None else 0) + k + 1
        cur = {n: sym(f"{n}[{label[idx]}]", state[n][idx]) for n in (*opt.state, *opt.shown)}
        for n in cur:
            s.add("update", f"{n}[{label[idx]}]", opt.xl_state(n, grads[idx], prev, cur, str(t_step)), state[n][idx])
        s.add("update", f"{label[idx]}⁺", opt.xl_param(par(idx), grads[idx], cur, s.hp["eta"]), after[idx])
    return s.lines


def _times(a: str, b: str) -> str:
    return a if b == "1" else f.mul(a, b)


def render(lines: list[Line], header: str, width: int = 100) -> str:
    """The lines as text, one section after the other, wrapped at ``width`` columns."""
    titles = {"forward": "Forward pass", "loss": "Loss", "backward": "Backward pass (δ = ∂E/∂net)",
              "gradients": "Gradients", "update": "Update"}
    out, section = [header], None
    for ln in lines:
        if ln.section != section:
            section = ln.section
            out += ["", titles[section]]
        parts = [ln.name, ln.equation]
        if ln.substituted and ln.substituted.strip("()") not in (ln.equation, fmt(ln.value)):
            parts.append(ln.substituted)
        if not ln.equation.endswith(fmt(ln.value)):
            parts.append(fmt(ln.value))
        out.append(textwrap.fill(" = ".join(parts), width=width, initial_indent="  ", subsequent_indent="      ",
                                 break_on_hyphens=False))
    return "\n".join(out)


def as_dicts(lines: list[Line]) -> list[dict]:
    return [asdict(ln) for ln in lines]
