"""The formula of every cell of a step, from the registry and a resolver of references.

``StepFormulas(model, resolve)`` asks ``resolve`` for the text that stands for a quantity
(``resolve.one(kind, layer, item, pos)``, ``resolve.span(kind, layer, items, positions)``).
With cell references it gives the workbook's formulas; with names it gives the equation
shown beside them (``net_h1 = w1·i1 + w2·i2 + b[h1]``).  Either way the text comes from
the ops registry, the only place that knows Excel's function names.
"""

from __future__ import annotations

from ..ops import formula as f
from ..ops import penalty
from ..engine.wiring import wirings


class StepFormulas:
    def __init__(self, model, resolve):
        self.m, self.r = model, resolve
        self.P = model.params
        self.last = len(model.acts) - 1
        self.K = model.spec.layers[-1].size
        self.loss_names = {"delta": resolve.setting("delta")}
        tr = model.spec.train
        self.penalised = bool(tr.l1 or tr.l2)
        self.wiring = wirings(model.spec, self.P)

    # -- helpers ---------------------------------------------------------------
    def layer_of(self, idx):
        """The layer whose parameter ``idx`` is."""
        return next(l for l, s in enumerate(self.P.slices) if s.start <= idx < s.stop)

    def a(self, l, i, pos):
        """Output of unit i of layer l (l = −1: the input)."""
        return self.r.one("in", None, i, pos) if l < 0 else self.r.one("out", l, i, pos)

    def units(self, kind, l, pos):
        n = self.m.spec.layers[l + 1].size if l is not None else self.K
        return self.r.span(kind, l, (0, n - 1), (pos, pos))

    # -- one formula per kind ----------------------------------------------------
    def formula(self, kind, layer, item, step, pos=0) -> str:
        return self.r.named(getattr(self, "f_" + kind)(layer, item, step, pos))

    def f_in(self, layer, i, step, pos):
        return self.r.source("in", i, step, pos)

    def f_t(self, layer, k, step, pos):
        return self.r.source("t", k, step, pos)

    def f_kernel(self, l, item, step, pos):
        """A filter's weight, drawn as a grid beside the maps: the start value of the step."""
        return self.r.one("p0", None, self.P.w_slices[l].start + item)

    def f_net(self, l, j, step, pos):
        wiring = self.wiring[l]
        ws = [self.r.one("p0", None, w) for w, _ in wiring.inputs(j)]
        xs = [self.a(l - 1, i, pos) for _, i in wiring.inputs(j)]
        return f.add(f.dot(ws, xs), self.r.one("p0", None, wiring.bias(j)))

    def f_exp(self, l, j, step, pos):
        return self.m.acts[l].xl_exp(self.r.one("net", l, j, pos), self.units("net", l, pos))

    def f_out(self, l, j, step, pos):
        act = self.m.acts[l]
        if self.wiring[l].kind == "maxpool":
            return f.max_(*[self.a(l - 1, i, pos) for i in self.wiring[l].window(j)])
        if act.name == "softmax":
            return act.xl_fn(self.r.one("exp", l, j, pos), self.units("exp", l, pos))
        return act.xl_fn(self.r.one("net", l, j, pos))

    def f_term(self, layer, k, step, pos):
        t = self.r.one("t", None, k, pos)
        if self.m.fused:
            L = self.last
            return self.m.loss.xl_term_logits(self.r.one("net", L, k, pos), t, self.units("net", L, pos),
                                              self.units("exp", L, pos))
        return self.m.loss.xl_term(self.r.one("out", self.last, k, pos), t, self.loss_names)

    def f_loss(self, layer, item, step, pos):
        return self.m.loss.xl_sample(self.units("term", None, pos))

    def f_data_loss(self, layer, item, step, pos):
        losses = self.r.span("loss", None, (0, 0), (0, self.r.batch(step) - 1))
        return f.average(losses) if self.m.mean else f.sum_(losses)

    def f_penalty(self, layer, item, step, pos):
        ranges = [self.r.span("p0", None, (s.start, s.stop - 1), (0, 0)) for s in self.P.w_slices if s.stop > s.start]
        return penalty.xl_value(ranges, self.r.setting("l1"), self.r.setting("l2"))

    def f_L(self, layer, item, step, pos):
        return f.add(self.r.one("data_loss", None, 0), self.r.one("penalty", None, 0))

    def f_delta(self, l, j, step, pos):
        act = self.m.acts[l]
        out = self.r.one("out", l, j, pos)
        if l == self.last:
            t = self.r.one("t", None, j, pos)
            if self.m.fused:
                return self.m.loss.xl_delta(out, t)
            back = self.m.loss.xl_dl_dy(out, t, self.K, self.loss_names)
        elif self.wiring[l + 1].kind == "maxpool":
            back = self.pooled_delta(l, j, pos)
        else:
            ws = [self.r.one("p0", None, w) for w, _ in self.wiring[l + 1].outputs(j)]
            ds = [self.r.one("delta", l + 1, k, pos) for _, k in self.wiring[l + 1].outputs(j)]
            back = f.dot(ws, ds)
        if self.wiring[l].kind == "maxpool":
            return back  # no activation: a pooled value is the maximum itself
        grad = act.xl_grad(self.r.one("net", l, j, pos), out)
        return back if grad == "1" else f.mul(back, grad)

    def pooled_delta(self, l, j, pos):
        """δ reaching unit j of layer l through the maxpool above it: its window's δ if j is
        the window's first maximum in row-major order (torch's rule), else 0."""
        [(_, k)] = self.wiring[l + 1].outputs(j)
        window = self.wiring[l + 1].window(k)
        pooled = self.r.one("out", l + 1, k, pos)
        earlier = [self.r.one("out", l, i, pos) for i in window[:window.index(j)]]
        first = f.and_(f.eq(self.r.one("out", l, j, pos), pooled), *[f.ne(e, pooled) for e in earlier])
        return f.if_(first, self.r.one("delta", l + 1, k, pos), "0")

    def f_lr(self, layer, item, step, pos):
        epoch = self.r.epoch(step)
        return f.div(self.r.setting("lr"), f.add("1", f.mul(self.r.setting("lr_decay"), str(epoch))))

    def f_p0(self, layer, idx, step, pos):
        return self.r.source("p0", idx, step, pos)

    def f_gs(self, layer, idx, step, pos):
        """One sample's gradient: Σ δ_j·out_i over the places the parameter acts (one for a
        dense weight; every map position for a conv kernel's)."""
        l = self.layer_of(idx)
        terms = [self.r.one("delta", l, j, pos) if i is None else f.mul(self.r.one("delta", l, j, pos),
                                                                         self.a(l - 1, i, pos))
                 for j, i in self.wiring[l].uses(idx)]
        return f.add(*terms) if len(terms) > 1 else terms[0]

    def f_g(self, layer, idx, step, pos):
        if self.r.max_batch() > 1:
            per = self.r.span("gs", None, (idx, idx), (0, self.r.batch(step) - 1))
            g = f.average(per) if self.m.mean else f.sum_(per)
        else:
            g = self.f_gs(None, idx, step, 0)
        if self.P.is_weight[idx] and self.penalised:
            g = f.add(g, penalty.xl_grad(self.r.one("p0", None, idx), self.r.setting("l1"), self.r.setting("l2")))
        return g

    def state(self, kind, idx, step):
        opt = self.m.optimizer
        g = self.r.one("g", None, idx)
        prev = {s: self.r.prev(s, idx, step) for s in opt.state}
        prev = {s: p for s, p in prev.items() if p is not None}  # none: the state starts at 0
        cur = {s: self.r.one(s, None, idx) for s in (*opt.state, *opt.shown)}
        return opt.xl_state(kind, g, prev, cur, str(self.r.step_number(step)))

    def f_p1(self, layer, idx, step, pos):
        p0 = self.r.one("p0", None, idx)
        if self.r.lay.frozen(idx):  # a bias kept at its start (freeze_biases)
            return p0
        opt = self.m.optimizer
        cur = {s: self.r.one(s, None, idx) for s in (*opt.state, *opt.shown)}
        return opt.xl_param(p0, self.r.one("g", None, idx), cur, self.r.one("lr", None, 0))


def _state_method(kind):
    def method(self, layer, idx, step, pos):
        return self.state(kind, idx, step)
    return method


for _kind in ("v", "s", "m", "m_hat", "v_hat"):
    setattr(StepFormulas, "f_" + _kind, _state_method(_kind))
