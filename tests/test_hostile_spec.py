"""Hostile specs and data (issue 16): sizes that would exhaust memory, numbers Python cannot
convert, nesting, names that cannot travel through a workbook, files that never end, and
outputs that would overwrite an input.  Each is refused with one line, nothing written."""

from __future__ import annotations

import os

import pytest

from hostile import SMALL, check_refused, run_cli, write_spec

BIG = "1" + "0" * 399  # a 400-digit integer


def edit(old, new):
    assert old in SMALL, old
    return SMALL.replace(old, new)


# (case id, spec text, extra CLI arguments, words the error line must hold)
SPEC_CASES = [
    ("input-size-2**63", edit("size = 2\n", f"size = {2**63}\n"), [], ["layer 1", "size"]),
    ("image-100000x100000", edit("size = 2\n", "shape = [100000, 100000]\n"), [], ["shape", "limit"]),
    ("units-over-limit", edit("size = 1\nactivation", "size = 65537\nactivation"), [], ["layer 2", "limit"]),
    ("epochs-1e9-with-o", edit("epochs = 3", "epochs = 1000000000"), [], ["epochs", "cells"]),
    ("epochs-1e22", edit("epochs = 3", "epochs = 10000000000000000000000"), [], ["epochs", "limit"]),
    ("epochs-float-1e22", edit("epochs = 3", "epochs = 1e22"), [], ["epochs", "limit"]),
    ("cli-epochs-1e12-with-o", SMALL, ["--epochs", "1000000000000"], ["epochs", "cells"]),
    ("lr-400-digits", edit("lr = 0.5", f"lr = {BIG}"), [], ["key 'lr'", "digits"]),
    ("l2-400-digits", edit("lr = 0.5", f"lr = 0.5\nl2 = {BIG}"), [], ["key 'l2'", "digits"]),
    ("weight-400-digits", edit("[[0.5, -0.25]]", f"[[{BIG}, -0.25]]"), [], ["weights", "digits"]),
    ("input-400-digits", edit("[[0.0, 1.0], [1.0", f"[[0.0, {BIG}], [1.0"), [], ["inputs", "digits"]),
    ("arrays-5000-deep", SMALL + "x = " + "[" * 5000 + "]" * 5000 + "\n", [], ["nested too deeply"]),
    ("tables-3000-deep", SMALL + "y = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n", [], ["nested too deeply"]),
    ("name-with-DEL", edit('name = "small"', 'name = "a\\u007fb"'), [], ["key 'name'", "U+007F"]),
    ("name-with-U+2028", edit('name = "small"', 'name = "a\\u2028b"'), [], ["key 'name'", "U+2028"]),
    ("name-with-U+0085", edit('name = "small"', 'name = "a\\u0085b"'), [], ["key 'name'", "U+0085"]),
    ("name-40000-chars", edit('name = "small"', f'name = "{"n" * 40000}"'), [], ["key 'name'", "200"]),
    ("unit-name-with-DEL", edit('activation = "sigmoid"', 'activation = "sigmoid"\nnames = ["o\\u007f"]'), [],
     ["key 'names'", "U+007F"]),
    ("filters-1e7", None, [], ["filters", "limit"]),
]

CONV = """[[layers]]
kind = "input"
shape = [4, 4]
[[layers]]
kind = "conv"
filters = 10000000
kernel = 3
activation = "relu"
[[layers]]
kind = "dense"
size = 1
activation = "sigmoid"
[loss]
kind = "half_sse"
[train]
epochs = 1
[data]
inputs = [[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]
targets = [[1.0]]
"""


@pytest.mark.parametrize("case, text, extra, expected", SPEC_CASES, ids=[c[0] for c in SPEC_CASES])
def test_spec_refused(tmp_path, case, text, extra, expected):
    spec = write_spec(tmp_path, CONV if text is None else text)
    out = tmp_path / "out.xlsx"
    check_refused(["train", spec, "-o", out, *extra], tmp_path, ["spec.toml", *expected], inputs=[spec],
                  output=str(out))


def test_spec_with_byte_order_mark_is_accepted(tmp_path):
    spec = write_spec(tmp_path, "\ufeff" + SMALL, mode="w")
    assert open(spec, "rb").read(3) == b"\xef\xbb\xbf"
    result = run_cli(["train", spec, "--json"], tmp_path / "tmpdir")
    assert result.exit_code == 0, result.stderr
    assert '"losses"' in result.stdout


# (case id, file content of data.csv or a special path, expected words, words the line must not hold)
CSV_HEAD = 'name = "c"\n' + SMALL.split("[data]")[0].split('name = "small"\n')[1] + \
    '[data]\ncsv = "{csv}"\ninput_columns = ["a", "b"]\ntarget_columns = ["t"]\n'


def test_csv_field_of_200000_characters(tmp_path):
    (tmp_path / "data.csv").write_text("a,b,t\n1,2," + "9" * 200_000 + "\n")
    spec = write_spec(tmp_path, CSV_HEAD.format(csv="data.csv"))
    check_refused(["train", spec], tmp_path, ["data.csv", "row 2"], inputs=[spec, tmp_path / "data.csv"])


def test_csv_names_the_problem_not_the_content(tmp_path):
    (tmp_path / "data.csv").write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1\n")
    spec = write_spec(tmp_path, CSV_HEAD.format(csv=str(tmp_path / "data.csv")))
    check_refused(["train", spec], tmp_path, ["no column 'a'", "1 field"], inputs=[spec], forbidden=["bin/bash", "daemon"])


@pytest.mark.parametrize("target", ["/dev/zero", "fifo"])
def test_spec_and_csv_that_never_end(tmp_path, target):
    if target == "fifo":
        target = str(tmp_path / "pipe")
        os.mkfifo(target)
    check_refused(["train", target], tmp_path, [target, "not a regular file"])
    spec = write_spec(tmp_path, CSV_HEAD.format(csv=target))
    check_refused(["train", spec], tmp_path, ["key 'csv'", "not a regular file"], inputs=[spec])


def test_workbook_never_writes_over_an_input(tmp_path):
    """train/exercise/compare -o naming the spec (saved as .xlsx) or its CSV data; -o ''."""
    spec = write_spec(tmp_path, SMALL, name="spec.xlsx")
    for cmd in (["train", spec], ["exercise", spec], ["compare", spec]):
        check_refused([*cmd, "-o", spec], tmp_path, ["refusing to write over"], inputs=[spec], output=spec)
    (tmp_path / "data.xlsx").write_text("a,b,t\n0,1,1\n1,0,0\n")
    spec2 = write_spec(tmp_path, CSV_HEAD.format(csv="data.xlsx"))
    data = str(tmp_path / "data.xlsx")
    check_refused(["train", spec2, "-o", data], tmp_path, ["refusing to write over"], inputs=[spec2, data],
                  output=data)
    check_refused(["train", spec2, "-o", ""], tmp_path, ["empty"], inputs=[spec2])


def test_step_with_absurd_step_count(tmp_path):
    spec = write_spec(tmp_path)
    check_refused(["step", spec, "--steps", "99999999999"], tmp_path, ["--steps", "10,000"])
