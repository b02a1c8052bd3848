"""Validation helpers shared by the spec parsers: each value checked and turned into its type,
or one SpecError naming the file and the key, row or item."""

from __future__ import annotations

import math
import os
import numbers

import numpy as np

from ..errors import SpecError, suggest
from ..limits import MAX_INTEGER, check_name


def as_table(value, what, fname):
    if not isinstance(value, dict):
        raise SpecError(f"{what} must be a table", fname)
    return value


def no_unknown(table: dict, allowed, where: str, section: str = ""):
    for key in table:
        if key not in allowed:
            raise SpecError(f"unknown key {key!r}" + suggest(key, allowed), f"{where}{section}")


def as_number(value, where: str, integer: bool = False) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise SpecError(f"expected a number, got {_short(value)}", where)
    if isinstance(value, numbers.Integral) and abs(value) > MAX_INTEGER:
        digits = int(int(value).bit_length() * 0.30103) + 1
        raise SpecError(f"a whole number of about {digits:,} digits, more than sheetnet's limit of "
                        f"{MAX_INTEGER:,}", where)
    if not math.isfinite(value):
        raise SpecError(f"must be a finite number, got {value}", where)
    if integer:
        if isinstance(value, float) and not value.is_integer():
            raise SpecError(f"expected a whole number, got {value}", where)
        if abs(value) > MAX_INTEGER:
            raise SpecError(f"{value:.6g} is more than sheetnet's limit of {MAX_INTEGER:,}", where)
        return int(value)
    return float(value)


def _short(value, n: int = 40) -> str:
    """repr of a value, cut to ``n`` characters (an error line never echoes a whole input)."""
    text = repr(value)
    return text if len(text) <= n else text[: n - 1] + "…"


def as_matrix(value, rows: int, cols: int, where: str) -> np.ndarray:
    if not isinstance(value, list) or len(value) != rows:
        got = len(value) if isinstance(value, list) else type(value).__name__
        raise SpecError(f"expected {rows} rows of {cols} numbers, got {got} rows", where)
    out = np.empty((rows, cols))
    for r, row in enumerate(value):
        if not isinstance(row, list) or len(row) != cols:
            got = len(row) if isinstance(row, list) else repr(row)
            raise SpecError(f"row {r + 1}: expected {cols} numbers, got {got}", where)
        for c, v in enumerate(row):
            out[r, c] = as_number(v, f"{where} row {r + 1}, column {c + 1}")
    return out


def as_vector(value, n: int, where: str) -> np.ndarray:
    if not isinstance(value, list) or len(value) != n:
        got = len(value) if isinstance(value, list) else repr(value)
        raise SpecError(f"expected {n} numbers, got {got}", where)
    return np.array([as_number(v, f"{where} item {i + 1}") for i, v in enumerate(value)])


def as_names(value, n: int, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) != n or not all(isinstance(v, str) and v for v in value):
        raise SpecError(f"expected a list of {n} non-empty names", where)
    for i, v in enumerate(value):
        why = check_name(v)
        if why:
            raise SpecError(why, f"{where} item {i + 1}")
    if len(set(value)) != n:
        raise SpecError("names must be distinct", where)
    return tuple(value)


def read_text_file(path: str, limit: int, what: str = "file") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, or one SpecError.

    Opened without blocking (a named pipe nobody writes to, a terminal) and refused unless it
    is a regular file (``/dev/zero`` would never end); read at most ``limit`` + 1 bytes."""
    import stat

    nonblocking = getattr(os, "O_NONBLOCK", 0)
    try:
        fh = open(path, "rb", opener=lambda p, flags: os.open(p, flags | nonblocking))
    except FileNotFoundError:
        raise SpecError("no such file", path) from None
    except IsADirectoryError:
        raise SpecError(f"is a directory, not a {what}", path) from None
    except OSError as e:
        raise SpecError(f"cannot read the {what}: {e.strerror}", path) from None
    with fh:
        st = os.fstat(fh.fileno())
        if stat.S_ISDIR(st.st_mode):
            raise SpecError(f"is a directory, not a {what}", path)
        if not stat.S_ISREG(st.st_mode):
            raise SpecError(f"not a regular file (a device, pipe or socket): sheetnet reads a {what} only "
                            "from a regular file", path)
        if st.st_size > limit:
            raise SpecError(f"the {what} has {st.st_size:,} bytes, more than sheetnet's limit of {limit:,}", path)
        try:
            data = fh.read(limit + 1)
        except OSError as e:
            raise SpecError(f"cannot read the {what}: {e.strerror}", path) from None
    if len(data) > limit:
        raise SpecError(f"the {what} has more than sheetnet's limit of {limit:,} bytes", path)
    return data
