"""Convolutional networks end to end: the engine against PyTorch float64 (conv2d, max_pool2d,
flatten, linear), with ties in the pooling windows; the cnn123 example; resume of a CNN."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import sheetnet
from corpus import cnn

torch.set_default_dtype(torch.float64)

ACT = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "linear": lambda z: z}


def torch_run(spec, orders):
    """The same run in torch: conv2d -> act -> max_pool2d -> flatten -> linear -> act, torch.optim."""
    conv, pool, out = spec.layers[1], spec.layers[2], spec.layers[3]
    P = sheetnet.engine.Model(spec).params
    th = P.theta
    k = conv.kernel
    w1 = torch.tensor(P.W(th, 0).reshape(-1, 1, k, k).copy(), requires_grad=True)
    b1 = torch.tensor(P.b(th, 0).copy(), requires_grad=True)
    w3 = torch.tensor(P.W(th, 2).copy(), requires_grad=True)
    b3 = torch.tensor(P.b(th, 2).copy(), requires_grad=True)
    params = [w1, b1, w3, b3]
    tr = spec.train
    opt = {"sgd": lambda: torch.optim.SGD(params, lr=tr.lr),
           "momentum": lambda: torch.optim.SGD(params, lr=tr.lr, momentum=tr.momentum),
           "adam": lambda: torch.optim.Adam(params, lr=tr.lr, betas=(tr.beta1, tr.beta2), eps=tr.eps)}[tr.optimizer]()
    H, W = spec.layers[0].shape
    X = torch.tensor(spec.data.inputs).reshape(-1, 1, H, W)
    T = torch.tensor(spec.data.targets)
    losses = []
    for e, lo, hi in sheetnet.engine.batches(spec):
        idx = torch.tensor(orders[e, lo:hi])
        x, t = X[idx], T[idx]
        opt.zero_grad()
        a = ACT[conv.activation](torch.nn.functional.conv2d(x, w1, b1))
        p = torch.nn.functional.max_pool2d(a, pool.pool)
        y = ACT[out.activation](torch.flatten(p, 1) @ w3.T + b3)
        per = 0.5 * ((y - t) ** 2).sum(1)
        loss = per.mean() if spec.loss.reduction == "mean" else per.sum()
        loss = loss + 0.5 * tr.l2 * ((w1 ** 2).sum() + (w3 ** 2).sum())
        losses.append(loss.item())
        loss.backward()
        opt.step()
    final = np.concatenate([w1.detach().numpy().ravel(), b1.detach().numpy(), w3.detach().numpy().ravel(),
                            b3.detach().numpy()])
    return np.array(losses), final


CASES = {
    "sgd-relu-pool2": dict(),
    "sgd-pool1": dict(pool=1),
    "sgd-pool4-mean-l2": dict(pool=4, l2=0.05),
    "momentum-minibatch": dict(optimizer="momentum", batch_size=3, epochs=3),
    "adam-shuffle": dict(optimizer="adam", lr=0.05, batch_size=2, epochs=3, shuffle=True, seed=4),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_cnn_matches_torch(name):
    kw = dict(CASES[name])
    d = cnn(**{k: kw.pop(k) for k in ("epochs", "batch_size", "optimizer", "pool") if k in kw}, **kw)
    if name.endswith("mean-l2"):
        d["loss"]["reduction"] = "mean"
    spec = sheetnet.parse_spec(d)
    trace = sheetnet.train(spec)
    losses, final = torch_run(spec, trace.orders)
    np.testing.assert_allclose(trace.loss, losses, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(trace.final_theta, final, rtol=1e-10, atol=1e-12)


def test_the_corpus_cnn_has_tied_pooling_windows():
    """So the first-maximum rule is really exercised by the workbook tests."""
    spec = sheetnet.parse_spec(cnn())
    trace = sheetnet.train(spec)
    F, H, W = spec.layers[1].maps
    maps = trace.a[0][0].reshape(-1, F, H // 2, 2, W // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(-1, 4)
    tied = (maps == maps.max(axis=1, keepdims=True)).sum(axis=1) > 1
    assert tied.sum() >= 3


def test_cnn123_learns_the_three_digits():
    spec = sheetnet.example("cnn123")
    trace = sheetnet.train(spec)
    y = sheetnet.engine.Model(spec).forward(trace.final_theta, spec.data.inputs)[-1][1]
    assert (y.argmax(axis=1) == spec.data.targets.argmax(axis=1)).all()
    assert (np.diff(trace.loss) < 0).all()  # a calm descent, fit for a picture in the gallery
    assert trace.final_loss < trace.loss[0] / 3


def test_resume_of_a_cnn_equals_one_long_run():
    d = cnn(epochs=2, batch_size=3, optimizer="adam", lr=0.05, shuffle=True)
    spec = sheetnet.parse_spec(d)
    first = sheetnet.train(spec)
    start = sheetnet.engine.Start(theta=first.final_theta, state=first.final_state, step=first.n_steps, epoch=2)
    second = sheetnet.train(spec, start=start)
    whole = sheetnet.train(spec.with_train(epochs=4))
    np.testing.assert_allclose(np.concatenate([first.loss, second.loss]), whole.loss, rtol=1e-12)
    np.testing.assert_allclose(second.final_theta, whole.final_theta, rtol=1e-12)


def test_walkthrough_of_a_cnn_step():
    from sheetnet.walkthrough import walkthrough
    trace = sheetnet.train(sheetnet.parse_spec(cnn()))
    lines = walkthrough(trace, 0, 0)
    names = [ln.name for ln in lines]
    assert "net_f1[1,1]" in names and "out_max_f1[1,1]" in names and "δ_f2[4,4]" in names
    pooled = next(ln for ln in lines if ln.name == "out_max_f1[1,1]")
    assert pooled.equation.startswith("MAX(")
    assert pooled.value == trace.a[1][0, 0, 0]


def test_cnn_workbook_reads_back_audits_clean_and_resumes(tmp_path):
    import tomllib

    from sheetnet.book.audit import audit
    from sheetnet.book.reader import final_state, open_book, stored_values
    from sheetnet.spec.toml_out import to_toml
    from sheetnet.sheet import write_workbook

    spec = sheetnet.parse_spec(cnn(epochs=2, batch_size=3, optimizer="momentum"))
    trace = sheetnet.train(spec)
    path = str(tmp_path / "cnn.xlsx")
    write_workbook(trace, path)
    book = open_book(path)
    assert audit(book) == []
    stored = stored_values(book)
    assert stored.trustworthy
    np.testing.assert_allclose(stored.final_theta, trace.final_theta, rtol=1e-15)
    again = sheetnet.parse_spec(tomllib.loads(to_toml(book.spec)))
    np.testing.assert_array_equal(sheetnet.engine.Model(again).params.theta, trace.thetas[0])
    start = final_state(book, stored)
    np.testing.assert_array_equal(start.theta, trace.final_theta)
    np.testing.assert_array_equal(start.state["v"], trace.final_state["v"])
    assert (start.step, start.epoch) == (trace.n_steps, 2)


def test_json_lists_only_layers_with_parameters_and_conv_kernels_as_grids():
    spec = sheetnet.parse_spec(cnn())
    layers = sheetnet.train(spec).to_json()["layers"]
    assert len(layers) == 2  # conv and dense; the maxpool layer has no parameters
    kernels = np.array(layers[0]["weights"])
    assert kernels.shape == (2, 3, 3) and len(layers[0]["biases"]) == 2
    assert np.array(layers[1]["weights"]).shape == (3, 8)
