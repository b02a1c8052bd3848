"""Helpers for the round-trip tests (read, resume, audit, exercise): the CLI, edits of a
workbook by openpyxl or straight in its XML, and the engine's numbers to compare with.

Nothing here computes an expected number from sheetnet's reader, audit or grader: expected
values come from ``sheetnet.train`` on a spec built in the test, from LibreOffice, or from
arithmetic in the test.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import re
import tomllib
import zipfile

import numpy as np
import openpyxl
from click.testing import CliRunner

import sheetnet
from sheetnet.book.cells import sheet_paths
from sheetnet.cli import main

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "sheetnet", "examples")


def run(*args):
    """`sheetnet ARGS…` in-process; stdout and stderr apart."""
    return CliRunner().invoke(main, [str(a) for a in args])


def one_json(text: str) -> dict:
    obj, end = json.JSONDecoder().raw_decode(text.lstrip())
    assert text.lstrip()[end:].strip() == "", text
    return obj


def assert_one_line_error(result, *words):
    """Exit 2, exactly one line on stderr naming ``words``, no traceback, nothing on stdout."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr, result.exception)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("sheetnet: error:"), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    for w in words:
        assert w in result.stderr, (w, result.stderr)


def example_dict(name: str) -> dict:
    with open(os.path.join(EXAMPLES, name + ".toml"), "rb") as fh:
        return tomllib.load(fh)


def spec_of(d: dict, name: str = "spec"):
    return sheetnet.parse_spec(copy.deepcopy(d), path=f"{name}.toml")


def fingerprint(path) -> tuple:
    st = os.stat(path)
    with open(path, "rb") as fh:
        return fh.read(), st.st_mtime_ns, st.st_size


# --------------------------------------------------------------------------- the engine's numbers
def run_json(trace) -> dict:
    """The engine run as SPEC.md's JSON (losses, final weights and biases of every layer)."""
    P, theta = trace.params, trace.final_theta
    return {"losses": [float(x) for x in trace.loss],
            "layers": [{"weights": P.W(theta, l).tolist(), "biases": P.b(theta, l).tolist()}
                       for l in range(len(P.shapes))]}


def flat_params(obj: dict) -> np.ndarray:
    """Every weight and bias of a run's JSON, in one vector (layer by layer, weights then biases)."""
    return np.concatenate([np.concatenate([np.ravel(layer["weights"]), np.ravel(layer["biases"])])
                           for layer in obj["layers"]])


def assert_same_run(got: dict, want: dict, rtol: float, atol: float = 0.0):
    assert len(got["losses"]) == len(want["losses"])
    np.testing.assert_allclose(got["losses"], want["losses"], rtol=rtol, atol=atol)
    assert [np.shape(layer["weights"]) for layer in got["layers"]] == \
        [np.shape(layer["weights"]) for layer in want["layers"]]
    np.testing.assert_allclose(flat_params(got), flat_params(want), rtol=rtol, atol=atol)


def assert_same_spec(got, want, rtol: float = 0.0):
    """Two parsed specs field by field: name, layers (kind, size, shape, names, activation,
    weights, biases, weight names), loss, train and data.  A layer of ``want`` that draws its
    weights (init) is compared with the weights the engine draws for it."""
    from sheetnet.engine.network import Parameters

    def same(a, b, what):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        assert a.shape == b.shape, what
        np.testing.assert_allclose(a, b, rtol=rtol, atol=0, err_msg=what)

    assert got.name == want.name
    assert len(got.layers) == len(want.layers)
    P = Parameters(want)
    for l, (g, w) in enumerate(zip(got.layers, want.layers)):
        for f in dataclasses.fields(g):
            if f.name in ("weights", "biases", "init"):  # the read spec has explicit parameters
                continue
            a, b = getattr(g, f.name), getattr(w, f.name)
            norm = (lambda v: tuple(tuple(x) if isinstance(x, (list, tuple)) else x for x in v)
                    if isinstance(v, (list, tuple)) else v)
            assert norm(a) == norm(b), (l, f.name, a, b)
        if l == 0:
            continue
        drawn = {"weights": P.W(P.theta, l - 1), "biases": P.b(P.theta, l - 1)}
        for name in ("weights", "biases"):
            a, b = getattr(g, name), getattr(w, name)
            if b is None:  # drawn by the engine (init), or a layer without parameters
                b = drawn[name]
                if a is None:
                    assert np.size(b) == 0, (l, name)
                    continue
                b = np.reshape(b, np.shape(a))
            same(a, b, f"layer {l} {name}")
    assert (got.loss.kind, got.loss.reduction) == (want.loss.kind, want.loss.reduction)
    same(got.loss.delta, want.loss.delta, "loss.delta")
    gt, wt = dataclasses.asdict(got.train), dataclasses.asdict(want.train)
    assert gt.keys() == wt.keys()
    for key in gt:
        if isinstance(wt[key], float):
            same(gt[key], wt[key], f"train.{key}")
        else:
            assert gt[key] == wt[key], (key, gt[key], wt[key])
    same(got.data.inputs, want.data.inputs, "data.inputs")
    same(got.data.targets, want.data.targets, "data.targets")


# --------------------------------------------------------------------------- editing a workbook
def set_cells(src, dst, edits: dict):
    """Save ``src`` as ``dst`` through openpyxl with ``edits`` {Cell (0-based): value}: what a
    script does.  openpyxl keeps every formula but no computed value."""
    wb = openpyxl.load_workbook(src)
    for cell, value in edits.items():
        wb[cell.sheet].cell(cell.row + 1, cell.col + 1).value = value
    wb.save(dst)
    return dst


def _a1(cell) -> str:
    from openpyxl.utils import get_column_letter
    return f"{get_column_letter(cell.col + 1)}{cell.row + 1}"


def zip_set_values(src, dst, edits: dict):
    """Copy ``src`` to ``dst`` changing only the stored value <v> of some cells {Cell: number}
    (formula or constant alike), or filling an empty cell with a number; every other byte of
    every member stays.  Values from before an edit stay cached everywhere else."""
    with zipfile.ZipFile(src) as z:
        members = dict(sheet_paths(z))
        by_member = {}
        for cell, value in edits.items():
            by_member.setdefault(members[cell.sheet], []).append((cell, value))
        with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
            for info in z.infolist():
                data = z.read(info.filename)
                if info.filename in by_member:
                    text = data.decode("utf-8")
                    for cell, value in by_member[info.filename]:
                        text = _set_v(text, _a1(cell), repr(float(value)))
                    data = text.encode("utf-8")
                out.writestr(copy.copy(info), data)  # writestr sets the info's offset
    return dst


def _set_v(xml: str, a1: str, v: str) -> str:
    full = re.compile(r'(<c r="%s"(?: [^>]*?)?)(?<!/)>(.*?)</c>' % a1, re.S)
    m = full.search(xml)
    if m:
        attrs = re.sub(r' t="[^"]*"', "", m.group(1))  # a number now
        inner = re.sub(r"<v>.*?</v>|<v/>|<is>.*?</is>", "", m.group(2), flags=re.S)
        return xml[:m.start()] + f"{attrs}>{inner}<v>{v}</v></c>" + xml[m.end():]
    empty = re.compile(r'<c r="%s"((?: [^>]*?)?)/>' % a1)
    m = empty.search(xml)
    assert m, f"no cell {a1}"
    return xml[:m.start()] + f'<c r="{a1}"{m.group(1)}><v>{v}</v></c>' + xml[m.end():]


def stored(path, cell):
    """(formula, value) of a cell as stored in the file."""
    from sheetnet.book.cells import read_cells
    return read_cells(str(path)).get(cell.sheet, {}).get((cell.row, cell.col), (None, None))


def with_params(spec, theta):
    """The spec with the starting parameters ``theta`` (flat, in the engine's order)."""
    from sheetnet.engine.network import Parameters
    P = Parameters(spec)
    layers = list(spec.layers)
    for l in range(len(P.shapes)):
        layers[l + 1] = dataclasses.replace(layers[l + 1], weights=P.W(theta, l).copy(), biases=P.b(theta, l).copy())
    return dataclasses.replace(spec, layers=tuple(layers))
