"""Writing a run as a workbook of live formulas with the engine's values cached.

``layout`` is the only module that knows where a cell is; ``formulas`` builds each cell's formula
from the ``ops`` registry and references from ``refs``; ``values`` gives its cached value; ``workbook``
writes the file with the sheets of ``guide``, ``steps``, ``compact`` and ``history``.
"""

from .workbook import write_workbook

__all__ = ["write_workbook"]
