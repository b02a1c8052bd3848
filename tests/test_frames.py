"""The trace as DataFrames: losses, parameters, weights, and each step's forward / deltas /
gradients / update tables, checked against values derived independently in the tests."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import sheetnet
from sheetnet import parse_spec, train

LABEL = re.compile(r"^(W)\[(.+)<-(.+)\]$|^(b)\[(.+)\]$")


def make_spec(**train_settings):
    """A 3-4-2 network (tanh, sigmoid) on 5 samples, parameters drawn from the seed."""
    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 1, (5, 3)).round(3)
    t = rng.uniform(0, 1, (5, 2)).round(3)
    tr = {"optimizer": "sgd", "lr": 0.3, "epochs": 3, "seed": 4}
    tr.update(train_settings)
    reduction = tr.pop("reduction", "mean")
    return parse_spec({
        "name": "frames",
        "layers": [{"kind": "input", "size": 3, "names": ["x1", "x2", "x3"]},
                   {"kind": "dense", "size": 4, "activation": "tanh", "names": ["h1", "h2", "h3", "h4"],
                    "init": "uniform"},
                   {"kind": "dense", "size": 2, "activation": "sigmoid", "names": ["o1", "o2"], "init": "uniform"}],
        "loss": {"kind": "half_sse", "reduction": reduction},
        "train": tr,
        "data": {"inputs": x.tolist(), "targets": t.tolist()},
    })


@pytest.fixture(scope="module")
def spec():
    return make_spec()


@pytest.fixture(scope="module")
def trace(spec):
    return train(spec)


def parse_label(label):
    m = LABEL.match(label)
    assert m, label
    return ("W", m.group(2), m.group(3)) if m.group(1) else ("b", m.group(5), None)


def layer_matrices(spec, theta_row: pd.Series):
    """[(W, b)] of every dense layer from one row of trace.parameters, via the labels."""
    out = []
    for l in range(1, len(spec.layers)):
        recv, send = spec.layers[l].names, spec.layers[l - 1].names
        W = np.array([[theta_row[f"W[{r}<-{s}]"] for s in send] for r in recv])
        b = np.array([theta_row[f"b[{r}]"] for r in recv])
        out.append((W, b))
    return out


# --------------------------------------------------------------------------- losses
def test_losses_frame(spec, trace):
    df = trace.losses
    assert df.index.name == "step"
    assert list(df.columns) == ["epoch", "lr", "loss"]
    assert list(df.index) == [1, 2, 3]  # batch GD: one step per epoch, numbered as the workbook does
    assert list(df["epoch"]) == [1, 2, 3]
    assert (df["lr"] == 0.3).all()
    assert df["loss"].to_numpy() == pytest.approx(trace.to_json()["losses"])
    for k in range(1, trace.n_steps + 1):
        view = trace.step(k)
        assert df.loc[k, "loss"] == view.batch_loss
        assert view.batch_loss == pytest.approx(view.loss.mean())


def test_losses_with_mini_batches_and_decay():
    tr = train(make_spec(batch_size=2, lr_decay=0.5, epochs=2))
    df = tr.losses
    assert list(df["epoch"]) == [1, 1, 1, 2, 2, 2]  # 5 samples in batches of 2, 2, 1
    assert df["lr"].tolist() == pytest.approx([0.3] * 3 + [0.3 / 1.5] * 3)
    assert [len(tr.step(k).samples) for k in range(1, 7)] == [2, 2, 1, 2, 2, 1]


# --------------------------------------------------------------------------- forward and deltas
def test_forward_frame(spec, trace):
    view = trace.step(2)
    fw = view.forward
    assert isinstance(fw.index, pd.MultiIndex)
    assert list(fw.index.names) == ["sample", "unit"]
    assert list(fw.columns) == ["net", "out"]
    units = ["h1", "h2", "h3", "h4", "o1", "o2"]
    assert list(fw.index) == [(n, u) for n in range(5) for u in units]
    # recomputed from the parameters before the step
    (W1, b1), (W2, b2) = layer_matrices(spec, trace.parameters.iloc[1])
    for n in range(5):
        z1 = W1 @ spec.data.inputs[n] + b1
        a1 = np.tanh(z1)
        z2 = W2 @ a1 + b2
        a2 = 1 / (1 + np.exp(-z2))
        rows = fw.loc[n]
        np.testing.assert_allclose(rows["net"].to_numpy(), np.r_[z1, z2], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(rows["out"].to_numpy(), np.r_[a1, a2], rtol=1e-12, atol=1e-15)


def test_forward_follows_the_shuffled_order():
    spec = make_spec(shuffle=True, batch_size=2, epochs=2, seed=11)
    tr = train(spec)
    orders = [tuple(tr.step(k + 1).samples) for k in range(tr.n_steps)]
    assert sorted(n for o in orders[:3] for n in o) == list(range(5))
    for k in range(tr.n_steps):
        view = tr.step(k + 1)
        fw = view.forward
        assert list(fw.index.get_level_values("sample").unique()) == list(view.samples)
        (W1, b1), _ = layer_matrices(spec, tr.parameters.iloc[k])
        for n in view.samples:
            np.testing.assert_allclose(fw.loc[n]["net"].to_numpy()[:4], W1 @ spec.data.inputs[n] + b1, rtol=1e-12)
        assert list(view.inputs.index) == list(view.samples)
        np.testing.assert_array_equal(view.targets.to_numpy(), spec.data.targets[view.samples])


def test_deltas_frame(spec, trace):
    view = trace.step(1)
    fw, dl = view.forward, view.deltas
    assert list(dl.columns) == ["delta"]
    assert dl.index.equals(fw.index)
    W2 = view.weights(2).to_numpy()
    for n in range(5):
        out = fw.loc[n]["out"]
        y, t = out[["o1", "o2"]].to_numpy(), spec.data.targets[n]
        d_out = (y - t) * y * (1 - y)  # half_sse with sigmoid
        h = out[["h1", "h2", "h3", "h4"]].to_numpy()
        d_hidden = (W2.T @ d_out) * (1 - h ** 2)  # tanh' = 1 − out²
        np.testing.assert_allclose(dl.loc[n]["delta"].to_numpy(), np.r_[d_hidden, d_out], rtol=1e-10, atol=1e-15)


# --------------------------------------------------------------------------- gradients
def independent_gradients(spec, view):
    """{label: [gradient of sample n for n in the batch]} from the forward values and the deltas."""
    fw, dl = view.forward, view.deltas
    grads = {}
    for label in view.gradients.index:
        kind, to, frm = parse_label(label)
        per_sample = []
        for n in view.samples:
            d = dl.loc[(n, to), "delta"]
            if kind == "b":
                per_sample.append(d)
            elif frm in spec.layers[0].names:
                per_sample.append(d * spec.data.inputs[n][spec.layers[0].names.index(frm)])
            else:
                per_sample.append(d * fw.loc[(n, frm), "out"])
        grads[label] = np.array(per_sample)
    return grads


@pytest.mark.parametrize("settings", [{}, {"batch_size": 2}, {"shuffle": True, "batch_size": 3}])
def test_gradients_frame_mean(settings):
    spec = make_spec(**settings)
    tr = train(spec)
    for k in range(1, tr.n_steps + 1):
        view = tr.step(k)
        g = view.gradients
        assert g.index.name == "parameter"
        assert list(g.columns) == [f"sample {n}" for n in view.samples] + ["batch"]
        expected = independent_gradients(spec, view)
        assert list(g.index) == list(expected)
        for label, per_sample in expected.items():
            np.testing.assert_allclose(g.loc[label].iloc[:-1].to_numpy(), per_sample, rtol=1e-10, atol=1e-15)
            assert g.loc[label, "batch"] == pytest.approx(per_sample.mean(), rel=1e-10, abs=1e-15)
        np.testing.assert_allclose(g["batch"], g.drop(columns="batch").mean(axis=1), rtol=1e-10, atol=1e-15)


def test_gradients_frame_sum():
    spec = make_spec(reduction="sum", batch_size=2)
    tr = train(spec)
    view = tr.step(1)
    g = view.gradients
    for label, per_sample in independent_gradients(spec, view).items():
        assert g.loc[label, "batch"] == pytest.approx(per_sample.sum(), rel=1e-10, abs=1e-15)
    assert view.batch_loss == pytest.approx(view.loss.sum())


def test_gradients_with_penalty_add_l2_w():
    spec = make_spec(l2=0.1)
    tr = train(spec)
    view = tr.step(1)
    g, before = view.gradients, view.update["before"]
    for label, per_sample in independent_gradients(spec, view).items():
        extra = 0.1 * before[label] if label.startswith("W") else 0.0
        assert g.loc[label, "batch"] == pytest.approx(per_sample.mean() + extra, rel=1e-10, abs=1e-15)


# --------------------------------------------------------------------------- update
def test_update_frame_sgd(spec, trace):
    for k in range(1, trace.n_steps + 1):
        up = trace.step(k).update
        assert up.index.name == "parameter"
        assert list(up.columns) == ["before", "gradient", "after"]
        lr = trace.losses.loc[k, "lr"]
        np.testing.assert_allclose(up["after"] - up["before"], -lr * up["gradient"], rtol=1e-9, atol=1e-15)
        np.testing.assert_array_equal(up["gradient"], trace.step(k).gradients["batch"])


def test_update_frame_sgd_with_decay():
    tr = train(make_spec(lr_decay=1.0, epochs=3))
    for k in range(3):  # epoch k + 1 uses the k epochs completed before it
        up = tr.step(k + 1).update
        np.testing.assert_allclose(up["after"] - up["before"], -(0.3 / (1 + k)) * up["gradient"], rtol=1e-9,
                                   atol=1e-15)


@pytest.mark.parametrize("optimizer", ["momentum", "adagrad", "rmsprop", "adam"])
def test_update_frame_other_optimizers(optimizer):
    tr = train(make_spec(optimizer=optimizer, lr=0.01))
    up = tr.step(2).update
    cols = list(up.columns)
    assert cols[:2] == ["before", "gradient"] and cols[-1] == "after" and len(cols) > 3
    np.testing.assert_array_equal(up["before"], tr.parameters.iloc[1])
    np.testing.assert_array_equal(up["after"], tr.parameters.iloc[2])


def test_update_momentum_state():
    tr = train(make_spec(optimizer="momentum", momentum=0.5))
    g0, g1 = tr.step(1).update["gradient"], tr.step(2).update["gradient"]
    up1 = tr.step(2).update
    state = [c for c in up1.columns if c not in ("before", "gradient", "after")]
    assert len(state) == 1
    v1 = 0.5 * g0 + g1
    np.testing.assert_allclose(up1[state[0]], v1, rtol=1e-12)
    np.testing.assert_allclose(up1["after"] - up1["before"], -0.3 * v1, rtol=1e-9, atol=1e-15)


# --------------------------------------------------------------------------- weights and parameters
def test_weights_frame(spec, trace):
    final = trace.to_json()["layers"]
    for layer in (1, 2):
        w = trace.weights(layer)
        assert list(w.index) == list(spec.layers[layer].names)
        assert list(w.columns) == list(spec.layers[layer - 1].names)
        assert (w.index.name, w.columns.name) == ("to", "from")
        np.testing.assert_array_equal(w.to_numpy(), final[layer - 1]["weights"])
        np.testing.assert_array_equal(trace.biases(layer).to_numpy(), final[layer - 1]["biases"])
        assert list(trace.biases(layer).index) == list(spec.layers[layer].names)
        # after step s = row s of the parameters, picked by label
        for s in range(trace.n_steps + 1):
            row = trace.parameters.iloc[s]
            expected = [[row[f"W[{r}<-{c}]"] for c in w.columns] for r in w.index]
            np.testing.assert_array_equal(trace.weights(layer, step=s).to_numpy(), expected)
    view = trace.step(2)  # starts from the parameters after step 1
    assert view.weights(2).equals(trace.weights(2, step=1))
    assert view.weights(2, after=True).equals(trace.weights(2, step=2))


def test_weights_mazur_named():
    tr = train(sheetnet.example("mazur"))
    w = tr.weights(2)
    assert list(w.index) == ["o1", "o2"] and list(w.columns) == ["h1", "h2"]
    assert w.loc["o1", "h1"] == pytest.approx(0.35891648, abs=1e-8)
    assert w.loc["o2", "h2"] == pytest.approx(0.561370121, abs=1e-9)
    assert list(tr.parameters.columns[:6]) == ["w1", "w2", "w3", "w4", "b[h1]", "b[h2]"]  # W row-major, then b


def test_parameters_frame(spec, trace):
    p = trace.parameters
    assert len(p) == trace.n_steps + 1
    assert p.index.name == "after step"
    assert len(p.columns) == 3 * 4 + 4 + 4 * 2 + 2
    assert p.columns.is_unique
    assert list(p.index) == list(range(trace.n_steps + 1))
    for k in range(trace.n_steps):
        up = trace.step(k + 1).update
        np.testing.assert_array_equal(p.iloc[k].to_numpy(), up["before"].to_numpy())
        np.testing.assert_array_equal(p.iloc[k + 1].to_numpy(), up["after"].to_numpy())
    flat = np.concatenate([np.r_[np.ravel(layer["weights"]), layer["biases"]] for layer in trace.to_json()["layers"]])
    np.testing.assert_array_equal(p.iloc[-1].to_numpy(), flat)


def test_initial_parameters_from_the_spec():
    tr = train(sheetnet.example("mazur"))
    row0 = tr.parameters.iloc[0]
    assert row0[["w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8"]].tolist() == \
        [0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55]
    assert row0[["b[h1]", "b[h2]", "b[o1]", "b[o2]"]].tolist() == [0.35, 0.35, 0.60, 0.60]


# --------------------------------------------------------------------------- step indexing
def test_step_negative_and_out_of_range(trace):
    n = trace.n_steps
    assert trace.step(-1).k == n - 1
    assert trace.step(-n).k == 0
    assert trace.step(-1).forward.equals(trace.step(n).forward)
    assert trace.step(1).k == 0 and trace.step(1).number == 1
    for bad in (0, n + 1, n + 5, -n - 1):
        with pytest.raises(IndexError, match=f"numbered 1 to {n}"):
            trace.step(bad)


def test_step_repr(trace):
    assert repr(trace.step(1)).startswith("<step 1: epoch 1,")


def test_a_resumed_run_counts_steps_and_epochs_on():
    """Two epochs, then two more from where they ended: the second trace's steps and epochs are
    numbered 4.. and 3.. as the workbook of the continued run numbers them."""
    from sheetnet.engine.training import Start

    spec = make_spec(batch_size=2, epochs=2)
    first = train(spec)
    start = Start(theta=first.final_theta, state=first.final_state, step=first.n_steps, epoch=2)
    more = train(spec, start=start)
    whole = train(spec.with_train(epochs=4))
    assert list(more.losses.index) == [7, 8, 9, 10, 11, 12]
    assert list(more.losses["epoch"]) == [3, 3, 3, 4, 4, 4]
    assert list(more.parameters.index) == list(range(6, 13))
    assert list(more.epochs.index) == [2, 3, 4]
    view = more.step(9)
    assert (view.number, view.epoch) == (9, 3)
    np.testing.assert_allclose(view.update["after"], whole.step(9).update["after"], rtol=1e-12, atol=1e-15)
    with pytest.raises(IndexError, match="numbered 7 to 12"):
        more.step(1)


# --------------------------------------------------------------------------- record=False
@pytest.mark.parametrize("settings", [{}, {"optimizer": "adam", "batch_size": 2, "lr": 0.05},
                                      {"shuffle": True, "batch_size": 1, "l1": 0.01}])
def test_record_false_same_run(settings):
    spec = make_spec(**settings)
    full, lean = train(spec), train(spec, record=False)
    pd.testing.assert_frame_equal(full.losses, lean.losses)
    assert full.to_json() == lean.to_json()
    assert full.final_loss == lean.final_loss
    pd.testing.assert_frame_equal(full.weights(1), lean.weights(1))
    with pytest.raises(ValueError):
        lean.step(1)
    with pytest.raises(ValueError):
        lean.parameters


# --------------------------------------------------------------------------- Mazur's numbers in the frames
def test_mazur_frames():
    tr = train(sheetnet.example("mazur"))
    view = tr.step(1)
    fw = view.forward
    assert fw.loc[(0, "h1"), "net"] == pytest.approx(0.3775)
    assert fw.loc[(0, "h1"), "out"] == pytest.approx(0.593269992, abs=1e-9)
    assert fw.loc[(0, "o2"), "out"] == pytest.approx(0.772928465, abs=1e-9)
    assert view.batch_loss == pytest.approx(0.298371109, abs=1e-9)
    assert view.gradients.loc["w5", "batch"] == pytest.approx(0.082167041, abs=1e-9)
    up = view.update
    assert up.loc["w5", "after"] == pytest.approx(0.35891648, abs=1e-8)
    assert up.loc["w1", "after"] == pytest.approx(0.149780716, abs=1e-9)
    assert up.loc["b[o1]", "after"] == 0.6  # biases frozen
