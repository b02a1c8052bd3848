"""The former home of ``write_workbook``, kept so that ``from sheetnet.workbook import
write_workbook`` keeps working; the writer lives in ``sheetnet.sheet``."""

from .sheet.workbook import write_workbook

__all__ = ["write_workbook"]
