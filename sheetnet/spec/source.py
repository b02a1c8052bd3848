"""Reading a spec's files (the TOML and its CSV data) without trusting them: regular files only,
never more than a limit, never blocking."""

from __future__ import annotations

import os

from ..errors import SpecError
from ..i18n import N_, _


def read_text_file(path: str, limit: int, what: str = N_("file")) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, or one SpecError.

    Opened without blocking (a named pipe nobody writes to, a terminal) and refused unless it
    is a regular file (``/dev/zero`` would never end); read at most ``limit`` + 1 bytes."""
    what = _(what)  # "spec file", "CSV file": marked N_ where they are named
    import stat

    nonblocking = getattr(os, "O_NONBLOCK", 0)
    try:
        fh = open(path, "rb", opener=lambda p, flags: os.open(p, flags | nonblocking))
    except FileNotFoundError:
        raise SpecError(_("no such file"), path) from None
    except IsADirectoryError:
        raise SpecError(_("is a directory, not a {what}").format(what=what), path) from None
    except OSError as e:
        raise SpecError(_("cannot read the {what}: {strerror}").format(
            what=what, strerror=e.strerror), path) from None
    with fh:
        st = os.fstat(fh.fileno())
        if stat.S_ISDIR(st.st_mode):
            raise SpecError(_("is a directory, not a {what}").format(what=what), path)
        if not stat.S_ISREG(st.st_mode):
            raise SpecError(_("not a regular file (a device, pipe or socket): sheetnet reads a {what} only from a "
                              "regular file").format(what=what), path)
        if st.st_size > limit:
            raise SpecError(_("the {what} has {st_size:,} bytes, more than sheetnet's limit of {limit:,}").format(
                what=what, st_size=st.st_size, limit=limit), path)
        try:
            data = fh.read(limit + 1)
        except OSError as e:
            raise SpecError(_("cannot read the {what}: {strerror}").format(
                what=what, strerror=e.strerror), path) from None
    if len(data) > limit:
        raise SpecError(_("the {what} has more than sheetnet's limit of {limit:,} bytes").format(
            what=what, limit=limit), path)
    return data
