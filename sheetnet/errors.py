"""Errors that carry a location, so the CLI can print one line and exit with the right code."""

from __future__ import annotations

import difflib


class SheetnetError(Exception):
    """Base class. ``str(err)`` is the one line a user sees: ``where: what``."""

    exit_code = 2

    def __init__(self, message: str, where: str | None = None):
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class SpecError(SheetnetError):
    """The spec (TOML or its CSV data) is unusable; ``where`` names the file and key or row."""


class WorkbookError(SheetnetError):
    """A workbook cannot be written or read; ``where`` names the file, sheet and cell."""


def suggest(word: str, choices) -> str:
    """`` did you mean 'x'?`` for the closest choice, or the list of choices."""
    choices = sorted(choices)
    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'?"
    return "; choose from " + ", ".join(choices)
