"""A function spec: gradient descent on a function typed in TOML (the first chapter of every source).

    [function]
    f = "x^2 + y^2"
    start = { x = 3, y = 2 }

    [train]
    optimizer = "sgd"      # any optimizer of the registry, with its settings
    lr = 0.1
    steps = 20
    lr_decay = 0.0         # η_k = η / (1 + lr_decay·k), k counting steps from 0

    [compare]              # optional, for `sheetnet compare`: optimizers with their rates,
    adam = 0.1             # or lists: lr = [0.01, 0.1, 1.1]; optimizer = ["sgd", "adam"]

Every error is one line naming the file and the key (and the column of a bad expression).
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..errors import at_key, SpecError, suggest
from ..spec.checks import as_number, as_table, no_unknown
from ..spec.settings import TRAIN_DEFAULTS, Train, parse_train
from .expression import ExpressionError, parse
from .printing import numpy_function
from ..i18n import _

TOP_KEYS = ("name", "function", "train", "compare")
FUNCTION_KEYS = ("f", "start")
TRAIN_KEYS = ("optimizer", "lr", "steps", "momentum", "beta1", "beta2", "alpha", "eps", "lr_decay")
MAX_STEPS = 100_000


@dataclass(frozen=True, eq=False)
class FunctionSpec:
    text: str  # f as typed
    variables: tuple[str, ...]  # in the order of `start`
    start: np.ndarray
    train: Train  # epochs = steps: one step per epoch, so lr_decay counts steps
    name: str = ""
    compare: tuple = ()
    path: str = "<spec>"

    @property
    def steps(self) -> int:
        return self.train.epochs

    @property
    def symbols(self) -> tuple[sp.Symbol, ...]:
        return tuple(sp.Symbol(v, real=True) for v in self.variables)

    @property
    def expr(self) -> sp.Expr:
        return parse(self.text, self.variables)

    def gradient(self) -> list[sp.Expr]:
        """∂f/∂v for every variable v, exact and symbolic."""
        e = self.expr
        return [sp.diff(e, s) for s in self.symbols]

    def with_train(self, **changes) -> "FunctionSpec":
        raw = {**dataclasses.asdict(self.train), **changes}
        return dataclasses.replace(self, train=parse_train(raw, os.path.basename(self.path)))


def is_function_spec(raw: dict) -> bool:
    return isinstance(raw, dict) and "function" in raw and "layers" not in raw


def parse_function_spec(raw: dict, path: str = "<spec>") -> FunctionSpec:
    fname = os.path.basename(path)
    no_unknown(raw, TOP_KEYS, fname)
    name = raw.get("name", "")
    if not isinstance(name, str):
        raise SpecError(_("must be a string"), at_key(fname, "name"))
    t = as_table(raw["function"], "[function]", fname)
    where = f"{fname}, [function]"
    no_unknown(t, FUNCTION_KEYS, where)
    for key in FUNCTION_KEYS:
        if key not in t:
            raise SpecError(_("missing required key '{key}'").format(key=key), where)
    text = t["f"]
    if not isinstance(text, str):
        raise SpecError(_("expected the function as a string, e.g. f = \"x^2 + y^2\""),
            _("{where} key 'f'").format(where=where))
    start = t["start"]
    if not isinstance(start, dict) or not start:
        raise SpecError(_("expected a table of starting values, e.g. start = { x = 3, y = 2 }"),
            _("{where} key 'start'").format(where=where))
    variables = tuple(start)
    for v in variables:
        if not v.isidentifier() or v in ("pi",) or v in _reserved():
            raise SpecError(_("{v} cannot be a variable name").format(
                v=repr(v)), _("{where} key 'start'").format(where=where))
    values = np.array([as_number(start[v], _("{where} key 'start', variable {v}").format(
        where=where, v=repr(v))) for v in variables])
    try:
        expr = parse(text, variables)
    except ExpressionError as e:
        raise SpecError(_("{message} (column {column} of {text})").format(
            message=e.message, column=e.column, text=repr(text)), _("{where} key 'f'").format(where=where)) from None
    unused = [v for v in variables if sp.Symbol(v, real=True) not in expr.free_symbols]
    if unused:
        raise SpecError(_("the function does not use the variable {unused} of the start point").format(
            unused=repr(unused[0])),
                        _("{where} key 'start'").format(where=where))
    train = _parse_train(as_table(raw.get("train", {}), "[train]", fname), fname)
    spec = FunctionSpec(text=text, variables=variables, start=values, train=train, name=name, path=path)
    _check_start(spec, where)
    compare = _parse_compare(as_table(raw.get("compare", {}), "[compare]", fname), fname, train)
    return dataclasses.replace(spec, compare=compare)


def _reserved():
    from .expression import FUNCTIONS
    return set(FUNCTIONS)


def _parse_train(t: dict, fname: str) -> Train:
    where = f"{fname}, [train]"
    for key in t:
        if key not in TRAIN_KEYS:
            hint = " (a function spec counts steps: use 'steps')" if key == "epochs" else suggest(key, TRAIN_KEYS)
            raise SpecError(_("unknown key {key}").format(key=repr(key)) + hint, where)
    raw = {k: v for k, v in t.items() if k != "steps"}
    steps = as_number(t.get("steps", 10), _("{where} key 'steps'").format(where=where), integer=True)
    if not 1 <= steps <= MAX_STEPS:
        raise SpecError(_("must be between 1 and {limit:,}, got {steps}").format(
            limit=MAX_STEPS, steps=steps), _("{where} key 'steps'").format(where=where))
    raw["epochs"] = steps
    return parse_train(raw, fname)


def _check_start(spec: FunctionSpec, where: str):
    """f and its gradient must be finite at the start point."""
    syms = spec.symbols
    with np.errstate(all="ignore"):
        value = float(numpy_function(spec.expr, syms)(*spec.start))
        grads = [float(numpy_function(g, syms)(*spec.start)) for g in spec.gradient()]
    if not math.isfinite(value):
        raise SpecError(_("f is not finite at the start point ({value})").format(
            value=value), _("{where} key 'start'").format(where=where))
    for v, g in zip(spec.variables, grads):
        if not math.isfinite(g):
            raise SpecError(_("∂f/∂{v} is not finite at the start point ({g})").format(
                v=v, g=g), _("{where} key 'start'").format(where=where))


def _parse_compare(t: dict, fname: str, train: Train) -> tuple:
    """Optimizers with their learning rates (adam = 0.1), or lists of lr or optimizer values."""
    from ..ops import OPTIMIZERS

    out = []
    for key, value in t.items():
        where = _("{fname}, [compare] key {key}").format(fname=fname, key=repr(key))
        if isinstance(value, list):
            if key not in ("lr", "optimizer"):
                raise SpecError(_("cannot compare over {key} for a function; choose lr or optimizer").format(
                    key=repr(key)), where)
            if not value:
                raise SpecError(_("expected a list of at least one value"), where)
            for i, v in enumerate(value, start=1):
                try:
                    parse_train({**dataclasses.asdict(train), key: v, **({"eps": None} if key == "optimizer" else {})},
                                fname)
                except SpecError as e:
                    raise SpecError(e.message, f"{where}, item {i}") from None
            out.append((key, tuple(value)))
        else:
            OPTIMIZERS.get_named(key, where)
            lr = as_number(value, where)
            if lr <= 0:
                raise SpecError(_("a learning rate must be > 0, got {lr}").format(lr=lr), where)
            out.append((key, lr))
    if len({isinstance(v, tuple) for _, v in out}) > 1:
        raise SpecError(_("give either optimizers with their learning rates or lists of values, not both"),
                        f"{fname}, [compare]")
    return tuple(out)


def to_toml(spec: FunctionSpec, start=None) -> str:
    """The spec as TOML (``start``: another start point, e.g. a workbook's edited one)."""
    import json

    start = spec.start if start is None else start
    lines = []
    if spec.name:
        lines.append(f"name = {json.dumps(spec.name, ensure_ascii=False)}\n")
    lines += ["[function]", f"f = {json.dumps(spec.text, ensure_ascii=False)}",
              "start = { " + ", ".join(f"{v} = {float(x)!r}" for v, x in zip(spec.variables, start)) + " }", "",
              "[train]"]
    for key in TRAIN_KEYS:
        value = spec.steps if key == "steps" else getattr(spec.train, key)
        lines.append(f"{key} = {json.dumps(value) if isinstance(value, str) else repr(value)}")
    if spec.compare:
        lines += ["", "[compare]"]
        for key, value in spec.compare:
            lines.append(f"{key} = {json.dumps(list(value)) if isinstance(value, tuple) else repr(value)}")
    return "\n".join(lines) + "\n"


assert set(TRAIN_KEYS) - {"steps"} <= set(TRAIN_DEFAULTS)
