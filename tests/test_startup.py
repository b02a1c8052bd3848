"""`sheetnet --help` and `--version` start without numpy, pandas or the spreadsheet libraries
(they cost most of a start: about 0.6 s of CPU before; imported now where they are used)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEAVY = ("numpy", "pandas", "xlsxwriter", "openpyxl", "defusedxml")
PROBE = """
import sys
from sheetnet.cli import main
try:
    main({args!r})
except SystemExit:
    pass
print(sorted(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["train", "--help"]])
def test_help_and_version_import_no_heavy_library(args):
    out = subprocess.run([sys.executable, "-c", PROBE.format(args=args, heavy=HEAVY)], capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": ROOT}, cwd=ROOT)
    assert out.stderr.strip().splitlines()[-1] == "[]", out.stderr
    assert out.stdout.strip(), "nothing printed"


def test_the_lazy_names_of_the_package_still_work():
    import sheetnet
    assert callable(sheetnet.train) and "xor" in sheetnet.example_names()
    assert sheetnet.engine.Model is not None and "train" in dir(sheetnet)
    with pytest.raises(AttributeError):
        sheetnet.no_such_name
