"""Workbook export benchmark: every gallery workbook and Mazur's example for 10,000 steps.

For each workbook, in one process: the CPU time of sheetnet's export (`write_workbook`, or
`write_comparison` for the optimizers comparison: formulas built from the registry and the
layout, values from the trace) against plain XlsxWriter (constant-memory mode) writing the
very same cells (every formula with its cached value, every number and string, read back
from sheetnet's file) without formats.  The ratio is plain / sheetnet: how many times
faster sheetnet writes the same content.  Then, for Mazur 10,000 steps, peak memory of
train + export (a child process, max RSS) at 2,500 and 10,000 steps (flat in run length),
file size, and LibreOffice's time to recalculate the file.

Run:  python benchmarks/bench_export.py [--no-recalc] [--quick]   (--quick: gallery only)
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
import sys
sys.path.insert(0, {root!r})
import sheetnet
from sheetnet.sheet import write_workbook
spec = sheetnet.example("mazur-10k")
spec = spec.with_train(epochs={epochs})
write_workbook(sheetnet.train(spec), {path!r})
print(int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024)
"""  # VmHWM: this process's peak (ru_maxrss would carry the parent's peak over the exec)

WAKUI = """
import sys, resource
sys.path.insert(0, {root!r})
from sheetnet.cli import main
try:
    main(["train", "wakui-cnn", "-o", {path!r}])
except SystemExit:
    pass
r = resource.getrusage(resource.RUSAGE_SELF)
print(r.ru_utime, r.ru_stime, int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024)
"""


def cpu(fn, *args):
    t0 = time.process_time()
    fn(*args)
    return time.process_time() - t0


def raw_xlsxwriter(cells, path):
    """Plain XlsxWriter, constant memory, the same cells (no formats)."""
    import xlsxwriter
    wb = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False,
                                    "strings_to_numbers": False, "strings_to_urls": False})
    for sheet, items in cells.items():
        ws = wb.add_worksheet(sheet)
        for (r, c), (f, v) in items:
            if f:
                ws.write_formula(r, c, "=" + f, None, v)
            elif isinstance(v, str):
                ws.write_string(r, c, v)
            elif v is not None:
                ws.write_number(r, c, v)
    wb.close()


def export(name, path):
    import sheetnet
    from sheetnet.compare import runs, write_comparison
    from sheetnet.sheet import write_workbook
    from sheetnet.examples import resolve
    from sheetnet.gallery import _write_function_book
    spec = resolve(name)
    if not hasattr(spec, "layers"):  # gradient descent on a function: its own small workbook
        return cpu(_write_function_book, spec, path)
    if spec.compare:
        specs = runs(spec)
        return cpu(write_comparison, specs, path)
    trace = sheetnet.train(spec)
    return cpu(write_workbook, trace, path)


def main():
    from sheetnet.book.cells import read_cells
    from sheetnet.gallery import GALLERY
    names = list(GALLERY) + ([] if "--quick" in sys.argv else ["mazur-10k"])
    print("| workbook | cells | formula cells | sheetnet export (CPU) | plain XlsxWriter, same cells (CPU) "
          "| plain / sheetnet | file |\n|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            path = os.path.join(tmp, name + ".xlsx")
            t_ours = export(name, path)
            cells = read_cells(path)
            ordered = {s: sorted(items.items()) for s, items in cells.items()}
            n = sum(len(v) for v in ordered.values())
            nf = sum(1 for v in ordered.values() for _, (f, _) in v if f)
            t_raw = cpu(raw_xlsxwriter, ordered, os.path.join(tmp, "raw.xlsx"))
            print(f"| {name} | {n:,} | {nf:,} | {t_ours:.2f} s ({n / t_ours:,.0f} cells/s) "
                  f"| {t_raw:.2f} s ({n / t_raw:,.0f} cells/s) | {t_raw / t_ours:.2f}x "
                  f"| {os.path.getsize(path) / 1e6:.1f} MB |", flush=True)
        if "--quick" in sys.argv:
            return
        print("\n| wakui-cnn end to end (`sheetnet train wakui-cnn -o`, a child process) | |\n|---|---|")
        out = os.path.join(tmp, "wakui-cnn.xlsx")
        t0 = time.perf_counter()
        child = subprocess.run([sys.executable, "-c", WAKUI.format(root=ROOT, path=out)], capture_output=True,
                               text=True, check=True).stdout.split()
        wall = time.perf_counter() - t0
        user, system, rss = map(float, child[-3:])
        print(f"| wall time | {wall:.1f} s |\n| CPU time (user + system) | {user + system:.1f} s |\n"
              f"| peak memory (max RSS) | {rss:.0f} MB |\n| file | {os.path.getsize(out) / 1e6:.1f} MB |")
        print("\n| Mazur, train + export in a child process | |\n|---|---|")
        for epochs in (2500, 10000):
            out = os.path.join(tmp, f"m{epochs}.xlsx")
            rss = subprocess.run([sys.executable, "-c", CHILD.format(root=ROOT, path=out, epochs=epochs)],
                                 capture_output=True, text=True, check=True).stdout.split()[-1]
            print(f"| {epochs:,} steps: peak memory (max RSS) | {float(rss):.0f} MB |")
        if "--no-recalc" not in sys.argv:
            from sheetnet.book.recalc import recalc_files
            t0 = time.perf_counter()
            recalc_files([os.path.join(tmp, "mazur-10k.xlsx")], os.path.join(tmp, "lo"))
            print(f"| LibreOffice recalculation of 10,000 steps (headless, incl. start) "
                  f"| {time.perf_counter() - t0:.1f} s |")


if __name__ == "__main__":
    main()
