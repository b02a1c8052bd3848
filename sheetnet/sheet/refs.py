"""Resolvers for ``formulas.StepFormulas``: a quantity of a step as a cell reference (the
formula a workbook holds) or as a name (the equation shown beside it)."""

from __future__ import annotations

import re

from .layout import col_name, sheet_prefix
from .layout import DATA, PARAM_KINDS, PARAMS, SETTING_NAMES, ref, ref_range, setting_name
from ..i18n import _
from ..ops.notation import notation
from ..ops.symbols import Symbols, pretty


class CellRefs:
    """Resolver for StepFormulas: quantities of step ``step`` as references from its sheet."""

    def __init__(self, layout):
        self.lay = layout
        self.step = 0
        prefix = layout.sheets.prefix  # runs that share a workbook: adam_eta, sgd_eta, …
        self.names = {n: setting_name(n, prefix) for n in SETTING_NAMES.values()} if prefix else {}

    # a quoted sheet name or a string, kept; else a name not followed by "(" (a function)
    _TOKEN = re.compile(r"'[^']*'|\"[^\"]*\"|(?<![\w.])([A-Za-z_][\w.]*)(?![\w.(!])")

    def named(self, text: str) -> str:
        """``text`` with the settings' names as this run's workbook-wide names."""
        if not self.names:
            return text
        return self._TOKEN.sub(lambda m: self.names.get(m.group(1), m.group(0)) if m.group(1) else m.group(0), text)

    def at(self):
        return self.lay.sheet(self.step)

    def one(self, kind, layer, item, pos=0):
        return ref(self.lay.cell(kind, layer, item, self.step, pos), self.at())

    def span(self, kind, layer, items, positions):
        first = self.lay.cell(kind, layer, items[0], self.step, positions[0])
        last = self.lay.cell(kind, layer, items[1], self.step, positions[1])
        return ref_range(first, last, self.at())

    def source(self, kind, item, step, pos):
        if kind == "p0":
            return ref(self.lay.previous_p1(item, step), self.at())
        return ref(self.lay.sheets.data(kind, int(self.lay.samples(step)[pos]), item), self.at())

    def prev(self, state, idx, step):
        cell = self.lay.previous_state(state, idx, step)
        return None if cell is None else ref(cell, self.at())

    def setting(self, key):
        return SETTING_NAMES[key]

    def batch(self, step):
        return len(self.lay.samples(step))

    def max_batch(self):
        return self.lay.max_batch

    def epoch(self, step):
        return self.lay.epoch(step)

    def step_number(self, step):
        return self.lay.step_number(step)


class EpochRefs(CellRefs):
    """Resolver for StepFormulas on the Epochs sheet (layout.EpochGrid): the quantities of one
    sample of one set (``at_sample``) with the parameters after one epoch; its inputs and
    targets on the Data sheet, the parameters on the Losses sheet (the start: Parameters)."""

    ROW, PARAM_ROW = "\x01", "\x02"  # in a template: the sample's row, the epoch's parameter row

    def __init__(self, layout, grid):
        super().__init__(layout)
        self.grid = grid
        self.i, self.which, self.n = 0, "training", 0
        self.template = False  # give the rows as ROW and PARAM_ROW (an epoch after the first)

    def at_sample(self, i: int, which: str, n: int):
        self.i, self.which, self.n = i, which, n

    def at(self):
        return self.grid.sheet

    def _ref(self, cell, token):
        if not self.template:
            return ref(cell, self.grid.sheet)
        return (sheet_prefix(cell.sheet) if cell.sheet != self.grid.sheet else "") + col_name(cell.col) + token

    def one(self, kind, layer, item, pos=0):
        g = self.grid
        if kind in ("in", "t"):
            return ref(g.data(self.which, kind, self.n, item), g.sheet)
        if kind == "p0":
            return self._ref(g.param(self.i, item), self.PARAM_ROW)
        return self._ref(g.cell(self.i, self.which, self.n, kind, layer, item), self.ROW)

    def span(self, kind, layer, items, positions):
        if not self.template:
            g = self.grid
            if kind == "p0":
                return ref_range(g.param(self.i, items[0]), g.param(self.i, items[1]), g.sheet)
            return ref_range(g.cell(self.i, self.which, self.n, kind, layer, items[0]),
                             g.cell(self.i, self.which, self.n, kind, layer, items[1]), g.sheet)
        first, last = self.one(kind, layer, items[0]), self.one(kind, layer, items[1])
        if first == last:
            return first
        return first + ":" + last.split("!")[-1]


class NameRefs(CellRefs):
    """Resolver that gives names instead of references: the equation beside each formula, in
    the notation of the reader's source (ops.notation: mazur, wakui or matrix)."""

    def __init__(self, layout, model, notation_name: str = "mazur"):
        super().__init__(layout)
        self.sym = Symbols()
        spec = model.spec
        self.nt = notation(notation_name, spec, model.params)
        self.layer_units = [layer.names for layer in spec.layers[1:]]
        self.w_start = [s.start for s in model.params.w_slices]
        loss = self.nt.loss
        self.scalars = {"loss": loss, "data_loss": f"{loss}_batch", "penalty": "penalty",
                        "L": "J" if loss == "L" else "L", "lr": "η_t"}

    def name(self, kind, layer, item):
        nt = self.nt
        if kind == "in":
            return nt.out(-1, item)
        if kind == "t":
            return nt.target(item)
        if kind == "term":
            return nt.term(item)
        if kind in ("net", "out", "delta"):
            return getattr(nt, kind)(layer, item)
        if kind == "exp":
            return f"e_{self.layer_units[layer][item]}"
        if kind == "p0":
            return nt.param(item)
        if kind == "kernel":
            return nt.param(self.w_start[layer] + item)
        if kind in PARAM_KINDS:
            short = {"gs": "g_n", "p1": "", "m_hat": "m̂", "v_hat": "v̂"}.get(kind, kind)
            label = nt.param(item)
            return f"{short}[{label}]" if short else f"{label}⁺"
        return self.scalars[kind]

    DELTA = {"mazur": "∂E/∂net", "wakui": "∂C/∂z", "matrix": "∂L/∂Z"}

    def section(self, title: str) -> str:
        """A section title (translated) in the notation: δ = ∂C/∂z in Wakui's."""
        return title.replace("∂E/∂net", self.DELTA[self.nt.name])

    def one(self, kind, layer, item, pos=0):
        return self.sym(self.name(kind, layer, item), 0.0)

    def span(self, kind, layer, items, positions):
        if kind in ("loss", "gs"):
            return self.sym(_("{name} over the batch").format(name=self.name(kind, layer, items[0])), 0.0)
        return self.sym(f"{self.name(kind, layer, items[0])}…{self.name(kind, layer, items[1])}", 0.0)

    def source(self, kind, item, step, pos):
        sheet = self.lay.sheets.sheet
        where = {"p0": _("previous step") if step else sheet(PARAMS), "in": sheet(DATA), "t": sheet(DATA)}[kind]
        return self.sym(_("{name} from {where}").format(name=self.name(kind, None, item), where=where), 0.0)

    def prev(self, state, idx, step):
        if self.lay.previous_state(state, idx, step) is None:
            return None
        return self.sym(f"{self.name(state, None, idx)}_prev", 0.0)

    def named(self, text: str) -> str:
        return text

    def setting(self, key):
        return self.sym({"lr": "η", "lr_decay": "lr_decay", "l1": "λ1", "l2": "λ2", "delta": "δ_huber",
                         "momentum": "μ", "beta1": "β1", "beta2": "β2", "alpha": "α", "eps": "ε"}[key], 0.0)

    def equation(self, builder, kind, layer, item, step, pos=0):
        act = builder.m.acts[layer] if kind == "out" else None
        if act is not None and act.elementwise:  # σ(net_h1) reads better than its stable formula
            return act.symbol(self.name("net", layer, item))
        return self.sym.as_names(pretty(builder.formula(kind, layer, item, step, pos)))
