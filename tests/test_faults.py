"""Faults of the machine (issue 16): a folder that refuses files, a full disk or TMPDIR, stdout on
/dev/full, and interruptions (SIGINT, SIGTERM) while a workbook is written or LibreOffice
recalculates.  Each ends in one line; nothing is left at the output, in TMPDIR or running."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from hostile import SMALL, check_refused, run_cli, snapshot, write_spec

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faultbooks")
    spec = write_spec(folder)
    for args in (["train", spec, "-o", folder / "run.xlsx"], ["exercise", spec, "-o", folder / "ex.xlsx"]):
        assert run_cli(args, folder / "tmp").exit_code == 0
    return folder


def commands(books, out):
    """Every command that writes a file, with its output ``out``; (args, the files it reads)."""
    spec = str(books / "spec.toml")
    run, ex = str(books / "run.xlsx"), str(books / "ex.xlsx")
    return {
        "train": (["train", spec, "-o", out], [spec]),
        "resume": (["resume", run, "-o", out], [run]),
        "read --spec": (["read", run, "--spec", out.replace(".xlsx", ".toml")], [run]),
        "exercise": (["exercise", spec, "-o", out], [spec]),
        "grading": (["audit", ex, "--graded", out], [ex]),
        "demo": (["demo", "-o", out], []),
        "recalc": (["recalc", run, "-o", out], [run]),
        "compare": (["compare", spec, "-o", out], [spec]),
    }


def _no_libreoffice(monkeypatch):
    """recalc's LibreOffice pass replaced by a copy: the fault under test is in the writing."""
    import sheetnet.book.recalc as rc

    def fake(paths, out_dir, engine="lo", timeout=900):
        os.makedirs(out_dir, exist_ok=True)
        return [shutil.copyfile(p, os.path.join(out_dir, os.path.basename(p))) for p in paths]

    monkeypatch.setattr(rc, "recalc_files", fake)


FAULTS = {
    # a folder that refuses new files, as seen from inside the writer (test_read_only_folder makes a real one)
    "refused-file": ("mkstemp", errno.EACCES, "permission denied"),
    # the disk fills up while the file is written: the rename into place is the last write
    "disk-full": ("replace", errno.ENOSPC, "no space left"),
    # TMPDIR is full: the writer's private temporary folder cannot be made
    "tmpdir-full": ("mkdtemp", errno.ENOSPC, "no space left"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("command", ["train", "resume", "read --spec", "exercise", "grading", "demo", "recalc",
                                     "compare"])
def test_file_system_fault(books, tmp_path, monkeypatch, command, fault):
    import sheetnet.files as files

    what, code, words = FAULTS[fault]
    out = str(tmp_path / "out" / "out.xlsx")
    os.makedirs(os.path.dirname(out))
    args, inputs = commands(books, out)[command]
    _no_libreoffice(monkeypatch)

    def fail(*a, **k):
        raise OSError(code, os.strerror(code))

    target = files.os if what == "replace" else files.tempfile
    monkeypatch.setattr(target, what, fail)
    written = out.replace(".xlsx", ".toml") if command == "read --spec" else out
    check_refused(args, tmp_path, [os.path.basename(written), words], inputs=inputs, output=written)


def _without_root_override():
    """The command prefix that runs a program as this user but without root's power to write into
    folders whose mode forbids it (the tests run as root in CI), or [] for an ordinary user."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to test a read-only folder as root"
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--"]


@pytest.mark.parametrize("command", ["train", "resume", "read --spec", "exercise", "grading", "demo", "compare"])
def test_read_only_folder(books, tmp_path, command):
    """A real folder with mode r-x: the command says so in one line and leaves nothing behind."""
    folder, tmpdir = tmp_path / "locked", tmp_path / "tmpdir"
    folder.mkdir()
    tmpdir.mkdir()
    out = str(folder / "out.xlsx")
    args, inputs = commands(books, out)[command]
    before = snapshot(inputs)
    os.chmod(folder, 0o555)
    try:
        env = dict(os.environ, PYTHONPATH=ROOT, TMPDIR=str(tmpdir), LANGUAGE="en")
        proc = subprocess.run([*_without_root_override(), sys.executable, os.path.join(ROOT, "cli.py"), *args],
                              env=env, capture_output=True, text=True, timeout=300)
    finally:
        os.chmod(folder, 0o755)
    err = proc.stderr
    assert proc.returncode == 2, (proc.returncode, err)
    assert err.count("\n") == 1 and err.startswith("sheetnet: error:") and "permission denied" in err, err
    assert os.listdir(folder) == [] and os.listdir(tmpdir) == []
    assert snapshot(inputs) == before


def test_output_into_proc(books, tmp_path):
    spec = str(books / "spec.toml")
    check_refused(["train", spec, "-o", "/proc/sheetnet-test.xlsx"], tmp_path, ["/proc/sheetnet-test.xlsx"],
                  inputs=[spec])


def _cli(*args, tmpdir, **kw):
    env = dict(os.environ, PYTHONPATH=ROOT, TMPDIR=str(tmpdir))
    return subprocess.Popen([sys.executable, os.path.join(ROOT, "cli.py"), *map(str, args)], env=env,
                            stderr=subprocess.PIPE, text=True, **kw)


@pytest.mark.parametrize("args", [["train", "mazur", "--json"], ["examples"]], ids=["json", "examples"])
def test_stdout_on_dev_full(tmp_path, args):
    with open("/dev/full", "w") as full:
        proc = _cli(*args, tmpdir=tmp_path, stdout=full)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert err.count("\n") == 1 and "stdout" in err and "Traceback" not in err, err


def _wait_for(predicate, timeout=120):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_while_writing(tmp_path, sig):
    """The signal arrives once the partial file exists: it and the writer's temp files go."""
    spec = write_spec(tmp_path, SMALL.replace("epochs = 3", "epochs = 20000"))
    tmpdir, out = tmp_path / "tmpdir", tmp_path / "out"
    tmpdir.mkdir()
    out.mkdir()
    proc = _cli("train", spec, "-o", out / "big.xlsx", "--layout", "compact", tmpdir=tmpdir,
                stdout=subprocess.DEVNULL)
    assert _wait_for(lambda: any(n.endswith(".part") for n in os.listdir(out)) or proc.poll() is not None)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0, "the export finished before the signal; make the run longer"
    assert err.strip().endswith("partial files removed") and "Traceback" not in err, err
    assert os.listdir(out) == [] and os.listdir(tmpdir) == []


def _engines_using(folder: str) -> list[int]:
    """Processes whose command line mentions ``folder`` (LibreOffice's private profile lives there)."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if folder.encode() in fh.read():
                    pids.append(int(pid))
        except OSError:
            pass
    return pids


def test_sigterm_during_recalc_stops_libreoffice(books, tmp_path):
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    proc = _cli("recalc", books / "run.xlsx", "-o", tmp_path / "re.xlsx", tmpdir=tmpdir, stdout=subprocess.DEVNULL)
    assert _wait_for(lambda: _engines_using(str(tmpdir)) != [] or proc.poll() is not None)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "Traceback" not in err and err.count("\n") == 1, err
    assert _wait_for(lambda: _engines_using(str(tmpdir)) == [], timeout=20), "LibreOffice is still running"
    assert os.listdir(tmpdir) == [] and not (tmp_path / "re.xlsx").exists()
