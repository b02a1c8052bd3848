"""Numerical extremes (issue 16) and divergence (issue 10, item 4): no code path writes inf,
NaN or an error value into a number cell.  A diverging run stops at the last finite epoch and
says so (stderr, ``diverged_at`` in --json, a note on the History sheet); its workbook opens,
reads back as current, audits clean and recalculates to its stored values."""

from __future__ import annotations

import json
import math
import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hostile import check_refused, run_cli, write_spec

# ½(w + 1)² as in issue 10, with lr = 11: w + 1 → (1 − 11)·(w + 1) = −10·(w + 1) per step
SQUARE = """name = "square"
[[layers]]
kind = "input"
size = 1
[[layers]]
kind = "dense"
size = 1
activation = "linear"
weights = [[1.0]]
biases = [0.0]
[loss]
kind = "half_sse"
[train]
lr = 11.0
epochs = 2000
freeze_biases = true
[data]
inputs = [[1.0]]
targets = [[-1.0]]
"""


def numbers_are_finite(path):
    """Every number cell holds a finite float, no cell an error value (read from the XML)."""
    from sheetnet.book.cells import Error, read_cells

    n = 0
    for sheet, cells in read_cells(str(path)).items():
        for (r, c), (formula, value) in cells.items():
            assert not isinstance(value, Error), (sheet, r, c, value)
            if isinstance(value, float):
                assert math.isfinite(value), (sheet, r, c, value)
                n += 1
    return n


@pytest.fixture(scope="module")
def diverged(tmp_path_factory):
    folder = tmp_path_factory.mktemp("diverged")
    spec = write_spec(folder, SQUARE)
    result = run_cli(["train", spec, "-o", folder / "square.xlsx", "--json"], folder / "tmp")
    return folder, result


def test_divergence_stops_at_the_last_finite_step(diverged):
    """|w + 1| = 2·10^j after j steps; the updated weight passes 1e150 first when 2·10^j > 1e150,
    at j = ⌈log10(5e149)⌉ = 150: the run keeps steps 1…149 and says step 150 diverged."""
    folder, result = diverged
    k = math.ceil(math.log10(0.5e150))
    assert k == 150
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["diverged_at"] == k and len(out["losses"]) == k - 1
    assert all(math.isfinite(v) for v in out["losses"])
    assert out["losses"][-1] == pytest.approx(0.5 * (2 * 10.0 ** (k - 2)) ** 2, rel=1e-9)
    warn = [line for line in result.stderr.splitlines() if line.startswith("sheetnet: warning:")]
    assert len(warn) == 1 and f"step {k}" in warn[0], result.stderr
    assert "RuntimeWarning" not in result.stderr


def test_diverged_workbook_is_clean(diverged):
    import openpyxl

    folder, _ = diverged
    book = folder / "square.xlsx"
    assert numbers_are_finite(book) > 149 * 3
    wb = openpyxl.load_workbook(book, read_only=True)
    assert "diverged at step 150" in wb["Losses"]["A2"].value
    read = run_cli(["read", book, "--json"], folder / "t1")
    assert read.exit_code == 0 and json.loads(read.stdout)["recomputed"] is False, read.stderr
    assert run_cli(["audit", book], folder / "t2").exit_code == 0
    # resume after 149 steps: its first step overflows, so there is nothing to keep
    check_refused(["resume", book, "-o", folder / "next.xlsx"], folder, ["square.xlsx", "diverges at step 150"],
                  inputs=[book], output=str(folder / "next.xlsx"))


def test_diverged_workbook_recalculates_in_gnumeric(diverged, tmp_path):
    from sheetnet.book.check import compare
    from sheetnet.book.recalc import recalc_files

    folder, _ = diverged
    out = recalc_files([str(folder / "square.xlsx")], str(tmp_path), engine="gnumeric")[0]
    n, bad = compare(str(folder / "square.xlsx"), out)
    assert n > 149 * 3 and bad == [], bad[:3]


XOR = open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "sheetnet", "examples",
                        "xor.toml"), encoding="utf-8").read()


def xor(*edits):
    text = XOR.replace("epochs = 600", "epochs = 20")
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


# the cases: finite in the spec, overflowing in the run or the sheet
EXTREMES = {
    "lr-1e6": xor(("lr = 4.0", "lr = 1e6")),
    "adam-lr-1e308": xor(('optimizer = "sgd"', 'optimizer = "adam"'), ("lr = 4.0", "lr = 1e308")),
    "weight-1e308": xor(("weights = [[0.6, -0.9]]", "weights = [[1e308, -0.9]]")),
    "input-1e308": xor(("[1, 1]]", "[1, 1e308]]")),
    "l2-1e308": xor(("lr = 4.0", "lr = 4.0\nl2 = 1e308")),
    "target-1e308": xor(("[1], [0]]", "[1], [1e308]]")),
    "lr-30-sigmoid": xor(("lr = 4.0", "lr = 30.0")),
}


@pytest.mark.parametrize("case", list(EXTREMES))
def test_extreme_values_never_reach_a_cell(tmp_path, case):
    spec = write_spec(tmp_path, EXTREMES[case])
    book = tmp_path / "out.xlsx"
    result = run_cli(["train", spec, "-o", book], tmp_path / "tmp")
    assert "Traceback" not in result.stderr and "RuntimeWarning" not in result.stderr
    if result.exit_code == 2:  # overflows in its first epoch: one line, nothing written
        assert result.stderr.count("\n") == 1 and "diverges at step 1" in result.stderr, result.stderr
        assert not book.exists()
        return
    assert result.exit_code == 0, result.stderr
    numbers_are_finite(book)
    read = run_cli(["read", book, "--json"], tmp_path / "t1")
    assert read.exit_code == 0 and json.loads(read.stdout)["recomputed"] is False, read.stderr
    assert run_cli(["audit", book], tmp_path / "t2").exit_code == 0
    nxt = run_cli(["resume", book, "-o", tmp_path / "next.xlsx", "--epochs", "2"], tmp_path / "t3")
    assert nxt.exit_code in (0, 2) and "Traceback" not in nxt.stderr
    if nxt.exit_code == 0:
        numbers_are_finite(tmp_path / "next.xlsx")


@st.composite
def extreme_specs(draw):
    """A 2-2-1 network with drawn magnitudes: learning rate, starting weights, inputs, targets,
    penalty and optimizer from ordinary to absurd."""
    scale = st.sampled_from([1.0, 1.0, 3.0, 10.0, 1e3, 1e100, 1e300])
    unit = st.floats(-1.0, 1.0, allow_nan=False)
    sw, sv, sx, stt = (draw(scale) for _ in range(4))
    w = [[sw * draw(unit) for _ in range(2)] for _ in range(2)]
    v = [[sv * draw(unit) for _ in range(2)]]
    x = [[sx * draw(unit) for _ in range(2)] for _ in range(3)]
    t = [[stt * draw(unit)] for _ in range(3)]
    act = draw(st.sampled_from(["sigmoid", "tanh", "relu", "linear"]))
    opt = draw(st.sampled_from(["sgd", "momentum", "adagrad", "rmsprop", "adam"]))
    lr = draw(st.sampled_from([0.01, 0.5, 2.0, 10.0, 100.0, 1e6, 1e308]))
    l2 = draw(st.sampled_from([0.0, 0.0, 1e-3, 1e200]))
    batch = draw(st.sampled_from([0, 1, 2]))
    rows = lambda m: "[" + ", ".join("[" + ", ".join(repr(a) for a in r) + "]" for r in m) + "]"  # noqa: E731
    return f"""[[layers]]
kind = "input"
size = 2
[[layers]]
kind = "dense"
size = 2
activation = "{act}"
weights = {rows(w)}
biases = [0.1, -0.1]
[[layers]]
kind = "dense"
size = 1
activation = "linear"
weights = {rows(v)}
biases = [0.0]
[loss]
kind = "mse"
[train]
optimizer = "{opt}"
lr = {lr!r}
l2 = {l2!r}
epochs = 6
batch_size = {batch}
[data]
inputs = {rows(x)}
targets = {rows(t)}
"""


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=extreme_specs())
def test_property_every_written_workbook_is_finite_current_and_clean(tmp_path, text):
    """Whatever the magnitudes: either one line (exit 2) and no file, or a workbook that parses,
    holds only finite numbers, reads back as current and audits clean."""
    import sheetnet
    from sheetnet.book.audit import audit
    from sheetnet.book.reader import open_book, stored_values
    from sheetnet.engine.training import Diverged
    from sheetnet.sheet import write_workbook

    spec = sheetnet.parse_spec(__import__("tomllib").loads(text), path="extreme.toml")
    book = str(tmp_path / "extreme.xlsx")
    if os.path.exists(book):
        os.remove(book)
    try:
        trace = sheetnet.train(spec)
    except Diverged as e:
        assert re.search(r"diverges at step \d+", str(e))
        return
    write_workbook(trace, book)
    numbers_are_finite(book)
    b = open_book(book)
    assert stored_values(b).trustworthy
    assert audit(b) == []


def test_forward_values_that_overflow_where_loss_and_gradients_do_not():
    """A sigmoid unit with net = 1e160·1e150 = inf: its output is 1, its derivative 0, so the
    loss, parameters and gradients stay finite; the net input alone cannot be written."""
    import tomllib

    import sheetnet
    from sheetnet.engine.training import Diverged

    text = SQUARE.replace('activation = "linear"', 'activation = "sigmoid"').replace("[[1.0]]\nbiases",
                                                                                    "[[1e150]]\nbiases")
    text = text.replace("inputs = [[1.0]]", "inputs = [[1e160]]").replace("targets = [[-1.0]]", "targets = [[1.0]]")
    spec = sheetnet.parse_spec(tomllib.loads(text), path="sat.toml")
    with pytest.raises(Diverged, match=r"step 1 \(forward values"):
        sheetnet.train(spec)
