"""Convolution and max pooling: the numpy kernels behind ``conv`` and ``maxpool`` layers.

Shapes: a batch of B single-channel images x is (B, H, W); F filters of size k×k are
w (F, k, k) with biases b (F,); the maps are (B, F, Ho, Wo) with Ho = H−k+1, Wo = W−k+1
(stride 1, no padding).  Pooling uses non-overlapping p×p windows, so (B, F, H, W) pools
to (B, F, H/p, W/p).  Everything is float64 and follows torch's conventions
(``conv2d`` is a cross-correlation; ``max_pool2d`` sends a window's gradient to the first
maximum in row-major order; ``flatten`` orders a map stack by filter, row, column).

Every function is vectorised over the batch and the pixels: the conv is one matrix product
per sample (the filters times the image's k·k shifted copies), and the only Python loops run
over the k×k kernel offsets (``conv_input_grad``) or the p×p window offsets
(``maxpool_backward``).  Nothing here keeps state: the engine owns the parameters and sums
or averages the per-sample gradients itself (``conv_grads`` does it the way the dense
layers do: sum over the batch, then one multiplication by ``scale``).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "conv_forward", "conv_backward", "conv_grads", "conv_input_grad",
    "maxpool_forward", "maxpool_backward", "pool_plane_index",
    "flatten_maps", "unflatten_maps",
]


def _as_float(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def _check_conv(x: np.ndarray, k: int) -> tuple[int, int, int]:
    if x.ndim != 3:
        raise ValueError(f"expected images shaped (B, H, W), got shape {x.shape}")
    B, H, W = x.shape
    if not 1 <= k <= min(H, W):
        raise ValueError(f"a {k}×{k} kernel does not fit a {H}×{W} image")
    return B, H - k + 1, W - k + 1


def _taps(x: np.ndarray, k: int) -> np.ndarray:
    """X (B, k·k, Ho·Wo) with X[n, u·k+v, r·Wo+c] = x[n, r+u, c+v]: for each kernel offset
    (u, v), the part of the image that weight w[f,u,v] meets (one contiguous copy)."""
    B, H, W = x.shape
    Ho, Wo = H - k + 1, W - k + 1
    taps = sliding_window_view(x, (Ho, Wo), axis=(1, 2))  # (B, k, k, Ho, Wo), a view
    return np.ascontiguousarray(taps).reshape(B, k * k, Ho * Wo)


def conv_forward(x, w, b, out=None) -> np.ndarray:
    """Net inputs of a conv layer: z (B, F, Ho, Wo) from x (B, H, W), w (F, k, k), b (F,).

        z[n,f,r,c] = Σ_{u,v} w[f,u,v]·x[n, r+u, c+v] + b[f]      (u, v = 0 … k−1)

    a cross-correlation with stride 1 and no padding, exactly torch.nn.functional.conv2d
    on (B, 1, H, W) images and (F, 1, k, k) weights.  Computed per sample as one matrix
    product z_n = W·X_n (W the filters as rows of k·k weights, X_n the image's k·k shifted
    copies, see ``_taps``), then the bias is added.
    ``out``: a C-contiguous (B, F, Ho, Wo) array to write z into.
    """
    x, w, b = _as_float(x), _as_float(w), _as_float(b)
    F, k = w.shape[0], w.shape[1]
    if w.shape != (F, k, k) or b.shape != (F,):
        raise ValueError(f"expected w (F, k, k) and b (F,), got {w.shape} and {b.shape}")
    B, Ho, Wo = _check_conv(x, k)
    z = np.empty((B, F, Ho, Wo)) if out is None else out
    if z.shape != (B, F, Ho, Wo) or not z.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous array shaped {(B, F, Ho, Wo)}")
    zf = z.reshape(B, F, Ho * Wo)  # a view of z (z is C-contiguous)
    np.matmul(w.reshape(F, k * k), _taps(x, k), out=zf)
    zf += b[:, None]
    return z


def conv_backward(x, w, dz) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample gradients of a conv layer's parameters from its deltas δ = ∂L/∂z.

        dw[n,f,u,v] = Σ_{r,c} δ[n,f,r,c]·x[n, r+u, c+v]        (B, F, k, k)
        db[n,f]     = Σ_{r,c} δ[n,f,r,c]                        (B, F)

    i.e. the cross-correlation of each image with its own delta maps, computed as the
    matrix product dw_n = δ_n·X_nᵀ with the same X_n as ``conv_forward``.  ``w`` only
    supplies k (and F); its values do not enter.  No batch reduction: see ``conv_grads``.
    """
    x, dz = _as_float(x), _as_float(dz)
    w = np.asarray(w)
    F, k = w.shape[0], w.shape[-1]
    B, Ho, Wo = _check_conv(x, k)
    if dz.shape != (B, F, Ho, Wo):
        raise ValueError(f"expected deltas shaped {(B, F, Ho, Wo)}, got {dz.shape}")
    d = dz.reshape(B, F, Ho * Wo)
    dw = np.matmul(d, _taps(x, k).transpose(0, 2, 1)).reshape(B, F, k, k)
    db = np.add.reduce(d, axis=2)  # as d.sum(axis=2)
    return dw, db


def conv_grads(x, dz, scale: float = 1.0, out=None) -> tuple[np.ndarray, np.ndarray]:
    """Batch gradients of a conv layer: dw (F, k, k) and db (F,).

        dw[f,u,v] = scale · Σ_n Σ_{r,c} δ[n,f,r,c]·x[n, r+u, c+v]
        db[f]     = scale · Σ_n Σ_{r,c} δ[n,f,r,c]

    computed as ``scale · conv_backward(...)`` summed over the batch (axis 0); ``scale`` is
    1/B for reduction = "mean" and 1 for "sum" (a scale of 1 multiplies nothing, as in the
    engine's dense layers).  k is read off the shapes: k = H − Ho + 1.
    ``out``: a pair of arrays (F, k, k) and (F,) to write dw and db into.
    """
    x, dz = _as_float(x), _as_float(dz)
    F, k = dz.shape[1], x.shape[1] - dz.shape[2] + 1
    dw_n, db_n = conv_backward(x, np.empty((F, k, k)), dz)
    dw, db = (np.empty((F, k, k)), np.empty(F)) if out is None else out
    np.add.reduce(dw_n, axis=0, out=dw)
    np.add.reduce(db_n, axis=0, out=db)
    if scale != 1.0:
        dw *= scale
        db *= scale
    return dw, db


def conv_input_grad(w, dz) -> np.ndarray:
    """∂L/∂x (B, H, W) from the deltas δ (B, F, Ho, Wo): the "full" convolution

        dx[n,i,j] = Σ_{f,u,v} w[f,u,v]·δ[n,f,i−u,j−v]      (terms outside δ count as 0)

    with H = Ho+k−1, W = Wo+k−1.  Not needed while a conv layer sits right after the input;
    here for completeness and tested like the rest.
    """
    w, dz = _as_float(w), _as_float(dz)
    k = w.shape[1]
    B, _, Ho, Wo = dz.shape
    dx = np.zeros((B, Ho + k - 1, Wo + k - 1))
    for u in range(k):
        for v in range(k):
            dx[:, u:u + Ho, v:v + Wo] += np.einsum("f,nfrc->nrc", w[:, u, v], dz)
    return dx


def _windows(a: np.ndarray, p: int) -> np.ndarray:
    """(B, F, H, W) -> (B, F, H/p, W/p, p·p): each window's values, row-major within it."""
    B, F, H, W = a.shape
    return (a.reshape(B, F, H // p, p, W // p, p)
             .transpose(0, 1, 2, 4, 3, 5)
             .reshape(B, F, H // p, W // p, p * p))


def _check_pool(shape, p: int) -> None:
    if len(shape) != 4:
        raise ValueError(f"expected maps shaped (B, F, H, W), got shape {tuple(shape)}")
    H, W = shape[2], shape[3]
    if p < 1 or H % p or W % p:
        raise ValueError(f"pool size {p} does not divide the {H}×{W} maps")


def maxpool_forward(a, p: int) -> tuple[np.ndarray, np.ndarray]:
    """Max pooling over non-overlapping p×p windows of a (B, F, H, W), p dividing H and W.

        pooled[n,f,i,j] = max_{s,t} a[n,f, i·p+s, j·p+t]          (s, t = 0 … p−1)
        argmax[n,f,i,j] = the smallest s·p+t at which that maximum occurs

    Returns (pooled (B, F, H/p, W/p), argmax (B, F, H/p, W/p), integer): argmax is the
    position *within the window*, row-major, of its FIRST maximum -- torch's rule, which
    matters because tied maxima are common with 0/1 images.  ``pool_plane_index`` turns it
    into torch's ``return_indices`` numbering.  (A window holding NaN pools to NaN at its
    last NaN, again as torch does; finite inputs never get there.)
    """
    a = _as_float(a)
    _check_pool(a.shape, p)
    win = _windows(a, p)
    argmax = np.argmax(win, axis=-1)  # np.argmax returns the first of tied maxima
    pooled = np.take_along_axis(win, argmax[..., None], axis=-1)[..., 0]
    if np.isnan(pooled).any():  # a window with NaN: torch keeps its LAST NaN, numpy its first
        nan = np.isnan(win)
        last = p * p - 1 - np.argmax(nan[..., ::-1], axis=-1)
        argmax = np.where(nan.any(axis=-1), last, argmax)
    return pooled, argmax


def maxpool_backward(d_pooled, argmax, p: int, shape) -> np.ndarray:
    """∂L/∂a (B, F, H, W) from ∂L/∂pooled (B, F, H/p, W/p): each window's gradient goes to
    its first maximum only (the position ``argmax`` from ``maxpool_forward``), 0 elsewhere:

        da[n,f, i·p+s, j·p+t] = d_pooled[n,f,i,j] if s·p+t = argmax[n,f,i,j] else 0

    Tied maxima do not share the gradient (torch's rule).  ``shape`` = (B, F, H, W).
    """
    d_pooled = _as_float(d_pooled)
    B, F, H, W = shape
    _check_pool(shape, p)
    if d_pooled.shape != (B, F, H // p, W // p) or np.shape(argmax) != d_pooled.shape:
        raise ValueError(f"expected gradients and argmax shaped {(B, F, H // p, W // p)}, "
                         f"got {d_pooled.shape} and {np.shape(argmax)}")
    argmax = np.asarray(argmax)
    da = np.empty((B, F, H, W))
    for s in range(p):  # da[..., s::p, t::p]: the element at offset (s, t) of every window
        for t in range(p):
            np.multiply(d_pooled, argmax == s * p + t, out=da[:, :, s::p, t::p])
    da += 0.0  # −g·0 is −0.0: make every zero +0.0, as torch's (and as a sheet shows it)
    return da


def pool_plane_index(argmax, p: int, W: int) -> np.ndarray:
    """torch's ``max_pool2d(..., return_indices=True)`` numbering of ``argmax``: the flat
    index r·W + c in the (H, W) map, with r = i·p + argmax // p and c = j·p + argmax % p."""
    argmax = np.asarray(argmax)
    i = np.arange(argmax.shape[-2])[:, None]
    j = np.arange(argmax.shape[-1])[None, :]
    return (i * p + argmax // p) * W + (j * p + argmax % p)


def flatten_maps(m) -> np.ndarray:
    """(B, F, H, W) -> (B, F·H·W) in (filter, row, column) order, as torch.flatten(m, 1):

        v[n, f·H·W + r·W + c] = m[n,f,r,c]

    (numpy's C-order reshape; a view when ``m`` is C-contiguous, else a copy).
    """
    m = _as_float(m)
    if m.ndim != 4:
        raise ValueError(f"expected maps shaped (B, F, H, W), got shape {m.shape}")
    return m.reshape(m.shape[0], -1)


def unflatten_maps(v, F: int, H: int, W: int) -> np.ndarray:
    """The inverse of ``flatten_maps``: (B, F·H·W) -> (B, F, H, W),

        m[n,f,r,c] = v[n, f·H·W + r·W + c]

    e.g. to turn a dense layer's δ·W (the gradient w.r.t. its flattened input) back into maps.
    """
    v = _as_float(v)
    if v.ndim != 2 or v.shape[1] != F * H * W:
        raise ValueError(f"expected (B, {F * H * W}) values, got shape {v.shape}")
    return v.reshape(v.shape[0], F, H, W)
