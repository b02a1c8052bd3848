"""The trained network on new inputs: ``sheetnet predict BOOK.xlsx|SPEC INPUTS.csv``.

The network is a workbook's (its last step's parameters, as the workbook now says, edits
included) or a spec's (trained now).  The inputs are a CSV file whose header names the network's
inputs as its data does: the spec's ``input_columns`` for CSV data, otherwise the input units'
names (``i1, i2`` or ``x1_1 … x4_3`` for an image).  If the file also has the target columns, each
row says whether the network's class is the target's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .engine.evaluate import right, target_kind
from .engine.training import Model
from .errors import SheetnetError
from .spec.data import numbers, read_table
from .i18n import _


@dataclass
class Predictions:
    outputs: np.ndarray  # (rows, output units)
    classes: list[str] | None  # the network's class per row (None: the targets are not classes)
    right: np.ndarray | None  # per row, where the file has targets and they are classes
    rows: list[int]  # each row's number in the file
    output_names: tuple[str, ...]


def network(source: str):
    """(spec, final parameters θ) of a workbook (as edited) or of a spec or example trained now."""
    if source.lower().endswith((".xlsx", ".xlsm")):
        from .book.reader import final_state, open_book

        book = open_book(source)
        return book.spec, final_state(book).theta
    from .engine.training import train
    from .examples import resolve

    spec = resolve(source)
    return spec, train(spec, record=False).final_theta


def column_names(spec) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The CSV columns of the network's inputs and targets, as its data names them."""
    data = spec.data
    if data.input_columns is not None:
        return data.input_columns, data.target_columns
    return spec.layers[0].names, spec.layers[-1].names


def class_names(spec, outputs: np.ndarray) -> list[str] | None:
    """The class of each row of outputs, by the kind of the training targets."""
    kind, names = target_kind(spec.data.targets), spec.layers[-1].names
    if kind == "one-hot":
        return [names[k] for k in outputs.argmax(axis=1)]
    if kind == "binary":
        return ["1" if y >= 0.5 else "0" for y in outputs[:, 0]]
    if kind == "sign":
        return [" ".join("+1" if y > 0 else "-1" for y in row) for row in outputs]
    return None


def predict(spec, theta, path: str) -> Predictions:
    """Run the network of ``spec`` with parameters ``theta`` on the rows of the CSV file ``path``."""
    rel = os.path.basename(path)
    header, body = read_table(path, rel)
    inputs, targets = column_names(spec)
    missing = [c for c in inputs if c not in header]
    if missing:
        raise SheetnetError(_("no column {missing}: the network's inputs are ").format(
            missing=repr(missing[0])) + ", ".join(inputs), rel)
    if not body:
        raise SheetnetError(_("the CSV file has a header but no rows"), rel)
    x = numbers(header, body, inputs, rel)
    y = Model(spec).forward(theta, x)[-1][1]
    hits = None
    if all(c in header for c in targets):
        hits = right(y, numbers(header, body, targets, rel))
    return Predictions(outputs=y, classes=class_names(spec, y), right=hits, rows=[r for r, _ in body],
                       output_names=tuple(spec.layers[-1].names))
