"""`sheetnet resume`: N epochs and then N more from the workbook give the numbers of 2N
epochs in one go, for every optimizer, with the workbook's own edits taken into account.

Expected numbers come from ``sheetnet.train`` / ``sheetnet.engine.train`` on specs and
starting points built in the test, and from LibreOffice's recalculation.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import sheetnet
from corpus import make
from roundtrip_util import (assert_one_line_error, assert_same_run, fingerprint, one_json, run, run_json,
                            set_cells, spec_of)
from sheetnet.book.check import compare
from sheetnet.engine import Model, Start
from sheetnet.engine import train as engine_train
from sheetnet.book.recalc import recalc_files
from sheetnet.sheet import write_workbook

N = 2  # epochs per leg
# every optimizer, with shuffling, lr_decay, mini-batches with a short last batch (5 samples in
# batches of 2), frozen biases and penalties in the mix
OPTIMIZERS = {
    "sgd": dict(optimizer="sgd", lr=0.3, shuffle=True, lr_decay=0.5, l2=0.01),
    "momentum": dict(optimizer="momentum", lr=0.1, momentum=0.8, freeze_biases=True, lr_decay=0.25),
    "adagrad": dict(optimizer="adagrad", lr=0.1, shuffle=True, l1=0.005),
    "rmsprop": dict(optimizer="rmsprop", lr=0.01, alpha=0.9, shuffle=True, lr_decay=0.3, freeze_biases=True),
    "adam": dict(optimizer="adam", lr=0.05, shuffle=True, lr_decay=0.2, freeze_biases=True, l2=0.02),
}
EDITED_WEIGHT = 0.4375  # typed over the last step's updated W1[1][0] (flat index 2)


def _spec(opt, epochs=N):
    d = make(n=5, batch_size=2, epochs=epochs, seed=11, **OPTIMIZERS[opt])
    return spec_of(d, opt)


def _resume(book, out, *more):
    result = run("resume", book, "-o", out, "--json", *more)
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert f"wrote {out}" in result.stderr
    return one_json(result.stdout)


@pytest.fixture(scope="module")
def legs(tmp_path_factory):
    """Per optimizer: N epochs written, resumed for N more, and that resumed for N more; the
    Adam run with a weight of its last step typed over; then every resumed workbook
    recalculated by LibreOffice in one start."""
    folder = tmp_path_factory.mktemp("resume")
    out = {}
    for opt in OPTIMIZERS:
        spec = _spec(opt)
        first = str(folder / f"{opt}.xlsx")
        write_workbook(sheetnet.train(spec), first)
        second, third = str(folder / f"{opt}-2.xlsx"), str(folder / f"{opt}-3.xlsx")
        j2 = _resume(first, second, "--epochs", N)
        j3 = _resume(second, third, "--epochs", N)
        out[opt] = dict(spec=spec, first=first, second=second, third=third, j2=j2, j3=j3)
    # a weight of the last step's updated parameters overwritten by a constant
    spec = out["adam"]["spec"]
    from sheetnet.book.reader import open_book
    lay = open_book(out["adam"]["first"]).layout
    cell = lay.cell("p1", None, 2, lay.n_steps - 1)
    edited = set_cells(out["adam"]["first"], str(folder / "adam-edited.xlsx"), {cell: EDITED_WEIGHT})
    edited_next = str(folder / "adam-edited-2.xlsx")
    out["edited"] = dict(spec=spec, book=edited, cell=cell, next=edited_next,
                         j=_resume(edited, edited_next, "--epochs", N))
    books = [out[o][k] for o in OPTIMIZERS for k in ("second", "third")] + [edited_next]
    out["lo"] = dict(zip(books, recalc_files(books, str(folder / "lo"))))
    return out


@pytest.mark.parametrize("opt", OPTIMIZERS)
def test_n_then_n_more_is_2n_in_one_go(legs, opt):
    leg = legs[opt]
    spec = leg["spec"]
    once = sheetnet.train(spec.with_train(epochs=2 * N))
    n = sheetnet.train(spec).n_steps
    assert n == 3 * N  # batches of 2, 2 and 1
    want = {"losses": once.loss[n:].tolist(), "layers": run_json(once)["layers"]}
    assert_same_run(leg["j2"], want, rtol=1e-12)
    # the continued workbook stores the same numbers
    back = one_json(run("read", leg["second"], "--json").stdout)
    assert back["recomputed"] is False
    assert_same_run(back, want, rtol=1e-12)


@pytest.mark.parametrize("opt", OPTIMIZERS)
def test_resuming_a_resumed_workbook_is_3n_in_one_go(legs, opt):
    leg = legs[opt]
    once = sheetnet.train(leg["spec"].with_train(epochs=3 * N))
    n = 2 * sheetnet.train(leg["spec"]).n_steps
    want = {"losses": once.loss[n:].tolist(), "layers": run_json(once)["layers"]}
    assert_same_run(leg["j3"], want, rtol=1e-12)
    back = one_json(run("read", leg["third"], "--json").stdout)
    assert back["recomputed"] is False
    assert_same_run(back, want, rtol=1e-12)


@pytest.mark.parametrize("opt", OPTIMIZERS)
def test_the_resumed_workbooks_recalculate_in_libreoffice(legs, opt):
    for key in ("second", "third"):
        path = legs[opt][key]
        n, bad = compare(path, legs["lo"][path], rtol=1e-9, atol=1e-12)
        assert n > 0
        assert not bad, f"{len(bad)} of {n} cells differ; first: " + "; ".join(map(str, bad[:5]))


def test_a_weight_typed_into_the_last_step_is_where_resume_starts(legs):
    e = legs["edited"]
    spec = e["spec"]
    first = sheetnet.train(spec)
    theta = first.final_theta.copy()
    assert theta[2] != EDITED_WEIGHT
    theta[2] = EDITED_WEIGHT
    state = {k: v.copy() for k, v in first.final_state.items()}
    assert set(state) == {"m", "v"}
    want = engine_train(spec, start=Start(theta=theta, state=state, step=first.n_steps, epoch=N))
    assert_same_run(e["j"], run_json(want), rtol=1e-12)
    unedited = legs["adam"]["j2"]
    assert not np.allclose(e["j"]["losses"], unedited["losses"], rtol=1e-6)
    # the continued workbook starts from the typed weight
    from sheetnet.book.reader import open_book
    P = Model(spec).params
    sheets = open_book(e["next"]).layout.sheets
    from roundtrip_util import stored
    assert stored(e["next"], sheets.param(2))[1] == EDITED_WEIGHT
    for name in state:  # the optimizer state of the first leg, as the engine left it
        for idx in range(P.size):
            if not P.is_weight[idx]:
                continue  # frozen biases keep no state
            np.testing.assert_allclose(stored(e["next"], sheets.start_state(name, idx))[1], state[name][idx],
                                       rtol=1e-15)
    n, bad = compare(e["next"], legs["lo"][e["next"]], rtol=1e-9, atol=1e-12)
    assert n > 0 and not bad, "; ".join(map(str, bad[:5]))


def test_resume_without_epochs_continues_for_as_many_as_the_book_has(legs, tmp_path):
    leg = legs["momentum"]
    got = _resume(leg["first"], tmp_path / "more.xlsx")
    once = sheetnet.train(leg["spec"].with_train(epochs=2 * N))
    n = sheetnet.train(leg["spec"]).n_steps
    assert len(got["losses"]) == n
    assert_same_run(got, {"losses": once.loss[n:].tolist(), "layers": run_json(once)["layers"]}, rtol=1e-12)


def test_resume_refuses_to_write_over_the_workbook_it_reads(legs, tmp_path):
    book = legs["sgd"]["first"]
    before = fingerprint(book)
    assert_one_line_error(run("resume", book, "-o", book), "refusing to write over the workbook being read")
    link = tmp_path / "link.xlsx"
    os.symlink(book, link)
    assert_one_line_error(run("resume", book, "-o", link), "refusing to write over")
    other = os.path.join(os.path.dirname(book), ".", os.path.basename(book))
    assert_one_line_error(run("resume", book, "-o", other), "refusing to write over")
    assert fingerprint(book) == before


def test_resume_of_a_missing_workbook_is_one_line(tmp_path):
    existing = tmp_path / "existing.xlsx"
    existing.write_bytes(b"keep")
    assert_one_line_error(run("resume", tmp_path / "missing.xlsx", "-o", existing), "missing.xlsx")
    assert existing.read_bytes() == b"keep"
