"""Writing files safely: to a temporary file beside the target, renamed into place only when
complete, with the permissions a normally created file gets."""

from __future__ import annotations

import contextlib
import os
import tempfile


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_path(path: str, suffix: str = ".part"):
    """Yield a temporary path in the target's folder; on success it replaces ``path``, on any
    error it is removed and ``path`` is left as it was."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".sheetnet-", suffix=suffix, dir=folder)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, _default_mode())  # mkstemp makes it private (0600)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
