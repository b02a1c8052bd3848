"""Helpers of the hostile-input tests: run a command in-process with a private TMPDIR and check
the promise of issue 16 — exit 2 (or another non-zero code), exactly one `sheetnet: error:` line
on stderr, no traceback, nothing left at the output path or in TMPDIR, the inputs byte-identical."""

from __future__ import annotations

import os
import re
import tempfile
import zipfile

from click.testing import CliRunner

from sheetnet.cli import main

SMALL = """name = "small"
[[layers]]
kind = "input"
size = 2
[[layers]]
kind = "dense"
size = 1
activation = "sigmoid"
weights = [[0.5, -0.25]]
biases = [0.1]
[loss]
kind = "half_sse"
[train]
lr = 0.5
epochs = 3
[data]
inputs = [[0.0, 1.0], [1.0, 0.0]]
targets = [[1.0], [0.0]]
"""


def run_cli(args, tmpdir):
    """Run ``sheetnet ARGS`` in-process with Python's temporary folder set to ``tmpdir``."""
    os.makedirs(tmpdir, exist_ok=True)
    saved = tempfile.tempdir
    tempfile.tempdir = str(tmpdir)
    try:
        return CliRunner().invoke(main, [str(a) for a in args], env={"TMPDIR": str(tmpdir)})
    finally:
        tempfile.tempdir = saved


def snapshot(paths) -> dict:
    return {str(p): open(p, "rb").read() for p in paths if os.path.isfile(p)}


def check_refused(args, tmp_path, expected=(), inputs=(), output=None, code=2, forbidden=()):
    """Run and assert the refusal: ``code``, one line, no traceback, nothing written or left."""
    tmpdir = tmp_path / "tmpdir"
    os.makedirs(tmpdir, exist_ok=True)
    before = snapshot(inputs)
    existed = output is not None and os.path.exists(output)
    folder = os.path.dirname(os.path.abspath(output)) if output else None
    listing = set(os.listdir(folder)) if folder and os.path.isdir(folder) else set()
    result = run_cli(args, tmpdir)
    err = result.stderr
    assert result.exit_code == code, (result.exit_code, err, result.stdout, result.exception)
    assert "Traceback" not in err + result.stdout
    assert err.count("\n") == 1 and err.startswith("sheetnet: error:"), repr(err)
    for text in expected:
        assert text in err, (text, err)
    for text in forbidden:
        assert text not in err, (text, err)
    assert os.listdir(tmpdir) == [], os.listdir(tmpdir)
    assert snapshot(inputs) == before, "an input was changed"
    if output is not None and not existed:
        assert not os.path.exists(output)
    if folder and os.path.isdir(folder):
        assert set(os.listdir(folder)) <= listing | {os.path.basename(output)}, set(os.listdir(folder)) - listing
    return err


def write_spec(folder, text=SMALL, name="spec.toml", mode="w"):
    path = os.path.join(folder, name)
    with open(path, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as fh:
        fh.write(text)
    return path


def rewrite_xlsx(src, dst, edit):
    """Copy an .xlsx part by part; ``edit(name, data)`` returns new bytes, or None to drop the part."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = edit(info.filename, zin.read(info.filename))
            if data is not None:
                zout.writestr(info.filename, data)
    return dst


def sheet_part(xlsx, sheet_name) -> str:
    """The zip member of a sheet (sheetnet's workbooks number them in workbook order)."""
    with zipfile.ZipFile(xlsx) as z:
        names = re.findall(rb'<sheet name="([^"]+)"', z.read("xl/workbook.xml"))
    return f"xl/worksheets/sheet{[n.decode() for n in names].index(sheet_name) + 1}.xml"


def set_cell(xml: bytes, ref: str, new: str) -> bytes:
    """Replace the cell ``ref`` (its whole ``<c>`` element) by ``new`` XML."""
    pattern = re.compile(rb'<c r="' + ref.encode() + rb'"[^>]*?(?:/>|>.*?</c>)', re.S)
    assert pattern.search(xml), ref
    return pattern.sub(new.encode().replace(b"\\", b"\\\\"), xml, count=1)
