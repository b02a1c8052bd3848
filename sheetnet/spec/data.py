"""[data] of a spec: inline rows or a CSV file, validated; and an optional held-out test set,
inline (``test_inputs``, ``test_targets``) or a CSV file (``test_csv``) with the same columns."""

from __future__ import annotations

import csv
import dataclasses
import difflib
import io
import math
import os

import numpy as np

from ..errors import at_column, at_row, SpecError
from ..limits import MAX_CSV_BYTES, MAX_SAMPLES, check_name
from .checks import _short, as_matrix, no_unknown
from .source import read_text_file
from .model import DATA_KEYS, Data
from .settings import Loss
from ..i18n import N_, _


def parse_data(t, fname, base_dir, layers, loss: Loss) -> Data:
    where = f"{fname}, [data]"
    no_unknown(t, DATA_KEYS, where)
    n_in, n_out = layers[0].size, layers[-1].size
    if "csv" in t:
        for key in ("inputs", "targets"):
            if key in t:
                raise SpecError(_("give either 'csv' or inline '{key}', not both").format(key=key), where)
        data = _read_csv(t, where, base_dir, n_in, n_out)
        rows_where = data.source
    else:
        for key in ("input_columns", "target_columns"):
            if key in t and "test_csv" not in t:
                raise SpecError(_("'{key}' needs 'csv'").format(key=key), where)
        data = _inline(t, where, n_in, n_out, "inputs", "targets")
        rows_where = _("{where} key 'targets'").format(where=where)
    _check_targets(data.targets, loss, rows_where)
    return _with_test_set(data, t, where, base_dir, n_in, n_out, loss)


def _with_test_set(data: Data, t, where, base_dir, n_in, n_out, loss: Loss) -> Data:
    """``data`` with the test set of ``t`` if it gives one (inline, or a CSV with the columns of the data)."""
    if "test_csv" in t:
        for key in ("test_inputs", "test_targets"):
            if key in t:
                raise SpecError(_("give either 'test_csv' or inline '{key}', not both").format(key=key), where)
        test = _read_csv(t, where, base_dir, n_in, n_out, key="test_csv")
        rows_where = test.source
    elif "test_inputs" in t or "test_targets" in t:
        test = _inline(t, where, n_in, n_out, "test_inputs", "test_targets")
        rows_where = _("{where} key 'test_targets'").format(where=where)
    else:
        return data
    _check_targets(test.targets, loss, rows_where)
    return dataclasses.replace(data, test_inputs=test.inputs, test_targets=test.targets, test_source=test.source)


def _inline(t, where, n_in, n_out, in_key: str, t_key: str) -> Data:
    """Rows given in the spec under ``in_key`` and ``t_key``."""
    for key in (in_key, t_key):
        if key not in t:
            alternative = "csv" if key in ("inputs", "targets") else "test_csv"
            raise SpecError(_("missing required key '{key}' (or '{alternative}')").format(
                key=key, alternative=alternative), where)
    raw_in, raw_t = t[in_key], t[t_key]
    if not isinstance(raw_in, list) or not raw_in:
        raise SpecError(_("the data set is empty: need at least one sample"),
            _("{where} key '{in_key}'").format(where=where, in_key=in_key))
    n = len(raw_in)
    if n > MAX_SAMPLES:
        raise SpecError(_("{n:,} samples, more than sheetnet's limit of {limit:,}").format(
            n=n, limit=MAX_SAMPLES), _("{where} key '{in_key}'").format(where=where, in_key=in_key))
    inputs = as_matrix(raw_in, n, n_in, _("{where} key '{in_key}'").format(where=where, in_key=in_key))
    if not isinstance(raw_t, list) or len(raw_t) != n:
        got = len(raw_t) if isinstance(raw_t, list) else repr(raw_t)
        raise SpecError(_("expected {n} rows (one per input row), got {got}").format(
            n=n, got=got), _("{where} key '{t_key}'").format(where=where, t_key=t_key))
    return Data(inputs=inputs, targets=as_matrix(raw_t, n, n_out, _("{where} key '{t_key}'").format(
        where=where, t_key=t_key)))


def _check_targets(targets: np.ndarray, loss: Loss, where: str):
    rules = {
        "cross_entropy": (lambda r: np.all((r == 0) | (r == 1)) and r.sum() == 1, "one-hot (a single 1, the rest 0)"),
        "binary_cross_entropy": (lambda r: np.all((r >= 0) & (r <= 1)), "in [0, 1]"),
        "hinge": (lambda r: np.all(np.abs(r) == 1), "-1 or +1"),
    }
    if loss.kind not in rules:
        return
    ok, what = rules[loss.kind]
    for n, row in enumerate(targets, start=1):
        if not ok(row):
            raise SpecError(_("row {n}: targets for loss '{kind}' must be {what}, got {value}").format(
                n=n, kind=loss.kind, what=what, value=row.tolist()), where)


def _read_csv(t, where, base_dir, n_in, n_out, key: str = "csv") -> Data:
    """The rows of the CSV file named by ``key``, its columns chosen by input_columns and target_columns."""
    rel = t[key]
    if not isinstance(rel, str):
        raise SpecError(_("expected a file name"), _("{where} key '{key}'").format(where=where, key=key))
    why = check_name(rel)
    if why:
        raise SpecError(why.replace("a name", "a file name"), _("{where} key '{key}'").format(
            where=where, key=key))
    header, body = read_table(os.path.join(base_dir, rel), rel, _("{where} key '{key}' ({rel})").format(
        where=where, key=key, rel=rel))
    for columns, n in (("input_columns", n_in), ("target_columns", n_out)):
        if columns not in t:
            raise SpecError(_("missing required key '{columns}' (with '{key}')").format(
                columns=columns, key=key), where)
        names = t[columns]
        if not isinstance(names, list) or len(names) != n:
            raise SpecError(_("expected {n} column names").format(
                n=n), _("{where} key '{columns}'").format(where=where, columns=columns))
        for c in names:
            if not isinstance(c, str) or check_name(c):
                raise SpecError(_("not a usable column name: {value}").format(
                    value=_short(c)), _("{where} key '{columns}'").format(where=where, columns=columns))
            if c not in header:
                close = difflib.get_close_matches(c, header, n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else _columns_hint(header)
                raise SpecError(_("no column {c} in {rel}").format(
                    c=repr(c), rel=rel) + hint, _("{where} key '{columns}'").format(where=where, columns=columns))
    if not body:
        raise SpecError(_("the data set is empty: the CSV file has a header but no rows"), rel)
    return Data(inputs=numbers(header, body, t["input_columns"], rel),
                targets=numbers(header, body, t["target_columns"], rel),
                source=rel, input_columns=tuple(t["input_columns"]), target_columns=tuple(t["target_columns"]))


def read_table(path: str, rel: str, opening: str | None = None) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """A CSV file's header and its non-blank rows, each with its row number in the file
    (UTF-8, a byte-order mark allowed).  ``rel`` names the file in messages, ``opening`` where it
    was named if it cannot be opened."""
    try:
        raw = read_text_file(path, MAX_CSV_BYTES, N_("CSV file"))
    except SpecError as e:
        msg = "cannot read the CSV file: no such file" if e.message == "no such file" else e.message
        raise SpecError(msg, opening or rel) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SpecError(_("not a UTF-8 text file"), rel) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    try:
        for row in reader:
            rows.append(row)
            if len(rows) > MAX_SAMPLES + 1:
                raise SpecError(_("more than sheetnet's limit of {limit:,} rows").format(limit=MAX_SAMPLES), rel)
    except csv.Error as e:
        raise SpecError(_("not a CSV file sheetnet can read ({e})").format(
            e=e), at_row(rel, reader.line_num)) from None
    numbered = [(r, row) for r, row in enumerate(rows, start=1) if any(c.strip() for c in row)]
    if not numbered:
        raise SpecError(_("the CSV file is empty"), rel)
    header = [h.strip() for h in numbered[0][1]]
    for r, row in numbered[1:]:
        if len(row) != len(header):
            raise SpecError(_("expected {n} fields, got {n2}").format(n=len(header), n2=len(row)), at_row(rel, r))
    return header, numbered[1:]


def numbers(header: list[str], body, columns, rel: str) -> np.ndarray:
    """The named ``columns`` of the rows as finite float64 numbers, (rows, columns)."""
    index = [header.index(c) for c in columns]
    values = np.empty((len(body), len(index)))
    for pos, (r, row) in enumerate(body):
        for j, c in enumerate(index):
            cell = row[c].strip()
            try:
                v = float(cell)
            except ValueError:
                raise SpecError(_("not a number: {value}").format(
                    value=_short(cell)), at_column(at_row(rel, r), header[c])) from None
            if not math.isfinite(v):
                raise SpecError(_("must be a finite number, got {cell}").format(
                    cell=cell), at_column(at_row(rel, r), header[c]))
            values[pos, j] = v
    return values


def _columns_hint(header) -> str:
    """The header's column names when they look like a data file's (several short names), else
    only their number: an error line never echoes the first line of an unrelated file."""
    if 2 <= len(header) <= 50 and all(0 < len(h) <= 40 and not check_name(h) for h in header):
        return "; choose from " + ", ".join(sorted(header))
    return f" (its first row has {len(header)} field{'s' if len(header) != 1 else ''})"
