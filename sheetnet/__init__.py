"""sheetnet: train small neural networks and see every number, as a table and as a live spreadsheet.

    >>> import sheetnet
    >>> spec = sheetnet.example("mazur")
    >>> trace = sheetnet.train(spec)
    >>> trace.step(0).forward
"""

from .engine.training import train
from .errors import SheetnetError, SpecError, WorkbookError
from .examples import example, example_names
from .spec import Spec, load_spec, parse_spec

__all__ = ["train", "load_spec", "parse_spec", "example", "example_names", "Spec",
           "SheetnetError", "SpecError", "WorkbookError"]
__version__ = "0.1.0"
