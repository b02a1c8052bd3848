"""Errors that carry a location, so the CLI can print one line and exit with the right code."""

from __future__ import annotations

import difflib

from .i18n import _


class SheetnetError(Exception):
    """Base class. ``str(err)`` is the one line a user sees: ``where: what``."""

    exit_code = 2

    def __init__(self, message: str, where: str | None = None):
        self.message = message
        self.where = where
        super().__init__(_("{where}: {message}").format(where=where, message=message) if where else message)


class SpecError(SheetnetError):
    """The spec (TOML or its CSV data) is unusable; ``where`` names the file and key or row."""


class WorkbookError(SheetnetError):
    """A workbook cannot be written or read; ``where`` names the file, sheet and cell."""


def suggest(word: str, choices) -> str:
    """`` did you mean 'x'?`` for the closest choice, or the list of choices."""
    choices = sorted(choices)
    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    if close:
        return _("; did you mean '{choice}'?").format(choice=close[0])
    return _("; choose from {choices}").format(choices=", ".join(choices))


# Where an error is: the words of a location, from the message catalog (names stay as written)

def at_key(where: str, key: str) -> str:
    """``where, key 'name'``"""
    return _("{where}, key '{key}'").format(where=where, key=key)


def at_row(where: str, row) -> str:
    """``where, row 3``"""
    return _("{where}, row {row}").format(where=where, row=row)


def at_column(where: str, column: str) -> str:
    """``where, column 'x1'`` (the name as Python's repr writes it)"""
    return _("{where}, column {column}").format(where=where, column=repr(column))


def at_cell(book: str, sheet: str, cell: str) -> str:
    """``book, sheet 'Run', cell B3``"""
    return _("{book}, sheet '{sheet}', cell {cell}").format(book=book, sheet=sheet, cell=cell)
