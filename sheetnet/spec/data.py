"""[data] of a spec: inline rows or a CSV file, validated (see spec.py)."""

from __future__ import annotations

import csv
import difflib
import io
import math
import os

import numpy as np

from ..errors import SpecError
from ..limits import MAX_CSV_BYTES, MAX_SAMPLES, check_name
from .checks import _short, as_matrix, no_unknown
from .source import read_text_file
from .model import DATA_KEYS, Data
from .settings import Loss


def parse_data(t, fname, base_dir, layers, loss: Loss) -> Data:
    where = f"{fname}, [data]"
    no_unknown(t, DATA_KEYS, where)
    n_in, n_out = layers[0].size, layers[-1].size
    if "csv" in t:
        for key in ("inputs", "targets"):
            if key in t:
                raise SpecError(f"give either 'csv' or inline '{key}', not both", where)
        data = _read_csv(t, where, base_dir, n_in, n_out)
        rows_where = data.source
    else:
        for key in ("input_columns", "target_columns"):
            if key in t:
                raise SpecError(f"'{key}' needs 'csv'", where)
        for key in ("inputs", "targets"):
            if key not in t:
                raise SpecError(f"missing required key '{key}' (or 'csv')", where)
        raw_in, raw_t = t["inputs"], t["targets"]
        if not isinstance(raw_in, list) or not raw_in:
            raise SpecError("the data set is empty: need at least one sample", f"{where} key 'inputs'")
        n = len(raw_in)
        if n > MAX_SAMPLES:
            raise SpecError(f"{n:,} samples, more than sheetnet's limit of {MAX_SAMPLES:,}", f"{where} key 'inputs'")
        inputs = as_matrix(raw_in, n, n_in, f"{where} key 'inputs'")
        if not isinstance(raw_t, list) or len(raw_t) != n:
            got = len(raw_t) if isinstance(raw_t, list) else repr(raw_t)
            raise SpecError(f"expected {n} rows (one per input row), got {got}", f"{where} key 'targets'")
        targets = as_matrix(raw_t, n, n_out, f"{where} key 'targets'")
        data = Data(inputs=inputs, targets=targets)
        rows_where = f"{where} key 'targets'"
    _check_targets(data.targets, loss, rows_where)
    return data


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
            raise SpecError(f"row {n}: targets for loss '{loss.kind}' must be {what}, got {row.tolist()}", where)


def _columns_hint(header) -> str:
    """The header's column names when they look like a data file's (several short names), else
    only their number: an error line never echoes the first line of an unrelated file."""
    if 2 <= len(header) <= 50 and all(0 < len(h) <= 40 and not check_name(h) for h in header):
        return "; choose from " + ", ".join(sorted(header))
    return f" (its first row has {len(header)} field{'s' if len(header) != 1 else ''})"


def _read_csv(t, where, base_dir, n_in, n_out) -> Data:
    rel = t["csv"]
    if not isinstance(rel, str):
        raise SpecError("expected a file name", f"{where} key 'csv'")
    why = check_name(rel)
    if why:
        raise SpecError(why.replace("a name", "a file name"), f"{where} key 'csv'")
    path = os.path.join(base_dir, rel)
    try:
        raw = read_text_file(path, MAX_CSV_BYTES, "CSV file")
    except SpecError as e:
        msg = "cannot read the CSV file: no such file" if e.message == "no such file" else e.message
        raise SpecError(msg, f"{where} key 'csv' ({rel})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SpecError("not a UTF-8 text file", rel) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    try:
        for row in reader:
            rows.append(row)
            if len(rows) > MAX_SAMPLES + 1:
                raise SpecError(f"more than sheetnet's limit of {MAX_SAMPLES:,} rows", rel)
    except csv.Error as e:
        raise SpecError(f"not a CSV file sheetnet can read ({e})", f"{rel}, row {reader.line_num}") from None
    numbered = [(r, row) for r, row in enumerate(rows, start=1) if any(c.strip() for c in row)]
    if not numbered:
        raise SpecError("the CSV file is empty", rel)
    header = [h.strip() for h in numbered[0][1]]
    cols = {}
    for key, n in (("input_columns", n_in), ("target_columns", n_out)):
        if key not in t:
            raise SpecError(f"missing required key '{key}' (with 'csv')", where)
        names = t[key]
        if not isinstance(names, list) or len(names) != n:
            raise SpecError(f"expected {n} column names", f"{where} key '{key}'")
        for c in names:
            if not isinstance(c, str) or check_name(c):
                raise SpecError(f"not a usable column name: {_short(c)}", f"{where} key '{key}'")
            if c not in header:
                close = difflib.get_close_matches(c, header, n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else _columns_hint(header)
                raise SpecError(f"no column {c!r} in {rel}" + hint, f"{where} key '{key}'")
        cols[key] = [header.index(c) for c in names]
    body = numbered[1:]
    if not body:
        raise SpecError("the data set is empty: the CSV file has a header but no rows", rel)
    values = np.empty((len(body), len(header)))
    wanted = cols["input_columns"] + cols["target_columns"]
    for pos, (r, row) in enumerate(body):
        if len(row) != len(header):
            raise SpecError(f"expected {len(header)} fields, got {len(row)}", f"{rel}, row {r}")
        for c in wanted:
            cell = row[c].strip()
            try:
                v = float(cell)
            except ValueError:
                raise SpecError(f"not a number: {_short(cell)}", f"{rel}, row {r}, column {header[c]!r}") from None
            if not math.isfinite(v):
                raise SpecError(f"must be a finite number, got {cell}", f"{rel}, row {r}, column {header[c]!r}")
            values[pos, c] = v
    return Data(inputs=values[:, cols["input_columns"]].copy(), targets=values[:, cols["target_columns"]].copy(),
                source=rel, input_columns=tuple(t["input_columns"]), target_columns=tuple(t["target_columns"]))
