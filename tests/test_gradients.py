"""Every derivative in sheetnet against central finite differences.

Each registry entry is covered: an activation's ``grad`` against d fn/dz, a loss's ``dl_dy``
against the numerical derivative of its per-sample loss, cross-entropy's fused delta against
the numerical derivative of its log-softmax form with respect to the logits, and the whole
network gradient (``Model.backward``) against finite differences of the batch loss
(``Model.losses``, penalties included).  ``test_every_registry_entry_is_covered`` fails when
an activation or a loss is added without a finite-difference check here.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import sheetnet
from sheetnet.engine import Model
from sheetnet.ops import ACTIVATIONS, LOSSES

H = 1e-6
RTOL = 1e-6
ATOL = 1e-8


def central(f, x, h=H):
    """(f(x + h) − f(x − h)) / 2h, element by element of x (f maps an array to an array)."""
    return (f(x + h) - f(x - h)) / (2.0 * h)


# --------------------------------------------------------------------------- activations
def _z_grid(avoid_zero: bool):
    z = np.concatenate([np.linspace(-6.0, 6.0, 241), np.random.default_rng(0).normal(0.0, 2.0, 200)])
    if avoid_zero:  # the kink of relu/leaky_relu: finite differences straddling it are meaningless
        z = z[np.abs(z) > 1e-3]
    return z.reshape(-1, 1)


# name -> does finite differencing need to keep away from z = 0?
ELEMENTWISE_FD = {"sigmoid": False, "tanh": False, "relu": True, "leaky_relu": True, "linear": False}
# non-elementwise activations, checked through the loss they are fused with
FUSED_FD = {"softmax": "cross_entropy"}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE_FD))
def test_activation_grad_matches_finite_differences(name):
    act = ACTIVATIONS[name]
    assert act.elementwise
    z = _z_grid(ELEMENTWISE_FD[name])
    analytic = act.grad(z, act.fn(z))
    numeric = central(act.fn, z)
    np.testing.assert_allclose(analytic, numeric, rtol=RTOL, atol=ATOL)
    # a batch (N, K) works element by element, the same as column by column
    zz = z[:200].reshape(40, 5)
    np.testing.assert_array_equal(act.grad(zz, act.fn(zz)), analytic[:200].reshape(40, 5))


TORCH_FN = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
            "leaky_relu": lambda z: F.leaky_relu(z, 0.01), "linear": lambda z: z * 1.0}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE_FD))
def test_activation_values_and_kinks_match_torch(name):
    """Values everywhere (extremes included), and the derivative at the kink z = 0 (torch's rule)."""
    act = ACTIVATIONS[name]
    z = np.concatenate([_z_grid(False).ravel(), [0.0, -0.0, 40.0, -40.0, 750.0, -750.0, 1e-300, -1e-300]])
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    a = TORCH_FN[name](zt)
    a.sum().backward()
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no overflow, even at ±750
        mine = act.fn(z)
    np.testing.assert_allclose(mine, a.detach().numpy(), rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(act.grad(z, mine), zt.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_relu_family_kink_conventions():
    z = np.array([-1.0, -0.0, 0.0, 1.0])
    assert ACTIVATIONS["relu"].grad(z, ACTIVATIONS["relu"].fn(z)).tolist() == [0.0, 0.0, 0.0, 1.0]
    assert ACTIVATIONS["leaky_relu"].grad(z, ACTIVATIONS["leaky_relu"].fn(z)).tolist() == [0.01, 0.01, 0.01, 1.0]


def test_softmax_values_match_torch():
    sm = ACTIVATIONS["softmax"]
    assert not sm.elementwise
    z = np.random.default_rng(1).normal(0.0, 3.0, (6, 4))
    z[0] = [1000.0, 999.0, -1000.0, 0.0]  # large logits: no overflow
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        mine = sm.fn(z)
    np.testing.assert_allclose(mine, torch.softmax(torch.tensor(z), dim=1).numpy(), rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(mine.sum(axis=1), 1.0, rtol=1e-15)


# --------------------------------------------------------------------------- losses
def _loss_case(name, delta=1.0, seed=0):
    """(y, t, hp) with targets valid for the loss and y away from any kink."""
    rng = np.random.default_rng(seed)
    n, k = 6, 3
    hp = {"delta": delta}
    if name == "binary_cross_entropy":
        y = rng.uniform(0.05, 0.95, (n, k))
        t = rng.uniform(0.0, 1.0, (n, k))
        t[0], t[1] = 0.0, 1.0
        return y, t, hp
    if name == "hinge":
        t = rng.choice([-1.0, 1.0], (n, k))
        y = rng.uniform(-2.5, 2.5, (n, k))
        assert np.all(np.abs(1.0 - t * y) > 1e-3)
        assert np.any(1.0 - t * y < 0) and np.any(1.0 - t * y > 0)
        return y, t, hp
    y, t = rng.uniform(-2.0, 2.0, (n, k)), rng.uniform(-2.0, 2.0, (n, k))
    if name == "huber":
        d = np.abs(y - t)
        assert np.all(np.abs(d - delta) > 1e-3)
        assert np.any(d < delta) and np.any(d > delta)  # both branches
    return y, t, hp


# name -> the settings its finite-difference check runs with
LOSS_FD = {
    "half_sse": [dict()],
    "mse": [dict()],
    "binary_cross_entropy": [dict(seed=0), dict(seed=1)],
    "huber": [dict(delta=0.5), dict(delta=1.0), dict(delta=2.0)],
    "hinge": [dict(seed=0), dict(seed=3)],
}
FUSED_LOSS_FD = {"cross_entropy"}


@pytest.mark.parametrize("name,kw", [(n, kw) for n, kws in sorted(LOSS_FD.items()) for kw in kws])
def test_loss_dl_dy_matches_finite_differences(name, kw):
    loss = LOSSES[name]
    assert loss.fused_with is None
    y, t, hp = _loss_case(name, **kw)

    def l_n(yy):
        return loss.per_sample(loss.term(yy, t, hp))

    analytic = loss.dl_dy(y, t, hp)
    assert analytic.shape == y.shape
    for k in range(y.shape[1]):  # perturbing column k moves every sample's loss through y[n, k] only
        e = np.zeros_like(y)
        e[:, k] = 1.0
        numeric = (l_n(y + H * e) - l_n(y - H * e)) / (2 * H)
        np.testing.assert_allclose(analytic[:, k], numeric, rtol=RTOL, atol=ATOL, err_msg=f"{name}, output {k}")


TORCH_LOSS = {
    "half_sse": lambda y, t, d: 0.5 * ((y - t) ** 2).sum(1),
    "mse": lambda y, t, d: F.mse_loss(y, t, reduction="none").mean(1),
    "binary_cross_entropy": lambda y, t, d: F.binary_cross_entropy(y, t, reduction="none").mean(1),
    "huber": lambda y, t, d: F.huber_loss(y, t, reduction="none", delta=d).mean(1),
    "hinge": lambda y, t, d: torch.clamp(1 - t * y, min=0).mean(1),
}


@pytest.mark.parametrize("name,kw", [(n, kw) for n, kws in sorted(LOSS_FD.items()) for kw in kws])
def test_loss_values_match_torch(name, kw):
    loss = LOSSES[name]
    y, t, hp = _loss_case(name, **kw)
    ref = TORCH_LOSS[name](torch.tensor(y), torch.tensor(t), hp["delta"]).numpy()
    np.testing.assert_allclose(loss.per_sample(loss.term(y, t, hp)), ref, rtol=1e-14, atol=1e-300)


def test_bce_log_is_clamped_at_minus_100_like_torch():
    loss = LOSSES["binary_cross_entropy"]
    y = np.array([[0.0, 1.0, 0.0, 1.0, 1e-50]])
    t = np.array([[1.0, 0.0, 0.0, 1.0, 1.0]])
    ref = F.binary_cross_entropy(torch.tensor(y), torch.tensor(t), reduction="none").numpy()
    with np.errstate(divide="raise", invalid="raise"):
        terms = loss.term(y, t, {})
    np.testing.assert_allclose(terms, ref, rtol=1e-15, atol=0)
    assert terms[0, 0] == terms[0, 1] == 100.0


def test_bce_gradient_near_and_at_the_clamp_matches_torch():
    """Where finite differences cannot go: torch's backward floors y(1−y) at 1e−12."""
    loss = LOSSES["binary_cross_entropy"]
    y = np.array([[0.0, 1.0, 0.0, 1.0, 1e-14, 1 - 1e-14, 0.5, 1e-13]])
    t = np.array([[1.0, 0.0, 0.0, 1.0, 0.3, 0.9, 0.2, 1.0]])
    yt = torch.tensor(y, requires_grad=True)
    F.binary_cross_entropy(yt, torch.tensor(t), reduction="none").mean(1).sum().backward()
    np.testing.assert_allclose(loss.dl_dy(y, t, {}), yt.grad.numpy(), rtol=1e-14, atol=0)


def test_cross_entropy_fused_delta_matches_finite_differences():
    ce, sm = LOSSES["cross_entropy"], ACTIVATIONS["softmax"]
    assert ce.fused_with == "softmax"
    rng = np.random.default_rng(2)
    n, k = 7, 4
    z = rng.normal(0.0, 2.0, (n, k))
    z[0] += 300.0  # large logits: the log-softmax stays exact
    t = np.eye(k)[rng.integers(0, k, n)]

    def l_n(zz):
        return ce.per_sample(ce.term_logits(zz, t))

    analytic = ce.delta(sm.fn(z), t)
    for j in range(k):
        e = np.zeros_like(z)
        e[:, j] = 1.0
        numeric = (l_n(z + H * e) - l_n(z - H * e)) / (2 * H)
        np.testing.assert_allclose(analytic[:, j], numeric, rtol=RTOL, atol=ATOL, err_msg=f"logit {j}")
    # and the value is torch's cross-entropy on logits
    ref = F.cross_entropy(torch.tensor(z), torch.tensor(t.argmax(1)), reduction="none").numpy()
    np.testing.assert_allclose(l_n(z), ref, rtol=1e-13)


# --------------------------------------------------------------------------- whole networks
def _net(sizes, acts, loss, reduction="mean", seed=0, n=5, l1=0.0, l2=0.0, delta=1.0, scale=0.9):
    rng = np.random.default_rng(seed)
    layers = [{"kind": "input", "size": sizes[0]}]
    for i, o, act in zip(sizes[:-1], sizes[1:], acts):
        w = rng.uniform(0.1, scale, (o, i)) * rng.choice([-1.0, 1.0], (o, i))  # |w| >= 0.1: away from l1's kink
        layers.append({"kind": "dense", "size": o, "activation": act, "weights": w.tolist(),
                       "biases": rng.uniform(-0.5, 0.5, o).tolist()})
    k = sizes[-1]
    if loss == "cross_entropy":
        t = np.eye(k)[rng.integers(0, k, n)]
    elif loss == "binary_cross_entropy":
        t = rng.uniform(0, 1, (n, k))
    elif loss == "hinge":
        t = rng.choice([-1.0, 1.0], (n, k))
    else:
        t = rng.uniform(-1, 1, (n, k))
    d = {"layers": layers, "loss": {"kind": loss, "reduction": reduction, "delta": delta},
         "train": {"l1": l1, "l2": l2},
         "data": {"inputs": rng.uniform(-1.5, 1.5, (n, sizes[0])).tolist(), "targets": t.tolist()}}
    return sheetnet.parse_spec(d, path="fd.toml")


NETWORKS = {
    "sigmoid-half_sse": dict(sizes=(3, 4, 2), acts=("sigmoid", "sigmoid"), loss="half_sse"),
    "tanh-mse-sum": dict(sizes=(2, 3, 3, 2), acts=("tanh", "tanh", "linear"), loss="mse", reduction="sum"),
    "relu-huber": dict(sizes=(3, 5, 2), acts=("relu", "linear"), loss="huber", delta=0.3),
    "leaky-hinge-l1": dict(sizes=(3, 4, 2), acts=("leaky_relu", "tanh"), loss="hinge", l1=0.05, seed=3),
    "linear-softmax-ce-l2": dict(sizes=(4, 3, 3), acts=("linear", "softmax"), loss="cross_entropy", l2=0.1),
    "relu-sigmoid-bce-l1-l2": dict(sizes=(3, 4, 3, 2), acts=("relu", "tanh", "sigmoid"),
                                   loss="binary_cross_entropy", l1=0.02, l2=0.07, seed=5),
    "deep-sum-penalties": dict(sizes=(2, 3, 4, 3, 3), acts=("tanh", "leaky_relu", "sigmoid", "softmax"),
                               loss="cross_entropy", reduction="sum", l1=0.01, l2=0.03, seed=7),
    "one-unit": dict(sizes=(1, 1, 1), acts=("sigmoid", "linear"), loss="mse", n=1),
}


def loss_and_grad(model, theta, x, t):
    """The batch loss (with the penalty) and ∂L/∂θ from the engine."""
    za = model.forward(theta, x)
    batch = model.losses(theta, za, t)[1]
    grad = np.zeros_like(theta)
    model.backward(theta, x, za, t, grad)
    return float(batch), grad


def _away_from_kinks(spec, model, theta, x, t):
    """The finite differences must not straddle a kink of the network's piecewise pieces."""
    za = model.forward(theta, x)
    margin = 1e-4
    for (z, _), layer in zip(za, spec.layers[1:]):
        if layer.activation in ("relu", "leaky_relu"):
            assert np.abs(z).min() > margin
    y = za[-1][1]
    if spec.loss.kind == "hinge":
        assert np.abs(1.0 - t * y).min() > margin
    if spec.loss.kind == "huber":
        assert np.abs(np.abs(y - t) - spec.loss.delta).min() > margin
    if spec.train.l1:
        assert np.abs(theta[model.params.is_weight]).min() > margin


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_network_gradient_matches_finite_differences(name):
    spec = _net(**NETWORKS[name])
    model = Model(spec)
    theta = model.params.theta.copy()
    x, t = spec.data.inputs, spec.data.targets
    _away_from_kinks(spec, model, theta, x, t)
    _, analytic = loss_and_grad(model, theta, x, t)
    numeric = np.empty_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = H
        numeric[i] = (loss_and_grad(model, theta + e, x, t)[0] - loss_and_grad(model, theta - e, x, t)[0]) / (2 * H)
    np.testing.assert_allclose(analytic, numeric, rtol=RTOL, atol=ATOL)
    assert np.abs(analytic).max() > 1e-3  # not a trivially flat point
    # backward must not have touched theta
    np.testing.assert_array_equal(theta, model.params.theta)


@pytest.mark.parametrize("name", ["tanh-mse-sum", "relu-sigmoid-bce-l1-l2"])
def test_network_gradient_of_a_sub_batch(name):
    """A batch of one and of three samples (the engine's mini-batches) differentiate the same way."""
    spec = _net(**NETWORKS[name])
    model = Model(spec)
    theta = model.params.theta.copy()
    for rows in ([2], [0, 3, 4]):
        x, t = spec.data.inputs[rows], spec.data.targets[rows]
        _, analytic = loss_and_grad(model, theta, x, t)
        numeric = np.array([(loss_and_grad(model, theta + e, x, t)[0] - loss_and_grad(model, theta - e, x, t)[0])
                            / (2 * H) for e in np.eye(theta.size) * H])
        np.testing.assert_allclose(analytic, numeric, rtol=RTOL, atol=ATOL)


# --------------------------------------------------------------------------- coverage
def test_every_registry_entry_is_covered():
    """A new activation or loss must come with its finite-difference check in this file."""
    acts = set(ACTIVATIONS)
    missing = acts - set(ELEMENTWISE_FD) - set(FUSED_FD)
    assert not missing, f"activations without a finite-difference check: {sorted(missing)}"
    for name in ELEMENTWISE_FD:
        assert ACTIVATIONS[name].elementwise, name
    for name, loss in FUSED_FD.items():
        assert not ACTIVATIONS[name].elementwise and LOSSES[loss].fused_with == name
    missing = set(LOSSES) - set(LOSS_FD) - FUSED_LOSS_FD
    assert not missing, f"losses without a finite-difference check: {sorted(missing)}"
    for name in FUSED_LOSS_FD:
        assert LOSSES[name].fused_with in FUSED_FD
    # ... and every one of them takes part in a whole-network check
    used_acts = {a for net in NETWORKS.values() for a in net["acts"]}
    used_losses = {net["loss"] for net in NETWORKS.values()}
    assert acts <= used_acts, sorted(acts - used_acts)
    assert set(LOSSES) <= used_losses, sorted(set(LOSSES) - used_losses)
