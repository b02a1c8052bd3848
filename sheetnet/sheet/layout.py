"""Pure geometry: which cell of which sheet holds which number.  The only module that
builds A1 references (through ``xlsxwriter.utility``); the writer and the reader both
find cells here.

A step is a list of *blocks*: the net inputs of a layer, its outputs, the per-sample
losses, the batch gradient of every parameter, and so on.  A block has ``items`` (units,
or parameters) and is either per sample (one value per sample of the batch) or not.
Two geometries place the same blocks:

* ``StepsLayout`` — one sheet per step, the way a textbook prints a worked step: a row per
  unit and quantity, a column per sample; then a parameter table, a row per parameter and
  a column per quantity (start, gradients, optimizer state, updated).
* ``CompactLayout`` — one row per step on a single sheet ``Run`` (as fast.ai's spreadsheets
  do), for long runs.  Inputs, targets and the parameters at the start of a step are not
  copied there: formulas point at the Data sheet and at the previous row's updated values.

Row and column numbers are 0-based, as XlsxWriter's API takes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .. import i18n
from ..i18n import N_, gettext_in
from xlsxwriter.utility import quote_sheetname, xl_col_to_name, xl_rowcol_to_cell

# Excel's limits (Excel 2007+)
MAX_ROWS = 1_048_576
MAX_COLS = 16_384
MAX_FORMULA = 8_192
MAX_SHEET_NAME = 31
# characters of a column of computed values: the widest a value shows, -3.71504283E-04 (15),
# with a margin, so that LibreOffice at default zoom shows no ### (gallery checked by rendering)
VALUE_WIDTH = 16
MAX_STEP_SHEETS = 200  # --layout steps past this is no longer a book to page through

# ("History" is reserved by English Excel: its interface will not name a sheet so)
# the sheets' names in English; a workbook written in another language has them translated
# (sheet_name), and its hidden sheet says which language (the formulas refer to the names)
SETTINGS, DATA, PARAMS, HISTORY, GUIDE, RUN = N_("Settings"), N_("Data"), N_("Parameters"), N_("Losses"), \
    N_("Guide"), N_("Run")
EPOCHS, GRADIENTS = N_("Epochs"), N_("Gradients")
STEP_SHEET = N_("Step {n}")
# of the workbook; 2: sheet Losses (was History), names beta_1/beta_2, adam_eta; 3: the Epochs and
# Gradients sheets, the test set on the Data sheet
FORMAT_VERSION = 3
META = "_sheetnet"  # hidden: format version, layout, exercise, start, the spec as TOML
META_SPEC_ROW = 6  # the TOML, one line per row, from here

# defined names of the settings, as formulas use them: none may read as a cell reference
# in any engine (letters then digits, like l1 or beta1, is a column and a row under the
# OpenDocument rule and in engines with wide sheets), hence the underscores
SETTING_NAMES = {"lr": "eta", "momentum": "momentum", "beta1": "beta_1", "beta2": "beta_2", "alpha": "alpha",
                 "eps": "eps", "l1": "lambda_l1", "l2": "lambda_l2", "lr_decay": "lr_decay", "delta": "huber_delta"}
SETTINGS_FIRST_ROW = 3


def sheet_name(base: str, language: str = "en") -> str:
    """The name of sheet ``base`` (SETTINGS, …, or "Step 3") in a workbook written in ``language``."""
    if base.startswith("Step ") and base[5:].isdigit():
        return gettext_in(language, STEP_SHEET).format(n=base[5:])
    return gettext_in(language, base)


def setting_name(name: str, prefix: str = "") -> str:
    """The workbook-wide name of a setting: ``eta``, or ``adam_eta`` for the run whose sheets
    are prefixed ``adam `` (Google Sheets has no names local to a sheet)."""
    label = "".join(c if c.isalnum() else "_" for c in prefix.strip())
    return f"{label}_{name}" if label else name


@dataclass(frozen=True)
class Cell:
    sheet: str
    row: int
    col: int

    def a1(self, absolute: bool = False) -> str:
        if not absolute:
            return a1(self.row, self.col)
        return xl_rowcol_to_cell(self.row, self.col, row_abs=absolute, col_abs=absolute)

    def where(self, absolute: bool = False) -> str:
        """``'Step 1'!C7``: the reference with its sheet, for messages and defined names."""
        return qualified(self.sheet, self.a1(absolute))


@lru_cache(maxsize=4096)
def sheet_prefix(sheet: str) -> str:
    """``'Step 1'!`` — the sheet part of a reference, quoted when needed."""
    return quote_sheetname(sheet) + "!"


_COLUMN_NAMES: list[str] = []


def a1(row: int, col: int) -> str:
    """``C7`` from 0-based (6, 2): relative, the column letters cached (the writer's inner loop)."""
    try:
        return _COLUMN_NAMES[col] + str(row + 1)
    except IndexError:
        return col_name(col) + str(row + 1)


def qualified(sheet: str, a1: str) -> str:
    """``'Step 1'!C7`` from a sheet name and an A1 reference."""
    return sheet_prefix(sheet) + a1


def ref(cell: Cell, at: str, absolute: bool = False) -> str:
    """Reference to ``cell`` from a formula on sheet ``at``."""
    a1 = cell.a1(absolute)
    return a1 if cell.sheet == at else sheet_prefix(cell.sheet) + a1


def ref_range(first: Cell, last: Cell, at: str) -> str:
    """``C5:C9`` (or ``Data!B2:B9``); a single cell when first == last."""
    if first == last:
        return ref(first, at)
    assert first.sheet == last.sheet
    span = f"{first.a1()}:{last.a1()}"
    return span if first.sheet == at else sheet_prefix(first.sheet) + span


def col_name(col: int) -> str:
    """``A`` for column 0 (cached)."""
    while len(_COLUMN_NAMES) <= col:
        _COLUMN_NAMES.append(xl_col_to_name(len(_COLUMN_NAMES)))
    return _COLUMN_NAMES[col]


@dataclass(frozen=True)
class Block:
    """One quantity of a step: ``kind`` (see KINDS), its layer (or None) and its items."""

    kind: str
    layer: int | None
    items: int
    per_sample: bool

    @property
    def key(self):
        return (self.kind, self.layer)


STATE_KINDS = ("v", "s", "m", "m_hat", "v_hat")  # optimizer state (none for a frozen bias)
PARAM_KINDS = ("p0", "gs", "g", *STATE_KINDS, "p1")  # columns of the parameter table
SCALAR_KINDS = ("lr", "data_loss", "penalty", "L")


def step_blocks(model, max_batch: int) -> list[Block]:
    """The blocks of one step, in computation (textbook) order."""
    spec, P = model.spec, model.params
    sizes = [layer.size for layer in spec.layers]
    out = [Block("in", None, sizes[0], True), Block("t", None, sizes[-1], True)]
    last = len(model.acts) - 1
    for l, act in enumerate(model.acts):
        layer = spec.layers[l + 1]
        if layer.kind == "conv":  # the filters, drawn beside the maps they make (references to the start values)
            out.append(Block("kernel", l, layer.maps[0] * layer.kernel ** 2, False))
        if layer.kind != "maxpool":  # a pooled value has no net input
            out.append(Block("net", l, sizes[l + 1], True))
        if act.name == "softmax":
            out.append(Block("exp", l, sizes[l + 1], True))
        out.append(Block("out", l, sizes[l + 1], True))
    out += [Block("term", None, sizes[-1], True), Block("loss", None, 1, True), Block("data_loss", None, 1, False)]
    if spec.train.l1 or spec.train.l2:
        out += [Block("penalty", None, 1, False), Block("L", None, 1, False)]
    out += [Block("delta", l, sizes[l + 1], True) for l in range(last, -1, -1)]
    out.append(Block("lr", None, 1, False))
    out.append(Block("p0", None, P.size, False))
    if max_batch > 1:
        out.append(Block("gs", None, P.size, True))
    out.append(Block("g", None, P.size, False))
    out += [Block(s, None, P.size, False) for s in (*model.optimizer.state, *model.optimizer.shown)]
    out.append(Block("p1", None, P.size, False))
    return out


class Sheets:
    """The fixed sheets: Settings, Data and the starting Parameters (the editable inputs).

    A run that continues an earlier one (``start_state``) also has the optimizer state at its
    start on the Parameters sheet: a row per parameter, a column per state vector."""

    def __init__(self, model, start_state: bool = False, prefix: str = "", language: str | None = None):
        self.model = model
        self.prefix = prefix  # several runs in one workbook: "adam " names "adam Settings", "adam Run", …
        self.language = i18n.language if language is None else language  # of the sheet names
        self.n_in = model.spec.layers[0].size
        self.param_origin = []  # per layer: (first row of its matrix, 0-based)
        row = 2
        for o, i in model.params.shapes:
            row += 2  # title, header
            self.param_origin.append(row)
            row += o + 1
        self.state_names = model.optimizer.state if start_state else ()
        self.state_origin = row + 2  # title, header above it

    def sheet(self, base: str) -> str:
        """The name of one of the run's sheets (``Settings``, ``Run``, ``Step 3``, …) in this workbook."""
        return self.prefix + sheet_name(base, self.language)

    def start_state(self, name: str, idx: int) -> Cell:
        """The optimizer state ``name`` of parameter ``idx`` at the start of a continued run."""
        return Cell(self.sheet(PARAMS), self.state_origin + idx, 1 + self.state_names.index(name))

    def setting(self, key: str) -> Cell:
        return Cell(self.sheet(SETTINGS), SETTINGS_FIRST_ROW + list(SETTING_NAMES).index(key), 1)

    def data(self, kind: str, sample: int, item: int) -> Cell:
        """Input ``item`` (kind "in") or target ``item`` ("t") of sample ``sample`` on the Data sheet."""
        col = 1 + item if kind == "in" else 1 + self.n_in + item
        return Cell(self.sheet(DATA), 3 + sample, col)

    def data_header_row(self) -> int:
        return 2

    def test_data(self, kind: str, sample: int, item: int) -> Cell:
        """Input or target ``item`` of test sample ``sample``: below the training rows, after a
        blank row, a title and a header."""
        return self.data(kind, len(self.model.spec.data.inputs) + 3 + sample, item)

    def test_header_row(self) -> int:
        return 3 + len(self.model.spec.data.inputs) + 2

    HISTORY_FIRST_ROW = 3
    HISTORY_PARAMS_COL = 14  # the table of parameters after each epoch, right of the chart

    def history_loss(self, step: int) -> Cell:
        return Cell(self.sheet(HISTORY), self.HISTORY_FIRST_ROW + step, 2)

    def history_param(self, epoch: int, idx: int) -> Cell:
        return Cell(self.sheet(HISTORY), self.HISTORY_FIRST_ROW + epoch, self.HISTORY_PARAMS_COL + 1 + idx)

    def param(self, idx: int) -> Cell:
        """Starting value of parameter ``idx``: weight (j, i) at column 1+i, bias in the last column."""
        P = self.model.params
        for l, (o, i) in enumerate(P.shapes):
            if P.slices[l].start <= idx < P.slices[l].stop:
                off = idx - P.slices[l].start
                row0 = self.param_origin[l]
                if off < o * i:
                    return Cell(self.sheet(PARAMS), row0 + off // i, 1 + off % i)
                return Cell(self.sheet(PARAMS), row0 + off - o * i, 1 + i)
        raise IndexError(idx)


class _Layout:
    """What both geometries share: the run's steps, its sample order and the fixed sheets."""

    def __init__(self, model, steps, orders, start=None, prefix="", language=None):
        self.model, self.steps, self.orders = model, steps, orders
        self.n_steps = len(steps)
        self.max_batch = max(hi - lo for _, lo, hi in steps)
        self.start_step = start.step if start is not None else 0
        self.start_epoch = start.epoch if start is not None else 0
        self.sheets = Sheets(model, start_state=self.start_step > 0 and bool(model.optimizer.state), prefix=prefix,
                             language=language)
        self.blocks = step_blocks(model, self.max_batch)
        self.items = {b.key: b.items for b in self.blocks}
        self.per_sample_keys = {b.key: b.per_sample for b in self.blocks}

    def samples(self, step: int):
        """Indices (rows of the Data sheet) of the samples of ``step``, in batch order."""
        e, lo, hi = self.steps[step]
        return self.orders[e, lo:hi]

    def previous_p1(self, idx: int, step: int) -> Cell:
        """Where parameter ``idx`` stands at the start of ``step``: the step before's update,
        or the Parameters sheet for the first step."""
        return self.cell("p1", None, idx, step - 1) if step else self.sheets.param(idx)

    def epoch(self, step: int) -> int:
        """The epoch of ``step``, counted over the whole run (a continued run counts on)."""
        return self.start_epoch + self.steps[step][0]

    def step_number(self, step: int) -> int:
        """t of ``step``, from 1, counted over the whole run."""
        return self.start_step + step + 1

    def previous_state(self, name: str, idx: int, step: int):
        """Where the optimizer state ``name`` of parameter ``idx`` stands before ``step``
        (None: it starts at 0)."""
        if step:
            return self.cell(name, None, idx, step - 1)
        return self.sheets.start_state(name, idx) if self.sheets.state_names else None

    def per_sample(self, kind: str, layer) -> bool:
        """Does the quantity have one value per sample of the batch (and the batch more than one)?"""
        return self.max_batch > 1 and self.per_sample_keys.get((kind, layer), False)

    def frozen(self, idx: int) -> bool:
        """A bias kept at its starting value (freeze_biases): it has no optimizer state."""
        return self.model.spec.train.freeze_biases and not self.model.params.is_weight[idx]

    def step_cells(self, step: int):
        """(cell, kind, layer, item, pos) of every cell written for ``step``, in computation order."""
        batch = len(self.samples(step))
        for b in self.blocks:
            if not self.materialized(b.kind):
                continue
            for item in range(b.items):
                if b.kind in STATE_KINDS and self.frozen(item):
                    continue
                for pos in range(batch if b.per_sample else 1):
                    yield self.cell(b.kind, b.layer, item, step, pos), b.kind, b.layer, item, pos

    def epoch_ends(self) -> list[int]:
        """The last step of every epoch."""
        last = {}
        for k, (e, _, _) in enumerate(self.steps):
            last[e] = k
        return [last[e] for e in sorted(last)]

    def loss_kind(self) -> str:
        """The quantity the Losses sheet shows: the batch loss, with the penalty if there is one."""
        return "L" if any(b.kind == "L" for b in self.blocks) else "data_loss"


class StepsLayout(_Layout):
    """One sheet per step: rows = units × quantities, columns = samples; then the parameter table.

    Images and feature maps are drawn as little square grids, the way the Wakui book's sheets
    draw them, in a panel right of the sample columns (narrow columns of their own): a band per
    sample, its blocks side by side (the image, the filters, each layer's net and out maps, the
    pooled maps, then their deltas), the maps of a block one under the other, so that filter f's
    maps line up across the band.  A grid block also keeps one row on the left: its label and
    equation."""

    name = "steps"
    HEAD_ROWS = 4  # title, subtitle, blank, column header
    FIRST_COL = 2  # A: quantity, B: equation, C…: values
    GRID_COL_WIDTH = 6  # characters: a grid cell of 3 decimals in a 9-point font

    def __init__(self, model, steps, orders, start=None, prefix="", language=None):
        super().__init__(model, steps, orders, start, prefix, language)
        self.rows: dict = {}
        self.grids: dict = {}  # block key -> (F, H, W) for blocks drawn as grids
        self.grid_cols: dict = {}  # block key -> its first column in the panel
        self.section_rows: list[tuple[int, str]] = []  # (row of the heading, section)
        self.sample_header_rows: list[int] = []  # rows naming the samples above their columns
        row, section = self.HEAD_ROWS, None
        pcol = self.FIRST_COL
        self.param_cols: dict = {}
        for b in self.blocks:
            if b.kind in PARAM_KINDS:
                self.param_cols[b.kind] = pcol
                pcol += self.max_batch if b.kind == "gs" else 1
        # the panel of grids: right of the sample columns and of the parameter table's columns
        self.panel_col = max(self.FIRST_COL + self.max_batch, pcol) + 1  # one empty column before it
        col = self.panel_col
        tallest = 0
        for b in self.blocks:
            if b.kind in PARAM_KINDS:
                continue
            if SECTION_OF[b.kind] != section:
                section = SECTION_OF[b.kind]
                self.section_rows.append((row, section))
                row += 1
            grid = self.grid_of(b)
            if grid is not None:
                F, H, W = grid
                self.grids[b.key] = grid
                self.grid_cols[b.key] = col
                col += W + 1
                tallest = max(tallest, F * (H + 1))
                self.rows[b.key] = row  # its label and equation
                row += 1
            else:
                self.rows[b.key] = row
                row += b.items
        self.panel_top = self.HEAD_ROWS
        self.band_height = 1 + tallest  # a header row, then the maps (a blank row below each)
        panel_bottom = self.panel_top + (self.max_batch * self.band_height if self.grids else 0)
        self.param_header_row = max(row, panel_bottom) + 1
        self.param_first_row = self.param_header_row + 1
        self.n_rows = self.param_first_row + model.params.size
        self.panel_end = col  # one past the panel's last column
        self.n_cols = max(pcol, self.FIRST_COL + self.max_batch, col if self.grids else 0)

    def band_top(self, pos: int) -> int:
        """The header row of sample ``pos``'s band of grids."""
        return self.panel_top + pos * self.band_height

    def grid_map_origin(self, key, m: int, pos: int) -> tuple[int, int]:
        """(row, col) of map ``m``'s top-left cell in sample ``pos``'s band."""
        F, H, W = self.grids[key]
        return self.band_top(pos) + 1 + m * (H + 1), self.grid_cols[key]

    def grid_of(self, block):
        """(maps, height, width) if ``block`` is an image or feature maps, else None."""
        layers = self.model.spec.layers
        if block.kind == "in" and layers[0].shape is not None and len(layers[0].shape) == 2:
            return (1, *layers[0].shape)
        if block.kind == "kernel":
            layer = layers[block.layer + 1]
            return layer.maps[0], layer.kernel, layer.kernel
        if block.layer is not None and layers[block.layer + 1].maps is not None:
            return layers[block.layer + 1].maps
        return None

    def sheet(self, step: int) -> str:
        return self.sheets.sheet(f"Step {step + 1}")

    def materialized(self, kind: str) -> bool:
        return True

    def cell(self, kind: str, layer, item: int, step: int, pos: int = 0) -> Cell:
        sheet = self.sheet(step)
        if kind in PARAM_KINDS:
            col = self.param_cols[kind] + (pos if kind == "gs" else 0)
            return Cell(sheet, self.param_first_row + item, col)
        grid = self.grids.get((kind, layer))
        if grid is not None:
            F, H, W = grid
            f, r, c = item // (H * W), (item // W) % H, item % W
            row, col = self.grid_map_origin((kind, layer), f, pos)
            return Cell(sheet, row + r, col + c)
        return Cell(sheet, self.rows[(kind, layer)] + item, self.FIRST_COL + pos)


class CompactLayout(_Layout):
    """One row per step on the sheet ``Run``; inputs, targets and starting parameters are
    not copied: formulas point at the Data sheet and at the previous row."""

    name = "compact"
    HEAD_ROWS = 4  # title, group, quantity, equation
    LEAD_COLS = 2  # A: step, B: epoch

    def __init__(self, model, steps, orders, start=None, prefix="", language=None):
        super().__init__(model, steps, orders, start, prefix, language)
        self.B = self.max_batch
        self.cols: dict = {}
        col = self.LEAD_COLS
        for b in self.blocks:
            if not self.materialized(b.kind):
                continue
            self.cols[b.key] = col
            col += b.items * (self.B if b.per_sample else 1)
        self.n_cols = col
        self.n_rows = self.HEAD_ROWS + self.n_steps

    def sheet(self, step: int) -> str:
        return self.sheets.sheet(RUN)

    def materialized(self, kind: str) -> bool:
        return kind not in ("in", "t", "p0", "kernel")

    def row(self, step: int) -> int:
        return self.HEAD_ROWS + step

    def cell(self, kind: str, layer, item: int, step: int, pos: int = 0) -> Cell:
        if kind in ("in", "t"):
            return self.sheets.data(kind, int(self.samples(step)[pos]), item)
        if kind == "p0":
            return self.previous_p1(item, step)
        if kind == "kernel":
            return self.previous_p1(self.model.params.w_slices[layer].start + item, step)
        col = self.cols[(kind, layer)]
        if kind == "gs":  # positions of one parameter side by side (for AVERAGE over the batch)
            col += item * self.B + pos
        elif kind in ("term", "net", "exp", "out", "delta", "loss"):  # the units of one sample side by side
            col += pos * self.items[(kind, layer)] + item
        else:
            col += item
        return Cell(self.sheets.sheet(RUN), self.row(step), col)


SECTION_OF = {"in": "data", "t": "data", "kernel": "forward", "net": "forward", "exp": "forward", "out": "forward", "term": "loss",
              "loss": "loss", "data_loss": "loss", "penalty": "loss", "L": "loss", "delta": "backward",
              "lr": "lr"}
EXERCISE_SECTIONS = {  # what `sheetnet exercise --blank …` leaves for the student to fill in
    "forward": ("net", "exp", "out"),
    "loss": ("term", "loss", "data_loss", "penalty", "L"),
    "backward": ("delta",),
    "update": ("gs", "g", *STATE_KINDS, "p1"),
}
SECTION_TITLES = {"data": N_("Inputs and targets of the batch"), "forward": N_("Forward pass"),
                  "loss": N_("Loss"), "backward": N_("Backward pass: δ = ∂E/∂net"), "lr": N_("Learning rate in force"),
                  "update": N_("Gradients and update")}  # translated where written


def choose_layout(model, steps, orders, layout: str = "auto", max_step_sheets: int = 30, start=None, prefix="",
                  language=None):
    """The layout to write (``auto``: a sheet per step for short runs, one row per step
    otherwise), checked against Excel's limits; raises ValueError saying what to change."""
    n_steps = len(steps)
    if layout == "auto":
        layout = "steps" if n_steps <= max_step_sheets else "compact"
    elif layout == "steps" and n_steps > MAX_STEP_SHEETS:
        raise ValueError(f"--layout steps would write {n_steps:,} step sheets, more than {MAX_STEP_SHEETS}; "
                         "use --layout compact (one row per step) or train for fewer epochs")
    lay = (StepsLayout if layout == "steps" else CompactLayout)(model, steps, orders, start, prefix, language)
    if lay.n_rows > MAX_ROWS:
        raise ValueError(f"{n_steps} steps need {lay.n_rows:,} rows, more than Excel's {MAX_ROWS:,}; "
                         "train for fewer epochs or with larger batches")
    if lay.n_cols > MAX_COLS:
        raise ValueError(f"the {lay.name} layout needs {lay.n_cols:,} columns, more than Excel's {MAX_COLS:,}; "
                         "use smaller batches or a smaller network"
                         + (", or --layout steps" if lay.name == "compact" else ""))
    return lay


EVAL_CELLS = 60_000  # formula cells of the Epochs sheet's sample rows; past it, epochs are thinned
EVAL_KINDS = ("net", "exp", "out", "term", "loss")  # the forward pass of a sample, then its loss


class EpochGrid:
    """The Epochs sheet: the whole training set (and test set) evaluated with the parameters
    after each epoch (the start first).

    On top a table, a row per evaluated epoch: loss, right answers and accuracy of each set.
    Below it a row per (epoch, set, sample): the forward pass, the loss terms, the sample's
    loss and whether its answer is right, as formulas on the Data sheet and on the
    parameters after that epoch (the Losses sheet's table; the start: Parameters).  Past
    ``budget`` cells the epochs are thinned (every k-th and the last); when even the start and
    the last epoch do not fit, there are no sample rows and the table holds the engine's
    numbers (``live`` False)."""

    SUMMARY_HEAD = 3
    CHART_ROWS = 22  # the chart right of the table; the sample rows start below both

    def __init__(self, lay, classes: bool, budget: int = EVAL_CELLS):
        spec = lay.model.spec
        self.lay, self.sheet, self.classes, self.budget = lay, lay.sheets.sheet(EPOCHS), classes, budget
        self.n_train = len(spec.data.inputs)
        self.n_test = 0 if spec.data.test_inputs is None else len(spec.data.test_inputs)
        self.quantities = [(b.kind, b.layer, i) for b in lay.blocks if b.kind in EVAL_KINDS for i in range(b.items)]
        if classes:
            self.quantities.append(("right", None, 0))
        self.col_of = {q: 3 + j for j, q in enumerate(self.quantities)}
        self.ends = lay.epoch_ends()
        n = len(self.ends) + 1  # the start, then after each epoch
        per_epoch = (self.n_train + self.n_test) * len(self.quantities)
        self.cells_per_epoch = per_epoch
        self.live = 2 * per_epoch <= budget or n * per_epoch <= budget
        stride = 1
        while self.live and len(self._every(n, stride)) * per_epoch > budget:
            stride += 1
        self.stride = stride
        self.epochs = self._every(n, stride) if self.live else list(range(n))  # indices: 0 = the start
        sets = [("training", self.n_train)] + ([("test", self.n_test)] if self.n_test else [])
        self.summary_cols = {"epoch": 0}
        for name, _ in sets:
            for what in ("loss", "right", "accuracy") if classes else ("loss",):
                self.summary_cols[(name, what)] = len(self.summary_cols)
        self.sets = [name for name, _ in sets]
        self.chart_col = len(self.summary_cols) + 1
        self.keep(len(self.epochs))

    def keep(self, count: int):
        """Keep only the first ``count`` evaluated epochs (the rest would not be finite)."""
        self.epochs = self.epochs[:count]
        self.title_row = max(self.SUMMARY_HEAD + len(self.epochs) + 2, self.CHART_ROWS + 2)
        self.head_row = self.title_row + 1

    @staticmethod
    def _every(n: int, stride: int) -> list[int]:
        return sorted(set(range(0, n, stride)) | {n - 1})

    def epoch_number(self, i: int) -> int:
        """The epoch after which row i of the table is evaluated (counted over the whole run)."""
        return self.lay.start_epoch + self.epochs[i]

    def summary(self, i: int, what) -> Cell:
        """Row i of the table; ``what``: "epoch" or (set, "loss" | "right" | "accuracy")."""
        return Cell(self.sheet, self.SUMMARY_HEAD + 1 + i, self.summary_cols[what])

    def row(self, i: int, which: str, n: int) -> int:
        offset = n if which == "training" else self.n_train + n
        return self.head_row + 1 + i * (self.n_train + self.n_test) + offset

    def cell(self, i: int, which: str, n: int, kind: str, layer, item: int) -> Cell:
        """Quantity (kind, layer, item) of sample n of set ``which`` with the parameters of row i."""
        return Cell(self.sheet, self.row(i, which, n), self.col_of[(kind, layer, item)])

    def data(self, which: str, kind: str, n: int, item: int) -> Cell:
        sheets = self.lay.sheets
        return sheets.data(kind, n, item) if which == "training" else sheets.test_data(kind, n, item)

    def param(self, i: int, idx: int) -> Cell:
        """Parameter ``idx`` after the epoch of row i: the start on Parameters, else the
        Losses sheet's row for that epoch."""
        j = self.epochs[i]
        return self.lay.sheets.param(idx) if j == 0 else self.lay.sheets.history_param(j - 1, idx)

    def theta_index(self, i: int) -> int:
        """Row of ``trace.thetas`` holding the parameters of table row i."""
        j = self.epochs[i]
        return 0 if j == 0 else self.ends[j - 1] + 1


class GradientGrid:
    """The Gradients sheet: a row per step, a column per layer with weights, holding the mean
    |∂L/∂w| over the layer's weights: the gradient cells of that step.  The chart sits above
    the table, so that the picture of the sheet's top is the chart."""

    HEAD = 24

    def __init__(self, lay):
        P = lay.model.params
        self.lay, self.sheet = lay, lay.sheets.sheet(GRADIENTS)
        self.layers = [l for l in range(len(P.shapes)) if P.w_slices[l].stop > P.w_slices[l].start]

    def cell(self, step: int, j: int) -> Cell:
        """Step ``step``'s (0-based) gradient size of the j-th layer with weights."""
        return Cell(self.sheet, self.HEAD + 1 + step, 1 + j)

    def gradient_span(self, step: int, layer: int) -> tuple[Cell, Cell, int]:
        """(first, last, how many) of the gradient cells of the weights of ``layer`` in ``step``."""
        w = self.lay.model.params.w_slices[layer]
        return self.lay.cell("g", None, w.start, step), self.lay.cell("g", None, w.stop - 1, step), w.stop - w.start

    def gradients(self, step: int, layer: int) -> list[Cell]:
        """The gradient cells of the weights of ``layer`` in ``step``."""
        w = self.lay.model.params.w_slices[layer]
        return [self.lay.cell("g", None, idx, step) for idx in range(w.start, w.stop)]


def contiguous(cells: list[Cell]) -> bool:
    """Do the cells make one row or one column, in order, without gaps (a range)?"""
    first = cells[0]
    return all(c.sheet == first.sheet for c in cells) and (
        all(c.col == first.col and c.row == first.row + k for k, c in enumerate(cells))
        or all(c.row == first.row and c.col == first.col + k for k, c in enumerate(cells)))
