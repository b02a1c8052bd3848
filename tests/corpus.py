"""Specs that together cover every registry entry, optimizer, batch mode and setting of
SPEC.md, small enough to recalculate in a spreadsheet engine within seconds."""

from __future__ import annotations

import copy

import numpy as np


def dense(size, activation, weights=None, biases=None, **kw):
    layer = {"kind": "dense", "size": size, "activation": activation, **kw}
    if weights is not None:
        layer["weights"], layer["biases"] = weights, biases
    return layer


def make(hidden="sigmoid", out="sigmoid", loss="half_sse", reduction="mean", optimizer="sgd", n=3,
         epochs=2, batch_size=0, n_in=2, n_hidden=3, n_out=2, targets=None, seed=1, **train):
    """A small 2-layer network with explicit, reproducible weights and data."""
    rng = np.random.default_rng(seed)
    inputs = rng.uniform(-1, 1, (n, n_in)).round(3)
    if targets is None:
        if loss == "cross_entropy":
            targets = np.eye(n_out)[rng.integers(0, n_out, n)]
        elif loss == "hinge":
            targets = rng.choice([-1.0, 1.0], (n, n_out))
        else:
            targets = rng.uniform(0.05, 0.95, (n, n_out)).round(3)
    spec = {
        "name": f"{hidden}-{out}-{loss}-{reduction}-{optimizer}",
        "layers": [
            {"kind": "input", "size": n_in},
            dense(n_hidden, hidden, rng.uniform(-0.8, 0.8, (n_hidden, n_in)).round(3).tolist(),
                  rng.uniform(-0.3, 0.3, n_hidden).round(3).tolist()),
            dense(n_out, out, rng.uniform(-0.8, 0.8, (n_out, n_hidden)).round(3).tolist(),
                  rng.uniform(-0.3, 0.3, n_out).round(3).tolist()),
        ],
        "loss": {"kind": loss, "reduction": reduction},
        "train": {"optimizer": optimizer, "lr": 0.3, "epochs": epochs, "batch_size": batch_size, **train},
        "data": {"inputs": inputs.tolist(), "targets": np.asarray(targets, dtype=float).tolist()},
    }
    return spec


def mazur_like_extreme():
    """Net inputs of ±1000 (sigmoid) and ±800 (softmax): nothing may overflow."""
    spec = make(hidden="sigmoid", out="softmax", loss="cross_entropy", n=2, epochs=1)
    spec["layers"][1]["weights"] = [[1000.0, 0.0], [-1000.0, 0.0], [0.0, 0.5]]
    spec["layers"][2]["weights"] = [[800.0, -800.0, 0.0], [-800.0, 800.0, 0.0]]
    spec["data"]["inputs"] = [[1.0, 0.2], [-1.0, 0.4]]
    spec["name"] = "extreme"
    return spec


def bce_saturated():
    """Binary cross-entropy with outputs at exactly 0 and 1: the ln clamp at −100 must hold."""
    spec = make(hidden="relu", out="sigmoid", loss="binary_cross_entropy", n=2, epochs=1, n_out=2)
    spec["layers"][2]["weights"] = [[900.0, 900.0, 900.0], [-900.0, -900.0, -900.0]]
    spec["layers"][1]["weights"] = [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]]
    spec["layers"][1]["biases"] = [1.0, 1.0, 1.0]
    spec["data"]["inputs"] = [[0.5, 0.5], [0.2, 0.1]]
    spec["data"]["targets"] = [[0.0, 1.0], [0.3, 0.6]]
    spec["name"] = "bce-saturated"
    return spec


def cnn(epochs=2, batch_size=0, optimizer="sgd", pool=2, **train):
    """A small CNN on 6x6 binary images: conv (2 filters 3x3) -> maxpool -> dense; binary pixels
    and weights that are multiples of 1/8 make ties in the pooling windows exact, so the
    first-maximum rule is exercised."""
    rng = np.random.default_rng(3)
    n = 4
    images = (rng.random((n, 36)) > 0.5).astype(float)
    images[0] = 1.0  # a blank-ish image: every window tied
    kernels = (rng.integers(-4, 5, (2, 3, 3)) / 8).tolist()
    size = 2 * (4 // pool) ** 2
    return {
        "name": "cnn",
        "layers": [
            {"kind": "input", "shape": [6, 6]},
            {"kind": "conv", "filters": 2, "kernel": 3, "activation": "relu", "weights": kernels,
             "biases": [0.125, -0.25]},
            {"kind": "maxpool", "size": pool},
            dense(3, "sigmoid", rng.uniform(-0.8, 0.8, (3, size)).round(3).tolist(),
                  rng.uniform(-0.3, 0.3, 3).round(3).tolist()),
        ],
        "loss": {"kind": "half_sse", "reduction": "sum"},
        "train": {"optimizer": optimizer, "lr": 0.3, "epochs": epochs, "batch_size": batch_size, **train},
        "data": {"inputs": images.tolist(), "targets": np.eye(3)[rng.integers(0, 3, n)].tolist()},
    }


def corpus() -> dict[str, tuple[dict, str]]:
    """name -> (spec dict, layout)."""
    out = {}
    for act in ("sigmoid", "tanh", "relu", "leaky_relu", "linear"):
        out[f"act-{act}"] = (make(hidden=act), "steps")
    for loss, outact in (("half_sse", "sigmoid"), ("mse", "tanh"), ("binary_cross_entropy", "sigmoid"),
                         ("huber", "linear"), ("hinge", "tanh"), ("cross_entropy", "softmax")):
        for red in ("mean", "sum"):
            out[f"loss-{loss}-{red}"] = (make(out=outact, loss=loss, reduction=red, n=2, epochs=1), "steps")
    out["loss-huber-delta"] = (make(out="linear", loss="huber", n=3, epochs=2), "steps")
    out["loss-huber-delta"][0]["loss"]["delta"] = 0.2
    for opt in ("sgd", "momentum", "adagrad", "rmsprop", "adam"):
        out[f"opt-{opt}"] = (make(optimizer=opt, epochs=3, lr=0.05), "steps")
    out["batch-sgd"] = (make(n=3, batch_size=1, epochs=2), "steps")
    out["batch-mini-short"] = (make(n=5, batch_size=2, epochs=2), "steps")
    out["batch-shuffle"] = (make(n=4, batch_size=3, epochs=3, shuffle=True, seed=7), "steps")
    out["penalties"] = (make(n=3, epochs=2, l1=0.01, l2=0.05), "steps")
    out["lr-decay"] = (make(n=2, epochs=3, lr_decay=0.5, optimizer="momentum"), "steps")
    out["frozen-adam"] = (make(n=2, epochs=3, freeze_biases=True, optimizer="adam", lr=0.05), "steps")
    out["extreme"] = (mazur_like_extreme(), "steps")
    out["bce-saturated"] = (bce_saturated(), "steps")
    compact = make(out="softmax", loss="cross_entropy", n=5, batch_size=2, epochs=12, optimizer="adam",
                   lr=0.05, l2=0.01, shuffle=True)
    out["compact-adam"] = (compact, "compact")
    out["compact-rmsprop-sum"] = (make(n=3, epochs=35, optimizer="rmsprop", reduction="sum", lr=0.01,
                                       lr_decay=0.1, l1=0.001), "compact")
    out["compact-frozen-sgd1"] = (make(n=2, batch_size=1, epochs=20, freeze_biases=True, optimizer="adagrad"),
                                  "compact")
    out["cnn-steps"] = (cnn(epochs=2, l2=0.01), "steps")
    out["cnn-compact-adam"] = (cnn(epochs=16, batch_size=3, optimizer="adam", lr=0.05, pool=4), "compact")
    return {k: (copy.deepcopy(v[0]), v[1]) for k, v in out.items()}
