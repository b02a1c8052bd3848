"""The convolution and max-pooling kernels (sheetnet.engine.conv) against torch float64.

Forward passes against ``conv2d`` / ``max_pool2d(return_indices=True)`` / ``flatten``;
backward passes against torch autograd and central finite differences; max pooling's tie
rule (the gradient goes to the FIRST maximum of a window, row-major) on binary images,
constant windows and windows with two or three equal maxima at every set of positions;
and a whole conv -> sigmoid -> maxpool -> flatten -> dense -> sigmoid -> half-SSE chain,
backpropagated by hand with these kernels, against autograd to rtol 1e-10.

Also checks the example data set ``sheetnet/examples/cnn123.csv`` and that
``cnn123.md`` is exactly the ASCII art rendered from it: after editing the CSV, run
``python tests/test_conv.py`` to rewrite the .md.
"""

from __future__ import annotations

import csv
import itertools
import os
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from sheetnet.engine.conv import (  # noqa: E402
    conv_backward, conv_forward, conv_grads, conv_input_grad, flatten_maps, maxpool_backward,
    maxpool_forward, pool_plane_index, unflatten_maps,
)

EXAMPLES = os.path.join(ROOT, "sheetnet", "examples")
CSV_PATH = os.path.join(EXAMPLES, "cnn123.csv")
MD_PATH = os.path.join(EXAMPLES, "cnn123.md")

RTOL = 1e-10
ATOL = 1e-14  # only for entries that cancel to ~0, where a relative tolerance means nothing
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def T(a) -> torch.Tensor:
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64)


def close(ours, theirs, rtol=RTOL, atol=ATOL):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)


def images(rng, shape, kind):
    """'normal': continuous values; 'binary': 0/1 pixels; 'few': values from {0, 1, 2}
    (many ties); 'constant': every value the same."""
    if kind == "normal":
        return rng.normal(size=shape)
    if kind == "binary":
        return rng.integers(0, 2, size=shape).astype(float)
    if kind == "few":
        return rng.integers(0, 3, size=shape).astype(float)
    return np.full(shape, rng.normal())


# ------------------------------------------------------------------------------ strategies
@st.composite
def conv_cases(draw):
    H, W = draw(st.integers(2, 9)), draw(st.integers(2, 9))
    k = draw(st.integers(1, min(H, W)))
    F, B = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    kind = draw(st.sampled_from(["normal", "binary"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = images(rng, (B, H, W), kind)
    return x, rng.normal(size=(F, k, k)), rng.normal(size=F), rng


def common_divisors(a, b):
    return [d for d in range(1, min(a, b) + 1) if a % d == 0 and b % d == 0]


@st.composite
def pool_cases(draw):
    H, W = draw(st.integers(2, 9)), draw(st.integers(2, 9))
    p = draw(st.sampled_from(common_divisors(H, W)))
    F, B = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    kind = draw(st.sampled_from(["normal", "binary", "few", "constant"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return images(rng, (B, F, H, W), kind), p, rng


# ------------------------------------------------------------------------------ convolution
@SETTINGS
@given(conv_cases())
def test_conv_forward_matches_torch(case):
    x, w, b, _ = case
    z = conv_forward(x, w, b)
    ref = TF.conv2d(T(x)[:, None], T(w)[:, None], T(b))
    assert z.dtype == np.float64 and z.flags.c_contiguous
    B, H, W = x.shape
    F, k, _ = w.shape
    assert z.shape == (B, F, H - k + 1, W - k + 1)
    close(z, ref)


def test_conv_forward_is_a_cross_correlation():
    """The textbook formula, term by term, on one small case (no flipping of the kernel)."""
    rng = np.random.default_rng(1)
    x, w, b = rng.normal(size=(2, 5, 4)), rng.normal(size=(3, 2, 2)), rng.normal(size=3)
    z = conv_forward(x, w, b)
    for n, f, r, c in itertools.product(range(2), range(3), range(4), range(3)):
        expect = sum(w[f, u, v] * x[n, r + u, c + v] for u in range(2) for v in range(2)) + b[f]
        assert z[n, f, r, c] == pytest.approx(expect, rel=1e-13)


def test_conv_forward_out_and_integer_pixels():
    x = np.random.default_rng(2).integers(0, 2, size=(3, 6, 6))  # 0/1 ints, as read from a CSV
    w, b = np.arange(18.0).reshape(2, 3, 3) / 8, np.array([0.5, -1.0])
    out = np.empty((3, 2, 4, 4))
    z = conv_forward(x, w, b, out=out)
    assert z is out and z.dtype == np.float64
    np.testing.assert_array_equal(z, conv_forward(x.astype(float), w, b))


@SETTINGS
@given(conv_cases())
def test_conv_backward_matches_autograd(case):
    x, w, b, rng = case
    B, F = x.shape[0], w.shape[0]
    dz = rng.normal(size=conv_forward(x, w, b).shape)
    dw, db = conv_backward(x, w, dz)
    assert dw.shape == (B,) + w.shape and db.shape == (B, F)
    assert dw.dtype == np.float64 and db.dtype == np.float64
    for n in range(B):  # per sample: autograd of <z_n, δ_n> with respect to w and b
        wt, bt = T(w).requires_grad_(), T(b).requires_grad_()
        (TF.conv2d(T(x[n : n + 1])[:, None], wt[:, None], bt) * T(dz[n : n + 1])).sum().backward()
        close(dw[n], wt.grad)
        close(db[n], bt.grad)
    # the batch gradient of the mean, and of the sum (scale 1)
    for scale in (1.0 / B, 1.0):
        wt, bt = T(w).requires_grad_(), T(b).requires_grad_()
        (TF.conv2d(T(x)[:, None], wt[:, None], bt) * T(dz)).sum().mul(scale).backward()
        gw, gb = conv_grads(x, dz, scale)
        assert gw.shape == w.shape and gb.shape == b.shape
        close(gw, wt.grad)
        close(gb, bt.grad)
        np.testing.assert_allclose(gw, scale * dw.sum(axis=0), rtol=1e-13, atol=1e-15)


def test_conv_grads_out_and_unit_scale():
    rng = np.random.default_rng(3)
    x, dz = rng.normal(size=(4, 5, 5)), rng.normal(size=(4, 2, 3, 3))
    out = (np.empty((2, 3, 3)), np.empty(2))
    gw, gb = conv_grads(x, dz, 1.0, out=out)
    assert gw is out[0] and gb is out[1]
    dw, db = conv_backward(x, np.zeros((2, 3, 3)), dz)
    np.testing.assert_array_equal(gw, np.add.reduce(dw, axis=0))  # scale 1: the plain sum
    np.testing.assert_array_equal(gb, np.add.reduce(db, axis=0))


@settings(max_examples=25, deadline=None)
@given(conv_cases())
def test_conv_backward_against_finite_differences(case):
    """Per-sample loss l_n = Σ sin(z[n]) ⊙ G[n], so δ = cos(z) ⊙ G; central differences of
    l_n in every weight and bias, all samples at once."""
    x, w, b, rng = case
    G = rng.normal(size=conv_forward(x, w, b).shape)

    def losses(w, b):
        return (np.sin(conv_forward(x, w, b)) * G).sum(axis=(1, 2, 3))

    dw, db = conv_backward(x, w, np.cos(conv_forward(x, w, b)) * G)
    h = 1e-6
    for idx in np.ndindex(w.shape):
        e = np.zeros_like(w)
        e[idx] = h
        fd = (losses(w + e, b) - losses(w - e, b)) / (2 * h)
        np.testing.assert_allclose(dw[(slice(None),) + idx], fd, rtol=1e-6, atol=1e-8)
    for f in range(len(b)):
        e = np.zeros_like(b)
        e[f] = h
        fd = (losses(w, b + e) - losses(w, b - e)) / (2 * h)
        np.testing.assert_allclose(db[:, f], fd, rtol=1e-6, atol=1e-8)


@SETTINGS
@given(conv_cases())
def test_conv_input_grad_matches_autograd(case):
    x, w, b, rng = case
    dz = rng.normal(size=conv_forward(x, w, b).shape)
    xt = T(x).requires_grad_()
    (TF.conv2d(xt[:, None], T(w)[:, None], T(b)) * T(dz)).sum().backward()
    close(conv_input_grad(w, dz), xt.grad)


def test_conv_rejects_bad_shapes():
    with pytest.raises(ValueError):
        conv_forward(np.zeros((1, 3, 3)), np.zeros((1, 4, 4)), np.zeros(1))  # kernel > image
    with pytest.raises(ValueError):
        conv_forward(np.zeros((3, 3)), np.zeros((1, 2, 2)), np.zeros(1))  # no batch axis
    with pytest.raises(ValueError):
        conv_forward(np.zeros((1, 3, 3)), np.zeros((2, 2, 2)), np.zeros(1))  # biases ≠ filters
    with pytest.raises(ValueError):
        conv_backward(np.zeros((1, 3, 3)), np.zeros((1, 2, 2)), np.zeros((1, 1, 3, 3)))


# ------------------------------------------------------------------------------ max pooling
def torch_pool(a, p, g=None):
    """torch's pooled values, flat indices and (given g) the gradient routed to the input."""
    at = T(a).requires_grad_()
    pooled, idx = TF.max_pool2d(at, p, return_indices=True)
    if g is not None:
        pooled.backward(T(g))
    return pooled, idx.numpy(), at.grad


def check_pool(a, p, rng):
    B, F, H, W = a.shape
    pooled, argmax = maxpool_forward(a, p)
    g = rng.normal(size=pooled.shape)
    t_pooled, t_idx, t_grad = torch_pool(a, p, g)
    assert pooled.shape == argmax.shape == (B, F, H // p, W // p)
    assert pooled.dtype == np.float64 and np.issubdtype(argmax.dtype, np.integer)
    assert ((0 <= argmax) & (argmax < p * p)).all()
    np.testing.assert_array_equal(pooled, t_pooled.detach().numpy())
    np.testing.assert_array_equal(pool_plane_index(argmax, p, W), t_idx)
    da = maxpool_backward(g, argmax, p, a.shape)
    assert da.shape == a.shape and da.dtype == np.float64
    np.testing.assert_array_equal(da, t_grad.numpy())  # not merely close: the same element
    np.testing.assert_array_equal(np.signbit(da), np.signbit(t_grad.numpy()))  # no −0.0
    return argmax, da


@SETTINGS
@given(pool_cases())
def test_maxpool_matches_torch(case):
    check_pool(*case)


def test_maxpool_binary_maps_have_ties_and_match_torch():
    rng = np.random.default_rng(4)
    a = rng.integers(0, 2, size=(5, 4, 8, 8)).astype(float)
    for p in (2, 4):
        argmax, da = check_pool(a, p, rng)
        ones = maxpool_forward(a, p)[0] == 1.0
        assert (argmax[ones] > 0).any()  # some windows' first 1 is not in the top-left corner
        # each window sends its gradient to exactly one element
        assert ((da != 0).reshape(5, 4, 8 // p, p, 8 // p, p).sum(axis=(3, 5)) <= 1).all()


def test_maxpool_constant_windows_go_to_the_top_left():
    rng = np.random.default_rng(5)
    for p in (1, 2, 3):
        a = np.full((2, 3, 3 * p, 2 * p), 0.25)
        argmax, da = check_pool(a, p, rng)
        assert (argmax == 0).all()
        assert (da[:, :, ::p, ::p] != 0).all() and (da != 0).sum() == da[:, :, ::p, ::p].size
    a = np.array([[[[-0.0, 0.0], [0.0, -0.0]]]])  # signed zeros are equal: still the first
    assert maxpool_forward(a, 2)[1].item() == 0
    check_pool(a, 2, rng)


@pytest.mark.parametrize("p", [2, 3])
@pytest.mark.parametrize("ties", [2, 3])
def test_maxpool_tied_maxima_at_every_set_of_positions(p, ties):
    """One window per choice of `ties` positions holding the maximum (1.0; the rest below):
    the gradient goes to the first of them in row-major order, as in torch."""
    rng = np.random.default_rng(6)
    sets = list(itertools.combinations(range(p * p), ties))
    win = rng.uniform(-1.0, 0.9, size=(len(sets), p * p))
    for i, s in enumerate(sets):
        win[i, list(s)] = 1.0
    a = win.reshape(len(sets), 1, p, p)
    argmax, da = check_pool(a, p, rng)
    np.testing.assert_array_equal(argmax.ravel(), [s[0] for s in sets])
    assert ((da != 0).sum(axis=(1, 2, 3)) == 1).all()
    # the same windows tiled into 2 filters' maps of 3×2 windows each (B = 1)
    order = np.arange(-(-len(sets) // 12) * 12) % len(sets)  # every set, cycled to fill
    grid = win[order].reshape(-1, 2, 3, 2, p, p)  # (B, F, window row, window column, s, t)
    maps = grid.transpose(0, 1, 2, 4, 3, 5).reshape(-1, 2, 3 * p, 2 * p)
    argmax, _ = check_pool(maps, p, rng)
    np.testing.assert_array_equal(argmax.ravel(), [sets[i][0] for i in order])


def test_maxpool_nan_follows_torch():
    a = np.array([[[[0.0, 1.0], [np.nan, np.nan]], [[np.nan, 2.0], [3.0, 0.0]]]])  # (1, 2, 2, 2)
    pooled, argmax = maxpool_forward(a, 2)
    _, t_idx, _ = torch_pool(a, 2)
    assert np.isnan(pooled).all()
    np.testing.assert_array_equal(pool_plane_index(argmax, 2, 2), t_idx)


def test_maxpool_rejects_sizes_that_do_not_divide():
    with pytest.raises(ValueError):
        maxpool_forward(np.zeros((1, 1, 4, 6)), 4)
    with pytest.raises(ValueError):
        maxpool_backward(np.zeros((1, 1, 1, 1)), np.zeros((1, 1, 1, 1), int), 3, (1, 1, 4, 4))


# ------------------------------------------------------------------------------ flattening
@SETTINGS
@given(pool_cases())
def test_flatten_matches_torch_and_unflatten_inverts_it(case):
    m, _, _ = case
    B, F, H, W = m.shape
    v = flatten_maps(m)
    np.testing.assert_array_equal(v, torch.flatten(T(m), 1).numpy())
    np.testing.assert_array_equal(unflatten_maps(v, F, H, W), m)
    # (filter, row, column) order, spelled out
    n, f, r, c = B - 1, F - 1, H // 2, W - 1
    assert v[n, f * H * W + r * W + c] == m[n, f, r, c]
    # a non-contiguous stack flattens in the same logical order
    mt = np.ascontiguousarray(m.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)
    np.testing.assert_array_equal(flatten_maps(mt), v)


# ------------------------------------------------------------------------------ the whole chain
def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def chain_by_hand(x, w, b, V, c, t, p):
    """conv -> σ -> maxpool -> flatten -> dense -> σ -> half-SSE, mean over the batch:
    L = (1/B) Σ_n ½ Σ_j (y_nj − t_nj)².  Returns L and the gradients (w, b, V, c)."""
    B, F = x.shape[0], w.shape[0]
    z1 = conv_forward(x, w, b)
    a1 = sigmoid(z1)
    pooled, argmax = maxpool_forward(a1, p)
    h = flatten_maps(pooled)
    z2 = h @ V.T + c
    y = sigmoid(z2)
    L = 0.5 * ((y - t) ** 2).sum() / B
    scale = 1.0 / B
    d2 = (y - t) * y * (1.0 - y)  # per-sample δ of the dense layer (without 1/B)
    gV, gc = scale * d2.T @ h, scale * d2.sum(axis=0)
    dpool = unflatten_maps(d2 @ V, F, *pooled.shape[2:])
    d1 = maxpool_backward(dpool, argmax, p, a1.shape) * a1 * (1.0 - a1)
    gw, gb = conv_grads(x, d1, scale)
    return L, (gw, gb, gV, gc), argmax


def chain_by_torch(x, w, b, V, c, t, p):
    ps = [T(q).requires_grad_() for q in (w, b, V, c)]
    wt, bt, Vt, ct = ps
    a1 = torch.sigmoid(TF.conv2d(T(x)[:, None], wt[:, None], bt))
    h = torch.flatten(TF.max_pool2d(a1, p), 1)
    y = torch.sigmoid(h @ Vt.T + ct)
    L = 0.5 * ((y - T(t)) ** 2).sum() / len(x)
    L.backward()
    return L.item(), [q.grad for q in ps]


def check_chain(x, w, b, V, c, t, p):
    L, grads, argmax = chain_by_hand(x, w, b, V, c, t, p)
    L_t, grads_t = chain_by_torch(x, w, b, V, c, t, p)
    assert L == pytest.approx(L_t, rel=1e-12)
    for g, gt in zip(grads, grads_t):
        close(g, gt)
    return argmax


def dyadic(rng, shape):
    """Multiples of 1/8 in [−1, 1]: with 0/1 pixels every conv sum is exact in any order, so
    equal windows give bit-equal maps in numpy and in torch, and ties really are ties."""
    return rng.integers(-8, 9, size=shape) / 8.0


@st.composite
def chain_cases(draw):
    H, W = draw(st.integers(2, 9)), draw(st.integers(2, 9))
    k = draw(st.integers(1, min(H, W)))
    p = draw(st.sampled_from(common_divisors(H - k + 1, W - k + 1)))
    F, B, K = draw(st.integers(1, 4)), draw(st.integers(1, 5)), draw(st.integers(1, 3))
    binary = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if binary:
        x, w, b = images(rng, (B, H, W), "binary"), dyadic(rng, (F, k, k)), dyadic(rng, F)
    else:
        x, w, b = rng.normal(size=(B, H, W)), rng.normal(size=(F, k, k)), rng.normal(size=F)
    n = F * ((H - k + 1) // p) * ((W - k + 1) // p)
    V, c = rng.normal(size=(K, n)), rng.normal(size=K)
    return x, w, b, V, c, rng.uniform(size=(B, K)), p


@SETTINGS
@given(chain_cases())
def test_chain_gradients_match_autograd(case):
    check_chain(*case)


def read_cnn123():
    with open(CSV_PATH, newline="") as fh:
        rows = list(csv.DictReader(fh))
    x = np.array([[[float(r[f"p{i}_{j}"]) for j in range(1, 7)] for i in range(1, 7)]
                  for r in rows])
    t = np.array([[float(r[f"t{j}"]) for j in (1, 2, 3)] for r in rows])
    labels = [int(r["label"]) for r in rows]
    return x, t, labels, rows


@pytest.mark.parametrize("F,k,p", [(2, 3, 2), (3, 3, 4), (3, 3, 1), (2, 5, 2), (4, 2, 5)])
def test_chain_on_the_cnn123_digits(F, k, p):
    """The example data set through the chain, with dyadic conv weights: many tied maxima
    (equal pixel patterns give equal maps), and the gradients still match torch's."""
    x, t, _, _ = read_cnn123()
    rng = np.random.default_rng(F * 100 + k * 10 + p)
    w, b = dyadic(rng, (F, k, k)), dyadic(rng, F)
    n = F * ((6 - k + 1) // p) ** 2
    V, c = rng.normal(size=(3, n)), rng.normal(size=3)
    argmax = check_chain(x, w, b, V, c, t, p)
    if p > 1:  # the test is only worth something if some window's maximum was tied
        a = sigmoid(conv_forward(x, w, b))
        pooled = maxpool_forward(a, p)[0]
        m = (6 - k + 1) // p
        win = a.reshape(len(x), F, m, p, m, p)
        tied = (win == pooled[:, :, :, None, :, None]).sum(axis=(3, 5)) > 1
        assert tied.any() and argmax.shape == pooled.shape


# ------------------------------------------------------------------------------ the data set
def test_cnn123_csv_is_well_formed():
    x, t, labels, rows = read_cnn123()
    header = list(rows[0].keys())
    pixels = [f"p{i}_{j}" for i in range(1, 7) for j in range(1, 7)]
    assert header == ["label"] + pixels + ["t1", "t2", "t3"]
    assert 12 <= len(rows) <= 15
    assert set(np.unique(x)) <= {0.0, 1.0}
    np.testing.assert_array_equal(t, np.eye(3)[np.array(labels) - 1])
    for d in (1, 2, 3):
        assert 4 <= labels.count(d) <= 5
    assert len({img.tobytes() for img in x}) == len(rows)  # no image twice


def describe_variant(img, clean, ref):
    """How ``img`` differs from ``clean`` (called ``ref``), worked out from the pixels."""
    if (img == clean).all():
        return "the clean image"
    for name, dr, dc in (("down", 1, 0), ("up", -1, 0), ("right", 0, 1), ("left", 0, -1)):
        shifted = np.zeros_like(clean)
        src = clean[max(0, -dr) : 6 - max(0, dr), max(0, -dc) : 6 - max(0, dc)]
        shifted[max(0, dr) : 6 - max(0, -dr), max(0, dc) : 6 - max(0, -dc)] = src
        if (img == shifted).all() and shifted.sum() == clean.sum():
            return f"{ref} shifted one pixel {name}"
    added, removed = int(((img == 1) & (clean == 0)).sum()), int(((img == 0) & (clean == 1)).sum())
    parts = [f"{added} pixel{'s' * (added != 1)} added"] * bool(added)
    parts += [f"{removed} pixel{'s' * (removed != 1)} removed"] * bool(removed)
    return f"{ref} with " + " and ".join(parts)


def render_cnn123_md() -> str:
    x, t, labels, rows = read_cnn123()
    out = [
        "# cnn123: 6×6 black-and-white digits 1, 2, 3",
        "",
        "A small data set for the convolutional layers: `cnn123.csv` holds one image per row,",
        "`label` (1, 2 or 3), the 36 pixels `p1_1 … p6_6` row by row (`pr_c` = row r, column c;",
        "1 = black, drawn `#`; 0 = white, drawn `.`) and the one-hot targets `t1, t2, t3`.",
        "For each digit the first row is the clean drawing and the others are hand-made variants",
        "(shifted by a pixel, a stroke thicker or thinner, a pixel of noise).",
        "",
        "Generated from the CSV by `python tests/test_conv.py` (do not edit by hand;",
        "`test_cnn123_md_matches_csv` fails when the two disagree). No spec uses it yet.",
        "",
    ]
    art = ["".join("#" if v else "." for v in row) for img in x for row in img]
    art = [art[6 * n : 6 * n + 6] for n in range(len(x))]
    out += ["Overview, one digit per line of blocks, labelled by CSV line:", "", "```"]
    for d in sorted(set(labels)):
        lines = [i for i, lab in enumerate(labels) if lab == d]
        out.append("  ".join(f"{f'line {i + 2}':<7}" for i in lines).rstrip())
        out += ["  ".join(f"{art[i][r]:<7}" for i in lines).rstrip() for r in range(6)] + [""]
    out[-1] = "```"
    out.append("")
    clean = {}
    for i, (img, lab) in enumerate(zip(x, labels), start=2):  # CSV line numbers (header = 1)
        first = clean.setdefault(lab, (i, img))
        note = describe_variant(img, first[1], f"line {first[0]}")
        onehot = ", ".join(f"{v:g}" for v in t[i - 2])
        out += [f"## CSV line {i}: digit {lab}, targets ({onehot}): {note}", "", "```"]
        out += art[i - 2]
        out += ["```", ""]
    return "\n".join(out)


def test_cnn123_md_matches_csv():
    with open(MD_PATH, encoding="utf-8") as fh:
        assert fh.read() == render_cnn123_md(), "cnn123.md is stale: run python tests/test_conv.py"


if __name__ == "__main__":
    with open(MD_PATH, "w", encoding="utf-8") as fh:
        fh.write(render_cnn123_md())
    print(f"wrote {MD_PATH}")
