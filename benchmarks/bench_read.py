"""Reading benchmark: `sheetnet read` and `sheetnet audit` against openpyxl's read-only mode
iterating every cell of the same file (the natural lower bound of reading a workbook in Python).

CPU time of each, in one process, for gallery workbooks and Mazur 10,000 steps:
  read  = open_book (every cell, the spec, the inputs) + stored_values (the engine's run of the
          workbook's inputs, every stored value checked against it)
  audit = open_book + audit (every formula and value compared with what sheetnet would write)
Run:  python benchmarks/bench_read.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

NAMES = ("xor", "iris", "cnn123", "mazur-10k")


def cpu(fn):
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def openpyxl_all(path):
    import openpyxl
    wb = openpyxl.load_workbook(path, read_only=True)
    n = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                n += c.value is not None
    wb.close()
    return n


def main():
    import sheetnet
    from sheetnet.book.audit import audit
    from sheetnet.book.reader import open_book, stored_values
    from sheetnet.sheet import write_workbook
    print("| workbook | openpyxl read-only, every cell | sheetnet read | ratio | sheetnet audit | ratio |\n"
          "|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in NAMES:
            path = os.path.join(tmp, name + ".xlsx")
            write_workbook(sheetnet.train(sheetnet.example(name)), path)
            t_ref = cpu(lambda: openpyxl_all(path))
            t_read = cpu(lambda: stored_values(open_book(path)))
            t_audit = cpu(lambda: audit(open_book(path)))
            print(f"| {name} | {t_ref:.2f} s | {t_read:.2f} s | {t_read / t_ref:.2f}x | {t_audit:.2f} s "
                  f"| {t_audit / t_ref:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
