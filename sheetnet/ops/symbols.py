"""Equations as a textbook writes them: placeholder symbols that carry a name and a value
through the formula combinators, and the printing of formula text in textbook notation.

The walk-through and the workbook's equation column both print through this module.
"""

from __future__ import annotations

import re


def fmt(x: float) -> str:
    """9 significant digits, as the worked examples print them (a negative zero as 0)."""
    return f"{float(x) + 0.0:.9g}"


_BIN_OP = re.compile(r"(?<![0-9]e)(?<=[\w)\]§])([-+])(?=[\w(√§])")


def pretty(text: str) -> str:
    """Formula text as a textbook writes it: · for *, ² for ^2, √ for SQRT, spaced − and +."""
    text = text.replace("^2", "²").replace("*", "·").replace("SQRT(", "√(")
    return _BIN_OP.sub(lambda m: " − " if m.group(1) == "-" else " + ", text)


class Symbols:
    """Placeholder tokens for the names in an equation, so that names such as ``∂E/∂W[h1<-i1]``
    pass through the formula combinators untouched; shown as names, then as numbers."""

    _TOKEN = re.compile(r"§(\d+)§")

    def __init__(self):
        self.names: list[str] = []
        self.values: list[float] = []
        self.index: dict[str, int] = {}

    def __call__(self, name: str, value: float) -> str:
        if name not in self.index:
            self.index[name] = len(self.names)
            self.names.append(name)
            self.values.append(float(value))
        else:
            self.values[self.index[name]] = float(value)
        return f"§{self.index[name]}§"

    def as_names(self, text: str) -> str:
        return self._TOKEN.sub(lambda m: self.names[int(m.group(1))], text)

    def as_numbers(self, text: str) -> str:
        text = self._TOKEN.sub(lambda m: num(self.values[int(m.group(1))]), text)
        return re.sub(r"\(\((-[0-9.eE+-]+)\)\)", r"(\1)", text)  # σ((-0.5)) -> σ(-0.5)


def num(x) -> str:
    s = fmt(x)
    return f"({s})" if s.startswith("-") else s
