"""Workbook export benchmark: Mazur's example for 10,000 steps (the compact layout).

Measures, in one process: the time of `write_workbook` (formulas built from the registry and
the layout, values from the trace), formula cells per second against plain XlsxWriter
writing the very same formulas and values (read back from the file), peak memory of the
export (in a child process, as max RSS), file size, and LibreOffice's time to recalculate
the file.  Run:  python benchmarks/bench_export.py [--no-recalc]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

CHILD = """
import sys, time, resource
sys.path.insert(0, {root!r})
import sheetnet
from sheetnet.sheet import write_workbook
t0 = time.perf_counter()
trace = sheetnet.train(sheetnet.example("mazur-10k"))
t1 = time.perf_counter()
write_workbook(trace, {path!r})
t2 = time.perf_counter()
print(t1 - t0, t2 - t1, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def raw_xlsxwriter(cells, path):
    """Plain XlsxWriter, constant memory, the same formula cells with their values."""
    import xlsxwriter
    wb = xlsxwriter.Workbook(path, {"constant_memory": True})
    t0 = time.perf_counter()
    for sheet, items in cells.items():
        ws = wb.add_worksheet(sheet)
        for (r, c), (f, v) in items:
            ws.write_formula(r, c, "=" + f, None, v)
    wb.close()
    return time.perf_counter() - t0


def main():
    from sheetnet.book.cells import read_cells
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "mazur-10k.xlsx")
        out = subprocess.run([sys.executable, "-c", CHILD.format(root=ROOT, path=path)], capture_output=True,
                             text=True, check=True).stdout.split()
        t_train, t_write, rss = map(float, out)
        cells = read_cells(path)
        formulas = {s: sorted(((rc, (f, v)) for rc, (f, v) in items.items() if f), key=lambda x: x[0])
                    for s, items in cells.items()}
        n = sum(len(v) for v in formulas.values())
        t_raw = min(raw_xlsxwriter(formulas, os.path.join(tmp, f"raw{i}.xlsx")) for i in range(2))
        size = os.path.getsize(path)
        rows = [("formula cells", f"{n:,}"), ("train (10,000 steps, full trace)", f"{t_train:.2f} s"),
                ("write_workbook", f"{t_write:.2f} s ({n / t_write:,.0f} cells/s)"),
                ("plain XlsxWriter, same cells", f"{t_raw:.2f} s ({n / t_raw:,.0f} cells/s)"),
                ("sheetnet / plain (cells per second)", f"{t_raw / t_write:.2f}x"),
                ("peak memory (max RSS, train + write)", f"{rss:.0f} MB"), ("file size", f"{size / 1e6:.1f} MB")]
        if "--no-recalc" not in sys.argv:
            from sheetnet.book.recalc import recalc_files
            t0 = time.perf_counter()
            recalc_files([path], os.path.join(tmp, "lo"))
            rows.append(("LibreOffice recalculation (headless, incl. start)", f"{time.perf_counter() - t0:.1f} s"))
        print("| Mazur 10,000 steps, compact layout | |\n|---|---|")
        for k, v in rows:
            print(f"| {k} | {v} |")


if __name__ == "__main__":
    main()
