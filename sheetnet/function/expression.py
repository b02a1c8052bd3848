"""A function typed in a spec, parsed safely into a SymPy expression, differentiated once.

The parser is a small precedence-climbing one: numbers, variable names, + − * / ^ (or **),
unary minus, parentheses and calls of the functions in FUNCTIONS.  Nothing of the text is ever
evaluated as Python (SymPy's own ``sympify`` would call ``eval``).  ``-x^2`` is −(x²); ``^`` is
right-associative.  Errors say what is wrong and at which column (1-based).
"""

from __future__ import annotations

import re

import sympy as sp


class ExpressionError(ValueError):
    def __init__(self, message: str, column: int):
        super().__init__(f"{message} (column {column})")
        self.message, self.column = message, column


class sigmoid(sp.Function):  # noqa: N801 - the name a user types
    """σ(x) = 1/(1 + e^−x); σ'(x) = σ(x)(1 − σ(x))."""

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)


FUNCTIONS = {"exp": (sp.exp, 1), "ln": (sp.log, 1), "log": (sp.log, 1), "sqrt": (sp.sqrt, 1), "abs": (sp.Abs, 1),
             "sin": (sp.sin, 1), "cos": (sp.cos, 1), "tanh": (sp.tanh, 1), "sigmoid": (sigmoid, 1),
             "max": (sp.Max, 2), "min": (sp.Min, 2)}
CONSTANTS = {"pi": sp.pi}
_TOKEN = re.compile(r"\s*(?:(?P<num>\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)|(?P<name>[A-Za-z_]\w*)"
                    r"|(?P<op>\*\*|[-+*/^(),]))")


def tokenize(text: str) -> list[tuple[str, str, int]]:
    """[(kind, text, column)], kind one of num, name, op, end."""
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m:
            col = pos + len(text[pos:]) - len(text[pos:].lstrip()) + 1
            raise ExpressionError(f"unexpected character {text[col - 1]!r}", col)
        kind = m.lastgroup
        value = m.group(kind)
        out.append((kind, "^" if value == "**" else value, m.start(kind) + 1))
        pos = m.end()
    out.append(("end", "", len(text) + 1))
    return out


class _Parser:
    def __init__(self, text: str, variables: tuple[str, ...]):
        self.tokens, self.i = tokenize(text), 0
        self.variables = {v: sp.Symbol(v, real=True) for v in variables}

    def peek(self):
        return self.tokens[self.i]

    def take(self):
        token = self.tokens[self.i]
        self.i += 1
        return token

    def expect(self, op: str):
        kind, value, col = self.take()
        if value != op or kind != "op":
            raise ExpressionError(f"expected {op!r}, found {value or 'the end'!r}", col)

    def parse(self):
        expr = self.sum()
        kind, value, col = self.peek()
        if kind != "end":
            raise ExpressionError(f"unexpected {value!r}: an operator is missing before it", col)
        return expr

    def sum(self):
        expr = self.product()
        while self.peek()[1] in ("+", "-") and self.peek()[0] == "op":
            op = self.take()[1]
            right = self.product()
            expr = expr + right if op == "+" else expr - right
        return expr

    def product(self):
        expr = self.unary()
        while self.peek()[1] in ("*", "/") and self.peek()[0] == "op":
            op = self.take()[1]
            right = self.unary()
            expr = expr * right if op == "*" else expr / right
        return expr

    def unary(self):
        if self.peek()[0] == "op" and self.peek()[1] in ("-", "+"):
            op = self.take()[1]
            operand = self.unary()
            return -operand if op == "-" else operand
        return self.power()

    def power(self):
        base = self.atom()
        if self.peek()[0] == "op" and self.peek()[1] == "^":
            self.take()
            return base ** self.unary()  # right-associative; 2^-1 allowed
        return base

    def atom(self):
        kind, value, col = self.take()
        if kind == "num":
            return sp.Rational(value) if re.fullmatch(r"\d+", value) else sp.Float(value, 17)
        if kind == "name":
            if self.peek()[1] == "(" and self.peek()[0] == "op":
                return self.call(value, col)
            if value in self.variables:
                return self.variables[value]
            if value in CONSTANTS:
                return CONSTANTS[value]
            if value in FUNCTIONS:
                raise ExpressionError(f"{value} needs its argument in parentheses", col)
            raise ExpressionError(f"unknown variable {value!r}: the start point gives "
                                  + ", ".join(self.variables), col)
        if value == "(":
            expr = self.sum()
            self.expect(")")
            return expr
        raise ExpressionError(f"expected a number, a variable or '(', found {value or 'the end'!r}", col)

    def call(self, name: str, col: int):
        if name not in FUNCTIONS:
            raise ExpressionError(f"unknown function {name!r}; allowed: " + ", ".join(FUNCTIONS), col)
        fn, arity = FUNCTIONS[name]
        self.expect("(")
        args = [self.sum()]
        while self.peek()[1] == "," and self.peek()[0] == "op":
            self.take()
            args.append(self.sum())
        self.expect(")")
        if len(args) != arity:
            raise ExpressionError(f"{name} takes {arity} argument{'s' if arity > 1 else ''}, got {len(args)}", col)
        return fn(*args)


def parse(text: str, variables: tuple[str, ...]) -> sp.Expr:
    """``text`` as a SymPy expression in ``variables`` (ExpressionError with a column if it is not one)."""
    if not text.strip():
        raise ExpressionError("the function is empty", 1)
    return _Parser(text, variables).parse()
