"""Validation helpers shared by the spec parsers: each value checked and turned into its type,
or one SpecError naming the file and the key, row or item."""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..errors import SpecError, suggest
from ..limits import MAX_INTEGER, check_name
from ..i18n import _


def as_table(value, what, fname):
    if not isinstance(value, dict):
        raise SpecError(_("{what} must be a table").format(what=what), fname)
    return value


def no_unknown(table: dict, allowed, where: str, section: str = ""):
    for key in table:
        if key not in allowed:
            raise SpecError(_("unknown key {key}").format(
                key=repr(key)) + suggest(key, allowed), f"{where}{section}")


def as_number(value, where: str, integer: bool = False) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise SpecError(_("expected a number, got {value}").format(value=_short(value)), where)
    if isinstance(value, numbers.Integral) and abs(value) > MAX_INTEGER:
        digits = int(int(value).bit_length() * 0.30103) + 1
        raise SpecError(_("a whole number of about {digits:,} digits, more than sheetnet's limit of {limit:,}").format(
            digits=digits, limit=MAX_INTEGER), where)
    if not math.isfinite(value):
        raise SpecError(_("must be a finite number, got {value}").format(value=value), where)
    if integer:
        if isinstance(value, float) and not value.is_integer():
            raise SpecError(_("expected a whole number, got {value}").format(value=value), where)
        if abs(value) > MAX_INTEGER:
            raise SpecError(_("{value:.6g} is more than sheetnet's limit of {limit:,}").format(
                value=value, limit=MAX_INTEGER), where)
        return int(value)
    return float(value)


def _short(value, n: int = 40) -> str:
    """repr of a value, cut to ``n`` characters (an error line never echoes a whole input)."""
    text = repr(value)
    return text if len(text) <= n else text[: n - 1] + "…"


def as_matrix(value, rows: int, cols: int, where: str) -> np.ndarray:
    if not isinstance(value, list) or len(value) != rows:
        got = len(value) if isinstance(value, list) else type(value).__name__
        raise SpecError(_("expected {rows} rows of {cols} numbers, got {got} rows").format(
            rows=rows, cols=cols, got=got), where)
    out = np.empty((rows, cols))
    for r, row in enumerate(value):
        if not isinstance(row, list) or len(row) != cols:
            got = len(row) if isinstance(row, list) else repr(row)
            raise SpecError(_("row {value}: expected {cols} numbers, got {got}").format(
                value=r + 1, cols=cols, got=got), where)
        for c, v in enumerate(row):
            out[r, c] = as_number(v, _("{where} row {value}, column {value2}").format(
                where=where, value=r + 1, value2=c + 1))
    return out


def as_vector(value, n: int, where: str) -> np.ndarray:
    if not isinstance(value, list) or len(value) != n:
        got = len(value) if isinstance(value, list) else repr(value)
        raise SpecError(_("expected {n} numbers, got {got}").format(n=n, got=got), where)
    return np.array([as_number(v, f"{where} item {i + 1}") for i, v in enumerate(value)])


def as_names(value, n: int, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) != n or not all(isinstance(v, str) and v for v in value):
        raise SpecError(_("expected a list of {n} non-empty names").format(n=n), where)
    for i, v in enumerate(value):
        why = check_name(v)
        if why:
            raise SpecError(why, f"{where} item {i + 1}")
    if len(set(value)) != n:
        raise SpecError(_("names must be distinct"), where)
    return tuple(value)
