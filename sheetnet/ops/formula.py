"""Formula combinators: spreadsheet formula text from already-resolved cell references.

Strings only, no addresses: the layout module resolves references, these functions
glue them into formula text.  Every operand that is not atomic (a reference, a number,
a name or a function call) is parenthesised, so ``-x^2`` and ``a-b+c`` pitfalls cannot
happen.  Only functions that Excel 2010+, LibreOffice Calc and Gnumeric all know are
used, and only element-wise operators appear inside SUMPRODUCT.
"""

from __future__ import annotations

import re


def num(x: float) -> str:
    """A float as formula text that round-trips exactly (``repr``)."""
    x = float(x)
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def par(x: str) -> str:
    """``x`` parenthesised unless it is atomic."""
    return x if _top_ops(x) == set() and not x.startswith("-") else f"({x})"


def _top_ops(x: str) -> set[str]:
    """The operators of ``x`` outside parentheses and strings (a leading sign excluded)."""
    ops, depth, quoted, prev = set(), 0, False, ""
    for i, ch in enumerate(x):
        if ch in "'\"":
            quoted = not quoted
        elif quoted:
            pass
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0 and ch in "+-*/^<>=&" and i > 0 and not (ch in "+-" and prev in "Ee" and _in_number(x, i)):
            ops.add(ch)
        prev = ch
    return ops


def _in_number(x: str, i: int) -> bool:
    """Is x[i] the sign of an exponent, as in 1.5E-05?"""
    j = i - 2
    while j >= 0 and (x[j].isdigit() or x[j] == "."):
        j -= 1
    return j < i - 2 and (j < 0 or not (x[j].isalnum() or x[j] in "_$"))


def _wrap(x: str, allowed: str) -> str:
    """``x`` as an operand: parenthesised unless its top-level operators are all in ``allowed``."""
    return x if _top_ops(x) <= set(allowed) and not x.startswith("-") else f"({x})"


def call(fn: str, *args: str) -> str:
    return f"{fn}({','.join(args)})"


def add(*xs: str) -> str:
    return "+".join([_wrap(xs[0], "+-*/^")] + [_wrap(x, "*/^") for x in xs[1:]])


def sub(a: str, b: str) -> str:
    return f"{_wrap(a, '+-*/^')}-{_wrap(b, '*/^')}"


def mul(*xs: str) -> str:
    return "*".join([_wrap(xs[0], "*/^")] + [_wrap(x, "*^") for x in xs[1:]])


def div(a: str, b: str) -> str:
    return f"{_wrap(a, '*/^')}/{_wrap(b, '^')}"


def neg(a: str) -> str:
    return f"-{par(a)}"


def power(a: str, b: str) -> str:
    return f"{par(a)}^{par(b)}"


def sq(a: str) -> str:
    return power(a, "2")


def dot(ws, xs) -> str:
    """Σ w·x written out term by term, the way a textbook writes a net input."""
    return "+".join(mul(w, x) for w, x in zip(ws, xs))


def exp(a: str) -> str:
    return call("EXP", a)


def ln(a: str) -> str:
    return call("LN", a)


def sqrt(a: str) -> str:
    return call("SQRT", a)


def abs_(a: str) -> str:
    return call("ABS", a)


def sign(a: str) -> str:
    return call("SIGN", a)


def tanh(a: str) -> str:
    return call("TANH", a)


def max_(*xs: str) -> str:
    return call("MAX", *xs)


def min_(*xs: str) -> str:
    return call("MIN", *xs)


def sum_(*xs: str) -> str:
    return call("SUM", *xs)


def average(*xs: str) -> str:
    return call("AVERAGE", *xs)


def if_(cond: str, then: str, other: str) -> str:
    return call("IF", cond, then, other)


def and_(*conditions: str) -> str:
    return conditions[0] if len(conditions) == 1 else call("AND", *conditions)


def eq(a: str, b: str) -> str:
    return f"{par(a)}={par(b)}"


def ne(a: str, b: str) -> str:
    return f"{par(a)}<>{par(b)}"


def gt(a: str, b: str) -> str:
    return f"{par(a)}>{par(b)}"


def le(a: str, b: str) -> str:
    return f"{par(a)}<={par(b)}"


def sumsq(*ranges: str) -> str:
    return call("SUMSQ", *ranges)


def sum_abs(rng: str) -> str:
    """Σ|x| over a range without a function inside SUMPRODUCT (Gnumeric-safe)."""
    return sub(call("SUMIF", rng, '">0"'), call("SUMIF", rng, '"<0"'))


_TOKEN = re.compile(r"""\s*(?:
    (?P<string>"(?:[^"]|"")*")
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[Ee][+-]?\d+)?)
  | (?P<sheet>'(?:[^']|'')+'!|[A-Za-z_][\w.]*!)
  | (?P<word>\$?[A-Za-z_][\w.]*\$?\d*)
  | (?P<op><=|>=|<>|[-+*/^(),:<>=&])
)""", re.X)


def tokens(text: str) -> list:
    """Formula text as comparable tokens: numbers as floats, everything else upper-cased and
    without ``$``, so that the same formula saved by another program compares equal."""
    text = text[1:] if text.startswith("=") else text
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            out.append(text[pos:].strip().upper())
            break
        pos = m.end()
        kind = m.lastgroup
        tok = m.group(kind)
        if kind == "number":
            out.append(float(tok))
        elif kind == "string":
            out.append(tok)
        else:
            out.append(tok.replace("$", "").upper())
    return out


def same_formula(a: str, b: str, rtol: float = 1e-12) -> bool:
    """Do two formula texts say the same thing (up to case, ``$``, spaces, number spelling)?"""
    ta, tb = tokens(a), tokens(b)
    if len(ta) != len(tb):
        return False
    for x, y in zip(ta, tb):
        if isinstance(x, float) and isinstance(y, float):
            if abs(x - y) > rtol * max(abs(x), abs(y)):
                return False
        elif x != y:
            return False
    return True
