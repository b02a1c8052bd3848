"""The hand calculation of one gradient-descent step on a function, with the numbers substituted:
f at the point, each partial derivative, the optimizer's state, the updated point.

    ∂f/∂x = 2·x = 2·3 = 6
    x⁺ = x − η·∂f/∂x = 3 − 0.1·6 = 2.4

The equations are the workbook's formulas (the same printer and the same registry), shown on
symbols, then on numbers.
"""

from __future__ import annotations

from ..ops import OPTIMIZERS
from ..ops.symbols import Symbols, pretty
from ..walkthrough import SETTING_SYMBOLS, Line
from .printing import formula


def walkthrough(trace, k: int = 0) -> list[Line]:
    spec = trace.spec
    opt = OPTIMIZERS[spec.train.optimizer]
    sym, lines = Symbols(), []
    point = trace.points[k]
    names = {v: sym(v, x) for v, x in zip(spec.variables, point)}

    def add(section, name, equation, value):
        eq = pretty(equation)
        lines.append(Line(section, name, sym.as_names(eq), sym.as_numbers(eq), float(value)))

    tr = spec.train
    hp = {key: sym(SETTING_SYMBOLS[key], getattr(tr, key)) for key in ("momentum", "beta1", "beta2", "alpha", "eps")}
    add("function", "f", formula(spec.expr, names), trace.values[k])
    grads = {}
    for j, (v, g) in enumerate(zip(spec.variables, spec.gradient())):
        add("gradients", f"∂f/∂{v}", formula(g, names), trace.grads[k, j])
        grads[v] = sym(f"∂f/∂{v}", trace.grads[k, j])
    eta = sym("η", trace.lr[k])
    for j, v in enumerate(spec.variables):
        prev = {s: sym(f"{s}_prev", trace.states[s][k - 1, j]) for s in opt.state} if k > 0 else {}
        cur = {s: sym(f"{s}[{v}]", {**trace.states, **trace.shown}[s][k, j]) for s in (*opt.state, *opt.shown)}
        for s in cur:
            add("update", f"{s}[{v}]", opt.xl_state(s, grads[v], prev, cur, str(k + 1), hp),
                {**trace.states, **trace.shown}[s][k, j])
        add("update", f"{v}⁺", opt.xl_param(names[v], grads[v], cur, eta, hp), trace.points[k + 1, j])
    return lines
