"""Where every cell of a function workbook is (the function mode's one owner of addresses).

Steps sheet: a title, the equations, the column heads, then one row per step k (from 0): the step
number, η_k, the point θ_k, f(θ_k), ∂f/∂v for each variable, the optimizer's state and the
updated point θ_{k+1}; a last row holds the end point and its f.  To the right, a landscape:
f on a grid around the path (a curve for one variable, a coloured table for two).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ops import OPTIMIZERS
from ..sheet.layout import Cell, setting_name

GUIDE, SETTINGS, STEPS, META = "Guide", "Settings", "Steps", "_sheetnet"
FIRST_ROW = 4  # of the steps
SETTINGS_FIRST_ROW = 2
SETTING_NAMES = {"lr": "eta", "lr_decay": "lr_decay", "momentum": "momentum", "beta1": "beta_1", "beta2": "beta_2",
                 "alpha": "alpha", "eps": "eps"}  # defined names: none reads as a cell reference
GRID = 21  # landscape points per variable


@dataclass
class FunctionLayout:
    variables: tuple[str, ...]
    optimizer: str
    steps: int
    prefix: str = ""  # several runs in one workbook: "adam " names "adam Settings", "adam Steps", adam_eta

    def __post_init__(self):
        self.settings_sheet, self.steps_sheet = self.prefix + SETTINGS, self.prefix + STEPS
        opt = OPTIMIZERS[self.optimizer]
        self.settings = ["lr", "lr_decay", *opt.hyper]
        self.state_names = (*opt.state, *opt.shown)
        n = len(self.variables)
        self.columns = {"step": 0, "lr": 1}
        col = 2
        for group in ("x", "f", "g", *[f"s:{s}" for s in self.state_names], "x+"):
            self.columns[group] = col
            col += 1 if group == "f" else n
        self.width = col
        self.landscape_col = col + 1

    # Settings
    def setting(self, key: str) -> Cell:
        return Cell(self.settings_sheet, SETTINGS_FIRST_ROW + self.settings.index(key), 1)

    def start(self, j: int) -> Cell:
        return Cell(self.settings_sheet, SETTINGS_FIRST_ROW + len(self.settings) + 1 + j, 1)

    def name(self, key: str) -> str:
        """The workbook-wide name of a setting (``eta``, ``adam_eta``)."""
        return setting_name(SETTING_NAMES[key], self.prefix)

    def start_name(self, variable: str) -> str:
        return setting_name(f"start_{variable}", self.prefix)

    # Steps
    def row(self, k: int) -> int:
        return FIRST_ROW + k

    def cell(self, group: str, k: int, j: int = 0) -> Cell:
        """``group``: step, lr, x (variable j), f, g (∂f/∂ variable j), s:<state> (of variable j), x+."""
        return Cell(self.steps_sheet, self.row(k), self.columns[group] + (0 if group in ("step", "lr", "f") else j))

    def answers(self, k: int):
        """(group, variable index) of the cells a student computes in step k: the partial
        derivatives, the optimizer's state and the updated point, in order of computation."""
        n = len(self.variables)
        yield from (("g", j) for j in range(n))
        for j in range(n):
            yield from ((f"s:{s}", j) for s in self.state_names)
            yield "x+", j

    # the landscape: a grid of f around the path, its title in the row above
    FIRST_ROW_OF_LANDSCAPE = FIRST_ROW + 1

    def grid_axis(self, axis: int, i: int) -> Cell:
        """The i-th grid value of variable ``axis`` (0: down the first column, 1: along the top row)."""
        top = FIRST_ROW + 1
        if axis == 0:
            return Cell(self.steps_sheet, top + 1 + i, self.landscape_col)
        return Cell(self.steps_sheet, top, self.landscape_col + 1 + i)

    def grid_value(self, i: int, j: int = 0) -> Cell:
        return Cell(self.steps_sheet, FIRST_ROW + 2 + i, self.landscape_col + 1 + j)
