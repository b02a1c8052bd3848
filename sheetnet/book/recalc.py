"""Refresh a workbook's stored values with a real spreadsheet engine.

LibreOffice never recalculates an .xlsx on load by default, so it is started headless with
a private, throw-away profile whose settings say "always recalculate on load", then asked
to convert the file to .xlsx again.  One start converts many files.  Gnumeric's
``ssconvert --recalc`` is the second engine (used by the tests).  ``pdf_files`` prints workbooks
to PDF with the same private profile (the gallery's pictures).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from urllib.parse import quote

from ..errors import SheetnetError

_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse">\
<value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse">\
<value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" \
oor:op="fuse"><value>3</value></prop></item>
</oor:items>
"""


class RecalcError(SheetnetError):
    pass


def find_soffice() -> str:
    for cand in (os.environ.get("SOFFICE"), shutil.which("soffice"), shutil.which("libreoffice")):
        if cand and os.access(cand, os.X_OK):
            return cand
    raise RecalcError("LibreOffice is not installed (soffice not found); install it, e.g. "
                      "`apt-get install libreoffice-calc-nogui`, or set SOFFICE")


def find_ssconvert() -> str:
    path = os.environ.get("SSCONVERT") or shutil.which("ssconvert")
    if not path:
        raise RecalcError("Gnumeric is not installed (ssconvert not found); install it, e.g. `apt-get install gnumeric`")
    return path


def _stage(work: str, paths: list[str], names: list[str]) -> tuple[list[str], str]:
    """Copy the inputs into ``work/in`` under ``names`` (the engine never touches or locks the
    caller's files); return the copies and the empty output folder ``work/out``."""
    src, res = os.path.join(work, "in"), os.path.join(work, "out")
    os.makedirs(src)
    os.makedirs(res)
    copies = []
    for p, name in zip(paths, names):
        if not os.path.isfile(p):
            raise RecalcError("no such file", p)
        copies.append(shutil.copyfile(p, os.path.join(src, name)))
    return copies, res


def recalc_files(paths: list[str], out_dir: str, engine: str = "lo", timeout: float = 900) -> list[str]:
    """Recalculate every workbook in ``paths`` into ``out_dir`` (same file names); return the
    output paths.  Inputs are copied first, so the engine never touches or locks them."""
    stems = [os.path.basename(p) for p in paths]
    if len(set(stems)) != len(stems):
        raise RecalcError("two workbooks have the same file name")
    os.makedirs(out_dir, exist_ok=True)
    from ..files import make_tempdir

    work = make_tempdir("sheetnet-recalc-", paths[0] if paths else out_dir)
    try:
        copies, res = _stage(work, paths, stems)
        env = _private_env(work)
        if engine == "lo":
            _run(_soffice_convert(work, "xlsx:Calc MS Excel 2007 XML", res, copies), timeout, env, work)
        elif engine == "gnumeric":
            exe = find_ssconvert()
            for c, stem in zip(copies, stems):
                _run([exe, "--recalc", "--export-type=Gnumeric_Excel:xlsx2", c, os.path.join(res, stem)],
                     timeout, env, work)
        else:
            raise RecalcError(f"unknown engine {engine!r}")
        outs = []
        for stem in stems:
            produced = os.path.join(res, os.path.splitext(stem)[0] + ".xlsx")
            if not os.path.isfile(produced):
                raise RecalcError(f"{engine} produced no output", stem)
            target = os.path.join(out_dir, os.path.splitext(stem)[0] + ".xlsx")
            shutil.copyfile(produced, target + ".part")
            os.replace(target + ".part", target)
            outs.append(target)
        return outs
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _private_env(work: str) -> dict:
    """The environment of a headless spreadsheet engine: HOME and TMPDIR in ``work``, no display."""
    env = dict(os.environ, HOME=work, TMPDIR=work, SAL_USE_VCLPLUGIN="svp")
    env.pop("DISPLAY", None)
    return env


def _soffice_convert(work: str, convert_to: str, out_dir: str, files: list[str], recalc: bool = True) -> list[str]:
    """The soffice command converting ``files`` into ``out_dir``, with a private profile in
    ``work`` (recalculate on load, or never with ``recalc=False``; macros off)."""
    profile = os.path.join(work, "profile")
    os.makedirs(os.path.join(profile, "user"), exist_ok=True)
    with open(os.path.join(profile, "user", "registrymodifications.xcu"), "w") as fh:
        fh.write(_PROFILE if recalc else _PROFILE.replace("<value>0</value>", "<value>1</value>"))
    return [find_soffice(), "-env:UserInstallation=file://" + quote(profile), "--headless", "--invisible",
            "--norestore", "--nologo", "--nodefault", "--nolockcheck",
            "--convert-to", convert_to, "--outdir", out_dir, *files]


@contextlib.contextmanager
def _exported(paths: list[str], out_dir: str, convert_to: str, recalc: bool, timeout: float):
    """Convert every workbook in ``paths`` with one LibreOffice start (copies in a private
    folder, removed afterwards); yields (the file stems, the folder holding what it wrote)."""
    find_soffice()  # a clear error before any work
    stems = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    if len(set(stems)) != len(stems):
        raise RecalcError("two workbooks have the same file name")
    os.makedirs(out_dir, exist_ok=True)
    work = tempfile.mkdtemp(prefix="sheetnet-export-")
    try:
        copies, res = _stage(work, paths, [stem + ".xlsx" for stem in stems])
        _run(_soffice_convert(work, convert_to, res, copies, recalc=recalc), timeout, _private_env(work), work)
        yield stems, res
    finally:
        shutil.rmtree(work, ignore_errors=True)


# every sheet on one page of its own size (no page breaks, no scaling to a paper size)
PDF_ONE_PAGE_PER_SHEET = 'pdf:calc_pdf_Export:{"SinglePageSheets":{"type":"boolean","value":"true"}}'


def pdf_files(paths: list[str], out_dir: str, timeout: float = 900) -> list[str]:
    """Print every workbook in ``paths`` to ``out_dir``/<name>.pdf with LibreOffice (one start
    for all, recalculated on load), each sheet on one page; return the PDF paths."""
    with _exported(paths, out_dir, PDF_ONE_PAGE_PER_SHEET, True, timeout) as (stems, res):
        outs = []
        for stem in stems:
            produced = os.path.join(res, stem + ".pdf")
            if not os.path.isfile(produced):
                raise RecalcError("LibreOffice produced no PDF", stem + ".xlsx")
            outs.append(shutil.move(produced, os.path.join(out_dir, stem + ".pdf")))
        return outs


# every sheet to a CSV file of its own (name-Sheet.csv), the cells as shown, UTF-8
CSV_EVERY_SHEET = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1"


def csv_files(paths: list[str], out_dir: str, timeout: float = 900) -> dict:
    """What a viewer that does not recalculate shows: every sheet of every workbook as CSV,
    exported by LibreOffice *without* recalculating (its default for .xlsx), in one start.
    Returns {path: {sheet file name: CSV text}}."""
    with _exported(paths, out_dir, CSV_EVERY_SHEET, False, timeout) as (stems, res):
        out = {}
        for p, stem in zip(paths, stems):
            found = sorted(f for f in os.listdir(res) if f.startswith(stem + "-") and f.endswith(".csv"))
            if not found:
                raise RecalcError("LibreOffice produced no CSV", stem + ".xlsx")
            out[p] = {}
            for f in found:
                with open(os.path.join(res, f), encoding="utf-8") as fh:
                    out[p][f[len(stem) + 1:-4]] = fh.read()
        return out


def _run(cmd, timeout, env, cwd):
    """Run a spreadsheet engine in a session of its own; on a timeout, an interruption or any
    other exception its whole process group (soffice starts soffice.bin) is killed first."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise RecalcError(f"{os.path.basename(cmd[0])} did not finish within {timeout:g} s") from None
    except BaseException:
        _kill_group(proc)
        raise
    _kill_group(proc)  # a helper the engine left behind
    if proc.returncode != 0:
        tail = out.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise RecalcError(f"{os.path.basename(cmd[0])} failed (exit {proc.returncode}): {' '.join(tail)}")


def _kill_group(proc):
    import signal

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def recalc_workbook(path: str, output: str) -> str:
    """Refresh every stored value of ``path`` with LibreOffice into ``output`` (may equal ``path``:
    the new file replaces it only when complete)."""
    if not path.lower().endswith((".xlsx", ".xlsm")):
        raise RecalcError("not an .xlsx workbook", path)
    from ..files import atomic_path, make_tempdir

    tmp = make_tempdir("sheetnet-recalc-out-", output)
    try:
        out = recalc_files([path], tmp)[0]
        with atomic_path(output, suffix=".xlsx.part") as part:
            shutil.copyfile(out, part)
        return output
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
