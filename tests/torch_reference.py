"""An independent PyTorch (float64) implementation of a sheetnet spec, for reference tests.

``torch_train(spec_dict, orders)`` reads the spec as a plain dict (shaped like the TOML),
builds the network from explicit tensors (weights [out][in], as the spec writes them),
computes the loss of SPEC.md with torch's own functions, lets autograd differentiate it and
``torch.optim`` update the parameters.  Nothing here imports sheetnet: the defaults are the
ones SPEC.md documents, written out again on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

DTYPE = torch.float64

# [train] defaults of SPEC.md (eps: 1e-10 for adagrad, 1e-8 otherwise)
TRAIN_DEFAULTS = dict(optimizer="sgd", lr=0.5, epochs=1, batch_size=0, shuffle=False, seed=0,
                      freeze_biases=False, momentum=0.9, beta1=0.9, beta2=0.999, alpha=0.99,
                      eps=None, l2=0.0, l1=0.0, lr_decay=0.0)

# activation name -> torch function of the net input z.  softmax is handled by the
# cross-entropy loss through log_softmax (the only place SPEC.md allows it).
ACTIVATIONS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda z: F.leaky_relu(z, negative_slope=0.01),
    "linear": lambda z: z,
    "softmax": lambda z: torch.softmax(z, dim=1),
}


def _per_sample_loss(kind: str, y, z, t, delta: float):
    """l_n of SPEC.md, shape (B,): sum or mean over the K outputs of each sample."""
    if kind == "half_sse":
        return 0.5 * ((y - t) ** 2).sum(dim=1)
    if kind == "mse":
        return F.mse_loss(y, t, reduction="none").mean(dim=1)
    if kind == "cross_entropy":
        return -(t * F.log_softmax(z, dim=1)).sum(dim=1)
    if kind == "binary_cross_entropy":
        return F.binary_cross_entropy(y, t, reduction="none").mean(dim=1)
    if kind == "huber":
        return F.huber_loss(y, t, reduction="none", delta=delta).mean(dim=1)
    if kind == "hinge":
        return torch.clamp(1.0 - t * y, min=0.0).mean(dim=1)
    raise KeyError(f"no torch reference for loss {kind!r}")


LOSSES = ("half_sse", "mse", "cross_entropy", "binary_cross_entropy", "huber", "hinge")
OPTIMIZERS = ("sgd", "momentum", "adagrad", "rmsprop", "adam")


def _optimizer(tr: dict, params):
    name, lr, eps = tr["optimizer"], tr["lr"], tr["eps"]
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=tr["momentum"], dampening=0.0)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, lr_decay=0.0, eps=eps, initial_accumulator_value=0.0)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=tr["alpha"], eps=eps, centered=False, momentum=0.0)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(tr["beta1"], tr["beta2"]), eps=eps)
    raise KeyError(f"no torch reference for optimizer {name!r}")


@dataclass
class TorchRun:
    losses: np.ndarray  # batch loss of every step (with the penalty), before its update
    layers: list  # final [{"weights": (out, in) array, "biases": (out,) array}]
    grads: list = field(default_factory=list)  # per step: [(dL/dW, dL/db) per layer]
    z: list = field(default_factory=list)  # per step: [net inputs (B, size) per layer]
    weights: list = field(default_factory=list)  # per step: [W per layer] before the update

    def to_json(self) -> dict:
        return {"losses": self.losses.tolist(),
                "layers": [{"weights": L["weights"].tolist(), "biases": L["biases"].tolist()} for L in self.layers]}


def torch_train(spec_dict: dict, orders=None, record: bool = True) -> TorchRun:
    """Train the spec's network with torch; ``orders`` is the (epochs, N) sample order.

    ``orders`` may be left out when ``shuffle`` is false (then every epoch is 0..N−1).
    Every dense layer must give explicit ``weights`` and ``biases``.
    """
    tr = {**TRAIN_DEFAULTS, **spec_dict.get("train", {})}
    if tr["eps"] is None:
        tr["eps"] = 1e-10 if tr["optimizer"] == "adagrad" else 1e-8
    loss_cfg = {"reduction": "mean", "delta": 1.0, **spec_dict["loss"]}
    X = torch.tensor(np.asarray(spec_dict["data"]["inputs"], dtype=float), dtype=DTYPE)
    T = torch.tensor(np.asarray(spec_dict["data"]["targets"], dtype=float), dtype=DTYPE)
    n = X.shape[0]
    epochs = int(tr["epochs"])
    if orders is None:
        if tr["shuffle"]:
            raise ValueError("shuffle = true needs the sample orders")
        orders = np.broadcast_to(np.arange(n), (epochs, n))
    orders = np.asarray(orders)
    assert orders.shape == (epochs, n), orders.shape
    size = int(tr["batch_size"]) or n

    Ws, bs, acts = [], [], []
    for layer in spec_dict["layers"][1:]:
        if layer.get("kind", "dense") != "dense":
            raise ValueError("the torch reference builds dense layers only")
        Ws.append(torch.tensor(np.asarray(layer["weights"], dtype=float), dtype=DTYPE, requires_grad=True))
        bs.append(torch.tensor(np.asarray(layer["biases"], dtype=float), dtype=DTYPE, requires_grad=True))
        acts.append(layer["activation"])
    trainable = Ws if tr["freeze_biases"] else [p for pair in zip(Ws, bs) for p in pair]
    opt = _optimizer(tr, trainable)
    everything = Ws + bs

    losses, grads, zs, weights = [], [], [], []
    for e in range(epochs):
        for group in opt.param_groups:
            group["lr"] = tr["lr"] / (1.0 + tr["lr_decay"] * e)
        for start in range(0, n, size):
            idx = torch.as_tensor(orders[e, start:start + size].copy())
            x, t = X[idx], T[idx]
            for p in everything:
                p.grad = None
            a, z_layers = x, []
            for W, b, act in zip(Ws, bs, acts):
                z = a @ W.T + b
                a = ACTIVATIONS[act](z)
                z_layers.append(z)
            per_sample = _per_sample_loss(loss_cfg["kind"], a, z_layers[-1], t, float(loss_cfg["delta"]))
            batch = per_sample.mean() if loss_cfg["reduction"] == "mean" else per_sample.sum()
            if tr["l2"]:
                batch = batch + 0.5 * tr["l2"] * sum((W ** 2).sum() for W in Ws)
            if tr["l1"]:
                batch = batch + tr["l1"] * sum(W.abs().sum() for W in Ws)
            batch.backward()
            losses.append(batch.item())
            if record:
                grads.append([(W.grad.numpy().copy(), b.grad.numpy().copy()) for W, b in zip(Ws, bs)])
                zs.append([z.detach().numpy().copy() for z in z_layers])
                weights.append([W.detach().numpy().copy() for W in Ws])
            opt.step()

    final = [{"weights": W.detach().numpy().copy(), "biases": b.detach().numpy().copy()} for W, b in zip(Ws, bs)]
    return TorchRun(losses=np.array(losses), layers=final, grads=grads, z=zs, weights=weights)
