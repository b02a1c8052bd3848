"""sheetnet: train small neural networks and see every number, as a table and as a live spreadsheet.

    >>> import sheetnet
    >>> spec = sheetnet.example("mazur")
    >>> trace = sheetnet.train(spec)
    >>> trace.step(1).forward
"""

from .errors import SheetnetError, SpecError, WorkbookError

__all__ = ["train", "load_spec", "parse_spec", "example", "example_names", "Spec",
           "SheetnetError", "SpecError", "WorkbookError"]
__version__ = "0.1.0"

# numpy, pandas and the spreadsheet libraries load on first use, not on import: `sheetnet
# --help` and `--version` start in a fraction of the time (tests/test_startup.py)
_LAZY = {"train": ("engine.training", "train"), "load_spec": ("spec", "load_spec"),
         "parse_spec": ("spec", "parse_spec"), "Spec": ("spec", "Spec"),
         "example": ("examples", "example"), "example_names": ("examples", "example_names"),
         "save_trace": ("engine.export", "save_trace"), "load_trace": ("engine.export", "load_trace")}


_SUBPACKAGES = ("engine", "spec", "sheet", "book", "ops", "examples", "compare", "gallery", "walkthrough")


def __getattr__(name):
    import importlib
    if name in _SUBPACKAGES:  # sheetnet.engine.Model without importing sheetnet.engine first
        return importlib.import_module("." + name, __name__)
    if name not in _LAZY:
        raise AttributeError(f"module 'sheetnet' has no attribute {name!r}")
    module, attr = _LAZY[name]
    value = getattr(importlib.import_module("." + module, __name__), attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
