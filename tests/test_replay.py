"""Recording at the cost of checkpoints (engine/replay.py): every replayed step equals the
step ``train(spec)`` recorded, bit for bit, for every kind of run."""

from __future__ import annotations

import numpy as np
import pytest

import sheetnet
from sheetnet.compare import runs
from sheetnet.engine import Start
from sheetnet.engine.replay import train_checkpointed


def _cases():
    adam = runs(sheetnet.example("optimizers"), epochs=4)["adam"]
    first = sheetnet.train(adam)
    return {
        "iris (adam, shuffled mini-batches, short last batch)": (sheetnet.example("iris").with_train(epochs=2), None),
        "cnn123 (conv, max pooling)": (sheetnet.example("cnn123").with_train(epochs=6), None),
        "mazur (frozen biases)": (sheetnet.example("mazur-10k").with_train(epochs=40), None),
        "xor (l1, l2, lr_decay, momentum)": (sheetnet.example("xor").with_train(epochs=30, l1=0.001, l2=0.01,
                                                                              lr_decay=0.1, optimizer="momentum"),
                                             None),
        "adam continued": (adam, Start(theta=first.final_theta, state=first.final_state, step=first.n_steps, epoch=4)),
    }


@pytest.mark.parametrize("every", [1, 7])
def test_replayed_steps_equal_the_recorded_ones_bit_for_bit(every):
    for name, (spec, start) in _cases().items():
        full = sheetnet.train(spec, start=start)
        run = train_checkpointed(spec, every=every, start=start)
        assert np.array_equal(run.loss, full.loss) and np.array_equal(run.final_theta, full.final_theta), name
        assert len(run.checkpoints) == -(-full.n_steps // every)
        for k in range(full.n_steps):
            r = run.step_record(k)
            e, lo, hi = full.steps[k]
            assert np.array_equal(r.theta_before, full.thetas[k]), (name, k)
            assert np.array_equal(r.theta_after, full.thetas[k + 1]), (name, k)
            assert np.array_equal(r.grad, full.grads[k]), (name, k)
            assert np.array_equal(r.sample_loss, full.sample_loss[e, lo:hi]), (name, k)
            for l in range(len(full.z)):
                assert np.array_equal(r.z[l], full.z[l][e, lo:hi]), (name, k, l)
                assert np.array_equal(r.a[l], full.a[l][e, lo:hi]), (name, k, l)
                assert np.array_equal(r.delta[l], full.delta[l][e, lo:hi]), (name, k, l)
            for s in full.states:
                assert np.array_equal(r.state_after[s], full.states[s][k]), (name, k, s)
            for s in full.shown:
                assert np.array_equal(r.shown[s], full.shown[s][k]), (name, k, s)


def test_a_step_out_of_range_is_refused():
    run = train_checkpointed(sheetnet.example("mazur"), every=3)
    with pytest.raises(IndexError):
        run.step_record(1)
