"""`sheetnet read`: a workbook back as the run it stores (--json) and as the spec it now
describes (--spec), after edits by a script, with stale or missing stored values, and after
a round trip through LibreOffice.

Expected numbers come from ``sheetnet.train`` on specs edited in the test (or the corpus'
training runs), never from the reader.
"""

from __future__ import annotations

import copy
import os

import numpy as np
import pytest

import sheetnet
from corpus import corpus, make
from roundtrip_util import (assert_same_run, assert_same_spec, one_json, run, run_json, set_cells,
                            spec_of, zip_set_values)
from sheetnet.sheet.layout import Sheets
from sheetnet.engine import Model, batches
from sheetnet.book.recalc import recalc_files
from sheetnet.sheet import write_workbook

CORPUS = sorted(corpus())


# --------------------------------------------------------------------------- read --json
@pytest.mark.parametrize("name", ["mazur", "opt-adam", "batch-shuffle", "compact-adam",
                                  "compact-rmsprop-sum", "frozen-adam", "penalties"])
def test_read_json_gives_the_training_run_as_stored(corpus_books, name):
    result = run("read", corpus_books.paths[name], "--json")
    assert result.exit_code == 0, (result.stderr, result.exception)
    got = one_json(result.stdout)
    assert got["recomputed"] is False and result.stderr == ""
    # the workbook caches every value exactly as the run computed it
    assert_same_run(got, run_json(corpus_books.traces[name]), rtol=0)


def test_read_without_json_prints_the_losses_then_the_parameters(corpus_books):
    result = run("read", corpus_books.paths["mazur"])
    assert result.exit_code == 0
    loss = corpus_books.traces["mazur"].loss[0]
    first, *rest = result.stdout.splitlines()
    assert f"{loss:.9g}" in first and "recomputed" not in result.stdout
    rows = [line.split() for line in rest if line.split()[:1] in (["h1"], ["h2"], ["o1"], ["o2"])]
    assert sum(1 for row in rows if row[1][0] in "-0123456789") == 4  # a unit's row, not a column head


# --------------------------------------------------------------------------- spec -> workbook -> spec
def _spec_round_trip(book, tmp_path):
    out = tmp_path / "back.toml"
    result = run("read", book, "--spec", out)
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert result.stdout == "" and "back.toml" in result.stderr
    return sheetnet.load_spec(str(out))


@pytest.mark.parametrize("name", sheetnet.example_names())
def test_spec_round_trip_of_every_example(tmp_path, name):
    """Every built-in example, written and read back.  A long run is cut to its first epochs
    (at most 8 steps, in the layout the whole run would have) to keep the test fast: the
    workbook describes that spec, which is compared field by field."""
    want = sheetnet.example(name)
    per_epoch = len(batches(want.with_train(epochs=1)))
    layout = "compact" if len(batches(want)) > 30 else "steps"  # as "auto" chooses for the whole run
    if len(batches(want)) > 8:
        want = want.with_train(epochs=max(1, 8 // per_epoch))
    book = str(tmp_path / f"{name}.xlsx")
    write_workbook(sheetnet.train(want), book, layout=layout)
    got = _spec_round_trip(book, tmp_path)
    assert_same_spec(got, want)  # exactly: every number is written with all its digits
    np.testing.assert_array_equal(sheetnet.train(got).loss, sheetnet.train(want).loss)


@pytest.mark.parametrize("name", CORPUS)
def test_spec_round_trip_of_the_corpus(corpus_books, tmp_path, name):
    got = _spec_round_trip(corpus_books.paths[name], tmp_path)
    assert_same_spec(got, corpus_books.specs[name])


# --------------------------------------------------------------------------- edits
LAYOUTS = {"steps": dict(n=5, batch_size=2, epochs=2, optimizer="momentum", lr=0.1, lr_decay=0.5, seed=4),
           "compact": dict(n=3, batch_size=1, epochs=12, optimizer="adam", lr=0.05, shuffle=True, seed=5)}
NEW_LR, NEW_INPUT, NEW_WEIGHT = 0.0625, 0.875, -0.375  # sample 2, input 1; weight W1[0][1] (flat index 1)


def _edited_dict(d):
    d = copy.deepcopy(d)
    d["train"]["lr"] = NEW_LR
    d["data"]["inputs"][1][0] = NEW_INPUT
    d["layers"][1]["weights"][0][1] = NEW_WEIGHT
    return d


def _input_cells(spec):
    sheets = Sheets(Model(spec))
    return {"lr": sheets.setting("lr"), "input": sheets.data("in", 1, 0), "weight": sheets.param(1)}


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    """Per layout: the original workbook, a copy edited by openpyxl (eta, a data value and a
    starting weight), and that copy opened and saved by LibreOffice (one start for all)."""
    folder = tmp_path_factory.mktemp("read")
    out = {}
    for layout, kw in LAYOUTS.items():
        d = make(**kw)
        spec = spec_of(d, layout)
        original = str(folder / f"{layout}.xlsx")
        assert write_workbook(sheetnet.train(spec), original, layout=layout) == layout
        cells = _input_cells(spec)
        edited = set_cells(original, str(folder / f"{layout}-edited.xlsx"),
                           {cells["lr"]: NEW_LR, cells["input"]: NEW_INPUT, cells["weight"]: NEW_WEIGHT})
        out[layout] = dict(dict=d, spec=spec, original=original, edited=edited, cells=cells,
                           edited_spec=spec_of(_edited_dict(d), layout))
    outs = recalc_files([b["edited"] for b in out.values()], str(folder / "lo"))
    for b, lo in zip(out.values(), outs):
        b["lo"] = lo
    return out


@pytest.mark.parametrize("layout", LAYOUTS)
def test_read_spec_reflects_edits_made_with_openpyxl(books, tmp_path, layout):
    b = books[layout]
    got = _spec_round_trip(b["edited"], tmp_path)
    assert_same_spec(got, b["edited_spec"])
    assert got.train.lr == NEW_LR and got.data.inputs[1, 0] == NEW_INPUT and got.layers[1].weights[0, 1] == NEW_WEIGHT


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_file_saved_by_a_script_is_recomputed_from_its_inputs(books, layout):
    """openpyxl keeps the formulas but no results: read says so and returns the engine's
    numbers for the edited inputs (never zeros, never the old run)."""
    b = books[layout]
    result = run("read", b["edited"], "--json")
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert result.stderr.startswith("sheetnet: note:") and "no stored value" in result.stderr
    assert result.stderr.count("\n") == 1
    got = one_json(result.stdout)
    assert got["recomputed"] is True
    want = sheetnet.train(b["edited_spec"])
    assert_same_run(got, run_json(want), rtol=1e-14)
    assert all(loss > 0 for loss in got["losses"])
    assert not np.allclose(got["losses"], sheetnet.train(b["spec"]).loss)
    text = run("read", b["edited"])
    assert text.exit_code == 0 and "(recomputed)" in text.stdout


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("what", ["lr", "input", "weight"])
def test_values_from_before_an_edit_are_detected_as_stale(books, tmp_path, layout, what):
    """An input changed in the file while every stored value stays the old run's."""
    b = books[layout]
    new = {"lr": NEW_LR, "input": NEW_INPUT, "weight": NEW_WEIGHT}[what]
    stale = zip_set_values(b["original"], str(tmp_path / "stale.xlsx"), {b["cells"][what]: new})
    d = copy.deepcopy(b["dict"])
    if what == "lr":
        d["train"]["lr"] = new
    elif what == "input":
        d["data"]["inputs"][1][0] = new
    else:
        d["layers"][1]["weights"][0][1] = new
    result = run("read", stale, "--json")
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert result.stderr.startswith("sheetnet: note:") and "do not follow from the workbook's inputs" in result.stderr
    got = one_json(result.stdout)
    assert got["recomputed"] is True
    assert_same_run(got, run_json(sheetnet.train(spec_of(d))), rtol=1e-14)
    # the unedited original is read as stored
    clean = one_json(run("read", b["original"], "--json").stdout)
    assert clean["recomputed"] is False


# --------------------------------------------------------------------------- LibreOffice
@pytest.mark.parametrize("layout", LAYOUTS)
def test_read_audit_and_resume_work_on_a_file_libreoffice_saved(books, tmp_path, layout):
    """Edit with openpyxl, open and save in LibreOffice: the stored values are LibreOffice's
    and follow from the edited inputs, so read trusts them; audit is clean; resume goes on."""
    b = books[layout]
    lo = b["lo"]
    want = sheetnet.train(b["edited_spec"])
    result = run("read", lo, "--json")
    assert result.exit_code == 0 and result.stderr == "", result.stderr
    got = one_json(result.stdout)
    assert got["recomputed"] is False
    assert_same_run(got, run_json(want), rtol=1e-9, atol=1e-12)  # LibreOffice's own arithmetic
    assert_same_spec(_spec_round_trip(lo, tmp_path), b["edited_spec"])

    audit = run("audit", lo)
    assert audit.exit_code == 0, audit.stdout
    assert "every formula and value is what sheetnet computes" in audit.stdout

    epochs = b["spec"].train.epochs
    nxt = tmp_path / "next.xlsx"
    res = run("resume", lo, "-o", nxt, "--epochs", epochs, "--json")
    assert res.exit_code == 0, (res.stderr, res.exception)
    both = sheetnet.train(b["edited_spec"].with_train(epochs=2 * epochs))
    n = want.n_steps
    cont = one_json(res.stdout)
    np.testing.assert_allclose(cont["losses"], both.loss[n:], rtol=1e-12)
    assert_same_run(cont, {"losses": both.loss[n:].tolist(), "layers": run_json(both)["layers"]}, rtol=1e-12)
    back = one_json(run("read", nxt, "--json").stdout)
    assert back["recomputed"] is False
    np.testing.assert_allclose(back["losses"], both.loss[n:], rtol=1e-12)
    assert os.path.getsize(nxt) > 0
