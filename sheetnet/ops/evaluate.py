"""Evaluate the formula text the registry writes, in Python, with a lookup for references.

The grammar is the one the ops combinators produce (and Excel's precedence): comparisons,
+ −, * /, ^ (left-associative), unary minus binding tighter than ^, numbers, strings,
references and ranges (``C5``, ``'Step 1'!C5``, ``C5:C9``), defined names, and the functions
below.  Used to grade a hand calculation against the student's own earlier values.
"""

from __future__ import annotations

import math
import re

_TOKEN = re.compile(r"""\s*(?:
    (?P<string>"(?:[^"]|"")*")
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[Ee][+-]?\d+)?)
  | (?P<ref>(?:'(?:[^']|'')+'!|[A-Za-z_][\w.]*!)?\$?[A-Za-z]{1,3}\$?\d+(?::\$?[A-Za-z]{1,3}\$?\d+)?(?![\w(]))
  | (?P<func>[A-Za-z_][\w.]*(?=\())
  | (?P<name>[A-Za-z_][\w.]*)
  | (?P<op><=|>=|<>|[-+*/^(),<>=])
)""", re.X)


def _sumif(values, criterion):
    m = re.fullmatch(r"(<=|>=|<>|<|>|=)?(.*)", criterion)
    op, x = m.group(1) or "=", float(m.group(2))
    test = {"<": x.__gt__, ">": x.__lt__, "<=": x.__ge__, ">=": x.__le__, "=": x.__eq__, "<>": x.__ne__}[op]
    return sum(v for v in values if test(v))


class Blank(float):
    """An empty cell: 0 in arithmetic, skipped in a range, equal to "" (as in Excel)."""

    def __repr__(self):
        return "BLANK"


BLANK = Blank(0.0)


def _number(v) -> bool:
    return isinstance(v, float) and not isinstance(v, (bool, Blank))


def _flat(args):
    for a in args:
        if isinstance(a, list):
            yield from (v for v in a if _number(v))
        else:
            yield a


def _count(*args):
    return float(sum(1 for a in args for v in (a if isinstance(a, list) else [a]) if _number(v)))


def _countblank(*args):
    return float(sum(1 for a in args for v in (a if isinstance(a, list) else [a])
                     if isinstance(v, Blank) or v == ""))


def _sumproduct(*ranges):
    rows = [r if isinstance(r, list) else [r] for r in ranges]
    return math.fsum(math.prod(float(v) if _number(v) else 0.0 for v in vs) for vs in zip(*rows))


def _round(x, digits=0.0):
    q = 10.0 ** int(digits)
    return math.copysign(math.floor(abs(x) * q + 0.5) / q, x)


def _equal(a, b) -> bool:
    if isinstance(a, Blank) and isinstance(b, str) or isinstance(b, Blank) and isinstance(a, str):
        return (a if isinstance(a, str) else b) == ""
    return a == b


FUNCTIONS = {
    "EXP": lambda a: math.exp(a), "LN": lambda a: math.log(a), "SQRT": lambda a: math.sqrt(a),
    "ABS": abs, "TANH": math.tanh, "SIN": math.sin, "COS": math.cos, "SIGN": lambda a: float((a > 0) - (a < 0)),
    "MIN": lambda *a: min(_flat(a)), "MAX": lambda *a: max(_flat(a)), "SUM": lambda *a: math.fsum(_flat(a)),
    "AVERAGE": lambda *a: (lambda v: math.fsum(v) / len(v))(list(_flat(a))),
    "SUMSQ": lambda *a: math.fsum(v * v for v in _flat(a)), "SUMIF": lambda r, c: _sumif(list(_flat([r])), c),
    "COUNT": _count, "COUNTBLANK": _countblank, "SUMPRODUCT": _sumproduct, "PRODUCT": lambda *a: math.prod(_flat(a)),
    "POWER": lambda a, b: a ** b, "LOG10": math.log10, "LOG": lambda a, b=10.0: math.log(a, b), "ROUND": _round,
}


class _Parser:
    def __init__(self, text, lookup, names):
        self.toks = []
        pos = 0
        text = text[1:] if text.startswith("=") else text
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                if text[pos:].strip():
                    raise ValueError(f"cannot read the formula at {text[pos:]!r}")
                break
            self.toks.append((m.lastgroup, m.group(m.lastgroup)))
            pos = m.end()
        self.i, self.lookup, self.names = 0, lookup, names

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self, value=None):
        tok = self.peek()
        if value is not None and tok[1] != value:
            raise ValueError(f"expected {value!r}, found {tok[1]!r}")
        self.i += 1
        return tok

    def expr(self):
        a = self.additive()
        while self.peek()[1] in ("<", ">", "<=", ">=", "=", "<>"):
            op = self.take()[1]
            b = self.additive()
            a = float(_equal(a, b) if op == "=" else not _equal(a, b) if op == "<>" else
                      {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op])
        return a

    def additive(self):
        a = self.term()
        while self.peek()[1] in ("+", "-"):
            a = a + self.term() if self.take()[1] == "+" else a - self.term()
        return a

    def term(self):
        a = self.power()
        while self.peek()[1] in ("*", "/"):
            a = a * self.power() if self.take()[1] == "*" else a / self.power()
        return a

    def power(self):
        a = self.unary()
        while self.peek()[1] == "^":
            self.take()
            a = a ** self.unary()
        return a

    def unary(self):
        if self.peek()[1] == "-":
            self.take()
            return -self.unary()
        if self.peek()[1] == "+":
            self.take()
            return self.unary()
        return self.primary()

    def primary(self):
        kind, tok = self.take()
        if kind == "number":
            return float(tok)
        if kind == "string":
            return tok[1:-1].replace('""', '"')
        if kind == "ref":
            return self.lookup(tok.replace("$", ""))
        if kind == "name":
            return self.names[tok]
        if kind == "func" and tok.upper() == "IF":
            return self.if_()
        if kind == "func":
            self.take("(")
            args = []
            if self.peek()[1] != ")":
                args.append(self.expr())
                while self.peek()[1] == ",":
                    self.take()
                    args.append(self.expr())
            self.take(")")
            return FUNCTIONS[tok.upper()](*args)
        if tok == "(":
            v = self.expr()
            self.take(")")
            return v
        raise ValueError(f"unexpected {tok!r}")


    def if_(self):
        """IF(test, then, else), evaluating only the branch taken (as a spreadsheet does: the
        other may divide by zero or add a text)."""
        self.take("(")
        test = self.expr()
        branches, depth = [], 0
        for j in range(self.i, len(self.toks)):
            t = self.toks[j][1]
            if depth == 0 and t in (",", ")"):
                branches.append(j)
                if t == ")":
                    break
            depth += t == "("
            depth -= t == ")"
        else:
            raise ValueError("IF without its closing parenthesis")
        if not branches or self.toks[branches[0]][1] != ",":
            raise ValueError("IF without a value")
        end = branches[-1]
        starts = [b + 1 for b in branches[:-1]]
        stops = branches[1:]
        chosen = 0 if test and not isinstance(test, str) else 1
        if chosen >= len(starts):
            value = 0.0  # IF(FALSE, x) is FALSE: 0 in arithmetic
        else:
            self.i = starts[chosen]
            value = self.expr()
            if self.i != stops[chosen]:
                raise ValueError(f"unexpected {self.toks[self.i][1]!r}")
        self.i = end + 1
        return value


def evaluate(formula: str, lookup, names: dict) -> float:
    """The value of ``formula``; ``lookup('C5')`` / ``lookup("'Step 1'!C5:C9")`` gives a number
    or a list of numbers, ``names`` maps defined names (``eta``) to numbers."""
    p = _Parser(formula, lookup, names)
    v = p.expr()
    if p.i != len(p.toks):
        raise ValueError(f"unexpected {p.toks[p.i][1]!r}")
    return v
