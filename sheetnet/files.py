"""Writing files safely: to a temporary file beside the target, renamed into place only when
complete, with the permissions a normally created file gets; on any failure or interruption
nothing is left behind (neither the partial file nor the writer's own temporary files)."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import tempfile

from .errors import SheetnetError


class OutputError(SheetnetError):
    """A file cannot be written (permissions, a full disk, a folder that refuses files)."""


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def describe_os_error(e: OSError) -> str:
    """One phrase for an OSError, without the file names it carries."""
    if e.errno == errno.ENOSPC:
        return "no space left on the device"
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied" if e.errno != errno.EROFS else "read-only file system"
    return (e.strerror or e.__class__.__name__).lower()


@contextlib.contextmanager
def atomic_path(path: str, suffix: str = ".part"):
    """Yield a temporary path in the target's folder; on success it replaces ``path``, on any
    error it is removed and ``path`` is left as it was.

    While inside, Python's temporary folder (``tempfile.tempdir``, which XlsxWriter uses for
    its row files) is a private folder that is removed on the way out, so an interrupted or
    failed write leaves nothing in TMPDIR either.  An OSError (no permission, a full disk)
    becomes one OutputError naming ``path``."""
    folder = os.path.dirname(os.path.abspath(path))
    saved = tempfile.tempdir
    private = tmp = None
    try:
        # signals wait while the files are made and named, so cleanup always knows them
        held = _hold_signals()
        try:
            private = tempfile.mkdtemp(prefix="sheetnet-")
            fd, tmp = tempfile.mkstemp(prefix=".sheetnet-", suffix=suffix, dir=folder)
            os.close(fd)
        except OSError as e:
            where = "the temporary folder" if private is None else "the output folder"
            raise OutputError(f"cannot write a file in {where}: {describe_os_error(e)}", path) from None
        finally:
            _release_signals(held)
        tempfile.tempdir = private
        try:
            yield tmp
            os.chmod(tmp, _default_mode())  # mkstemp makes it private (0600)
            os.replace(tmp, path)
        except OSError as e:
            raise OutputError(f"cannot write the file: {describe_os_error(e)}", path) from None
    finally:
        held = _hold_signals()  # a signal now waits until the cleanup is done
        try:
            tempfile.tempdir = saved
            if tmp is not None and os.path.exists(tmp):
                os.remove(tmp)
            if private is not None:
                shutil.rmtree(private, ignore_errors=True)
        finally:
            _release_signals(held)


_HELD = {signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", signal.SIGTERM)}


def _hold_signals():
    """Block SIGINT/SIGTERM/SIGHUP (they stay pending); the previous mask, or None."""
    if not hasattr(signal, "pthread_sigmask"):
        return None
    return signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)


def _release_signals(previous):
    if previous is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def make_tempdir(prefix: str, where: str) -> str:
    """tempfile.mkdtemp, failing as one OutputError naming ``where`` (a full or read-only TMPDIR)."""
    try:
        return tempfile.mkdtemp(prefix=prefix)
    except OSError as e:
        raise OutputError(f"cannot make a temporary folder: {describe_os_error(e)}", where) from None


class Interrupted(SheetnetError):
    """SIGTERM or SIGHUP arrived: raised where the program is, so every ``finally`` runs."""

    exit_code = 128 + signal.SIGTERM


def raise_on_signals():
    """Turn SIGTERM and SIGHUP into an ``Interrupted`` exception (SIGINT already raises
    KeyboardInterrupt), so partial files, temporary folders and child processes are cleaned
    up by the code that made them."""

    def handler(signum, frame):
        err = Interrupted(f"interrupted by signal {signal.Signals(signum).name}; partial files removed")
        err.exit_code = 128 + signum
        raise err

    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, handler)
