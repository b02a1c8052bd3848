"""One SymPy expression, printed three ways that cannot drift: a numpy function for the engine,
a spreadsheet formula over cell references for the workbook, and the same formula over symbols
for the walk-through.  The formula uses only functions every spreadsheet engine has (EXP, LN,
SQRT, ABS, SIGN, SIN, COS, TANH, MAX, MIN, IF, and ^), through the combinators of ops/formula.py,
which parenthesise every argument."""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from ..ops import ACTIVATIONS
from ..ops import formula as f
from .expression import sigmoid


def numpy_function(expr: sp.Expr, variables: tuple[sp.Symbol, ...]):
    """``expr`` as a function of the variables' values (floats or arrays)."""
    stable = {"sigmoid": lambda z: ACTIVATIONS["sigmoid"].fn(np.asarray(z, dtype=float)),
              "Heaviside": lambda z, *_: np.where(np.asarray(z) > 0, 1.0, 0.0)}
    return sp.lambdify(variables, expr, modules=[stable, "numpy"])


def formula(expr: sp.Expr, refs: dict) -> str:
    """``expr`` as spreadsheet formula text, each variable replaced by ``refs[name]``."""
    if isinstance(expr, sp.Symbol):
        return refs[expr.name]
    if expr is sp.pi:
        return f.num(math.pi)
    if expr.is_Number:
        return f.num(float(expr))
    if isinstance(expr, sp.Add):
        terms = sorted(expr.as_ordered_terms(), key=lambda t: t.could_extract_minus_sign())  # + terms first
        out = formula(terms[0], refs)
        for term in terms[1:]:
            if term.could_extract_minus_sign():
                out = f.sub(out, formula(-term, refs))
            else:
                out = f.add(out, formula(term, refs))
        return out
    if isinstance(expr, sp.Mul):
        if expr.could_extract_minus_sign():
            return f.neg(formula(-expr, refs))
        num, den = sp.fraction(expr)
        if den != 1:
            return f.div(formula(num, refs), formula(den, refs))
        return f.mul(*(formula(a, refs) for a in expr.as_ordered_factors()))
    if isinstance(expr, sp.Pow):
        base, exponent = expr.args
        if exponent == sp.Rational(1, 2):
            return f.sqrt(formula(base, refs))
        if exponent.is_Number and exponent < 0:
            return f.div("1", formula(base ** -exponent, refs))
        return f.power(formula(base, refs), formula(exponent, refs))
    one = {sp.exp: f.exp, sp.log: f.ln, sp.Abs: f.abs_, sp.sign: f.sign, sp.tanh: f.tanh,
           sp.sin: lambda a: f.call("SIN", a), sp.cos: lambda a: f.call("COS", a),
           sigmoid: ACTIVATIONS["sigmoid"].xl_fn}
    if expr.func in one:
        return one[expr.func](formula(expr.args[0], refs))
    if isinstance(expr, (sp.Max, sp.Min)):
        args = [formula(a, refs) for a in expr.args]
        return f.max_(*args) if isinstance(expr, sp.Max) else f.min_(*args)
    if isinstance(expr, sp.Heaviside):  # the derivative of max/min: 1 where the argument is > 0
        return f.if_(f.gt(formula(expr.args[0], refs), "0"), "1", "0")
    raise ValueError(f"cannot write {expr.func.__name__} as a spreadsheet formula")
