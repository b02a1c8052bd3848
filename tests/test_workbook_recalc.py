"""Every formula cell of every workbook, recalculated by LibreOffice and by Gnumeric, equals
the value sheetnet stored with it (which is the engine's value)."""

from __future__ import annotations

import pytest

from corpus import corpus
from registry_book import COVERED
from sheetnet.book.check import compare
from sheetnet.ops import ACTIVATIONS, LOSSES, OPTIMIZERS

NAMES = sorted(corpus()) + ["mazur", "registry"]


@pytest.mark.parametrize("engine", ["lo", "gnumeric"])
@pytest.mark.parametrize("name", NAMES)
def test_every_formula_cell_recalculates_to_the_stored_value(corpus_books, engine, name):
    recalced = corpus_books.recalced(engine)[name]
    n, bad = compare(corpus_books.paths[name], recalced, rtol=1e-9, atol=1e-12)
    assert n > 0
    assert not bad, f"{len(bad)} of {n} cells differ; first: " + "; ".join(map(str, bad[:5]))


def test_the_registry_book_covers_every_entry(corpus_books):
    assert COVERED["activations"] == set(ACTIVATIONS)
    assert COVERED["losses"] == set(LOSSES)
    assert COVERED["optimizers"] == set(OPTIMIZERS)


def test_corpus_covers_every_setting():
    specs = [d for d, _ in corpus().values()]
    layers = {layer.get("activation") for d in specs for layer in d["layers"]}
    assert set(ACTIVATIONS) <= layers
    assert {(d["loss"]["kind"], d["loss"]["reduction"]) for d in specs} >= {(k, r) for k in LOSSES
                                                                               for r in ("mean", "sum")}
    assert {d["train"]["optimizer"] for d in specs} == set(OPTIMIZERS)
    trains = [d["train"] for d in specs]
    for key in ("l1", "l2", "lr_decay", "freeze_biases", "shuffle"):
        assert any(t.get(key) for t in trains), key
    assert any(t["batch_size"] == 1 for t in trains)
    assert any(t["batch_size"] > 1 and len(d["data"]["inputs"]) % t["batch_size"] for d, t in
               zip(specs, trains)), "a mini-batch run with a short last batch"
    assert {lay for _, lay in corpus().values()} == {"steps", "compact"}


def test_mazur_10k_history_after_libreoffice_recalculation(corpus_books):
    from sheetnet.book.cells import read_cells
    path = corpus_books.recalced("lo")["mazur-10k"]
    hist = read_cells(path, sheets=["Losses"])["Losses"]
    step_col = {v: r for (r, c), (_, v) in hist.items() if c == 0 and isinstance(v, float)}
    row = step_col[10000.0]
    assert f"{hist[(row, 2)][1]:.10f}" == "0.0000351085"  # Mazur: "0.0000351085"
