"""Lazy recording: ``train(spec)`` keeps losses, gradient sizes and the parameters after every
epoch; the full record is computed on first access by training again with every value kept.
It must be the record an eager run keeps, bit for bit, and a run must stop (diverge) where the
eager run stops."""

from __future__ import annotations

import tomllib

import numpy as np
import pandas.testing as pdt
import pytest

import sheetnet
from sheetnet.engine.trace import RECORDED

from test_divergence import EXTREMES, SQUARE

SPECS = {
    "mazur": lambda: sheetnet.example("mazur"),
    "xor": lambda: sheetnet.example("xor").with_train(epochs=50),
    "iris (adam, shuffled mini-batches)": lambda: sheetnet.example("iris"),
    "cnn123": lambda: sheetnet.example("cnn123").with_train(epochs=3),
    "digits01 (momentum, l2, decay)": lambda: sheetnet.example("digits01").with_train(
        optimizer="momentum", lr=0.1, l2=0.01, lr_decay=0.1, epochs=5, batch_size=5),
    "square (diverges)": lambda: sheetnet.parse_spec(tomllib.loads(SQUARE), path="square.toml"),
    "xor lr 30 (diverges in the forward values)": lambda: sheetnet.parse_spec(
        tomllib.loads(EXTREMES["lr-30-sigmoid"]), path="x.toml"),
}


def same(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            same(a[key], b[key])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            same(x, y)
    else:
        np.testing.assert_array_equal(a, b)  # bit for bit (NaN equal to NaN)


@pytest.mark.parametrize("name", list(SPECS))
def test_the_lazy_record_is_the_eager_one_bit_for_bit(name):
    spec = SPECS[name]()
    lazy, eager = sheetnet.train(spec), sheetnet.train(spec, record="eager")
    assert lazy.diverged_at == eager.diverged_at and lazy.n_steps == eager.n_steps
    np.testing.assert_array_equal(lazy.loss, eager.loss)
    np.testing.assert_array_equal(lazy.final_theta, eager.final_theta)
    # the summaries come without the full record …
    pdt.assert_frame_equal(lazy.epochs, eager.epochs, check_exact=True)
    pdt.assert_frame_equal(lazy.gradient_sizes, eager.gradient_sizes, rtol=1e-14)
    assert not set(RECORDED) & set(vars(lazy)), "nothing per step is kept before it is read"
    # … which, once read, is the eager run's
    for attr in RECORDED:
        same(getattr(lazy, attr), getattr(eager, attr))
    pdt.assert_frame_equal(lazy.step(-1).update, eager.step(-1).update, check_exact=True)


def test_reading_one_table_computes_the_record_once():
    trace = sheetnet.train(sheetnet.example("xor").with_train(epochs=30))
    first = trace.thetas
    assert trace.grads is not None and trace.thetas is first  # kept, not computed again


def test_without_recording_there_is_no_record_to_read():
    trace = sheetnet.train(sheetnet.example("mazur"), record=False)
    with pytest.raises(ValueError, match="record=False"):
        trace.parameters
    with pytest.raises(AttributeError):
        trace.thetas


def test_memory_is_what_the_user_reads(monkeypatch):
    """A run whose full record would not fit trains (losses, summaries, final parameters); only
    reading the record asks for the memory, and is refused with the numbers then."""
    import sheetnet.engine.budget as budget

    spec = sheetnet.example("xor").with_train(epochs=200)
    monkeypatch.setattr(budget, "MAX_TRACE_BYTES", budget.trace_bytes(spec) - 1)
    with pytest.raises(sheetnet.SpecError, match="recording every value"):
        sheetnet.train(spec, record="eager")
    trace = sheetnet.train(spec)
    assert trace.n_steps == 200 and np.isfinite(trace.loss).all() and trace.epochs.shape[0] == 201
    with pytest.raises(sheetnet.SpecError, match="recording every value"):
        trace.thetas
