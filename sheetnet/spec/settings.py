"""The [loss] and [train] tables: their dataclasses, defaults and range rules (SPEC.md)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import SpecError, suggest
from ..ops import LOSSES, OPTIMIZERS
from .checks import as_number, no_unknown
from ..i18n import _

@dataclass(frozen=True)
class Loss:
    kind: str = "half_sse"
    reduction: str = "mean"
    delta: float = 1.0


@dataclass(frozen=True)
class Train:
    optimizer: str = "sgd"
    lr: float = 0.5
    epochs: int = 1
    batch_size: int = 0
    shuffle: bool = False
    seed: int = 0
    freeze_biases: bool = False
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    alpha: float = 0.99
    eps: float = 1e-8
    l2: float = 0.0
    l1: float = 0.0
    lr_decay: float = 0.0


LOSS_KEYS = ("kind", "reduction", "delta")
TRAIN_DEFAULTS = dict(optimizer="sgd", lr=0.5, epochs=1, batch_size=0, shuffle=False, seed=0,
                      freeze_biases=False, momentum=0.9, beta1=0.9, beta2=0.999, alpha=0.99,
                      eps=None, l2=0.0, l1=0.0, lr_decay=0.0)


def parse_loss(t, fname) -> Loss:
    where = f"{fname}, [loss]"
    no_unknown(t, LOSS_KEYS, where)
    if "kind" not in t:
        raise SpecError(_("missing required key 'kind'"), where)
    LOSSES.get_named(t["kind"], _("{where} key 'kind'").format(where=where))
    reduction = t.get("reduction", "mean")
    if reduction not in ("mean", "sum"):
        raise SpecError(_("unknown reduction {reduction}").format(
            reduction=repr(reduction)) + suggest(reduction, ("mean", "sum")),
                        _("{where} key 'reduction'").format(where=where))
    delta = as_number(t.get("delta", 1.0), _("{where} key 'delta'").format(where=where))
    if delta <= 0:
        raise SpecError(_("must be > 0, got {delta}").format(
            delta=delta), _("{where} key 'delta'").format(where=where))
    return Loss(kind=t["kind"], reduction=reduction, delta=delta)


def parse_train(t, fname) -> Train:
    where = f"{fname}, [train]"
    no_unknown(t, TRAIN_DEFAULTS, where)
    opt = t.get("optimizer", "sgd")
    OPTIMIZERS.get_named(opt, _("{where} key 'optimizer'").format(where=where))
    values = {}
    for key, default in TRAIN_DEFAULTS.items():
        if key == "optimizer":
            continue
        v = t.get(key, default)
        kw = _("{where} key '{key}'").format(where=where, key=key)
        if key in ("shuffle", "freeze_biases"):
            if not isinstance(v, bool):
                raise SpecError(_("expected true or false, got {v}").format(v=repr(v)), kw)
        elif key == "eps" and v is None:
            v = 1e-10 if opt == "adagrad" else 1e-8
        else:
            v = as_number(v, kw, integer=key in ("epochs", "batch_size", "seed"))
        values[key] = v
    train = Train(optimizer=opt, **values)
    check_train_ranges(train, fname)
    return train


def check_train_ranges(tr: Train, fname: str):
    where = f"{fname}, [train]"
    rules = [
        ("lr", tr.lr > 0, "> 0"), ("epochs", tr.epochs >= 1, "at least 1"),
        ("batch_size", tr.batch_size >= 0, ">= 0"), ("seed", tr.seed >= 0, ">= 0"),
        ("momentum", 0 <= tr.momentum < 1, "in [0, 1)"), ("beta1", 0 <= tr.beta1 < 1, "in [0, 1)"),
        ("beta2", 0 <= tr.beta2 < 1, "in [0, 1)"), ("alpha", 0 < tr.alpha < 1, "in (0, 1)"),
        ("eps", tr.eps > 0, "> 0"), ("l1", tr.l1 >= 0, ">= 0"), ("l2", tr.l2 >= 0, ">= 0"),
        ("lr_decay", tr.lr_decay >= 0, ">= 0"),
    ]
    for key, ok, rule in rules:
        if not ok:
            raise SpecError(_("must be {rule}, got {value}").format(
                rule=rule, value=getattr(tr, key)), _("{where} key '{key}'").format(where=where, key=key))
