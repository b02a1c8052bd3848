"""A workbook that evaluates every registry formula on test values, with numpy's result cached
beside it: recalculated by a spreadsheet engine, each cell must give numpy's number back."""

from __future__ import annotations

import numpy as np
import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from sheetnet.sheet.layout import SETTING_NAMES
from sheetnet.ops import ACTIVATIONS, LOSSES, OPTIMIZERS, penalty

Z = [-1000.0, -745.0, -30.0, -2.5, -0.3, 0.0, 1e-9, 0.7, 3.0, 40.0, 709.0, 1000.0]
YT = [(0.2, 0.9), (0.75, 0.01), (0.0, 0.0), (1.0, 1.0), (0.0, 1.0), (1.0, 0.0), (1e-50, 0.3), (0.5, 0.5),
      (-2.0, 1.0), (3.0, -1.0), (0.9, 1.0), (0.4, -1.0)]
SETTINGS = {"momentum": 0.9, "beta1": 0.85, "beta2": 0.99, "alpha": 0.9, "eps": 1e-8, "delta": 0.6,
            "l1": 0.01, "l2": 0.05}
COVERED = {"activations": set(), "losses": set(), "optimizers": set()}


def write_registry_book(path: str) -> str:
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("Registry")
    for r, (key, value) in enumerate(SETTINGS.items()):
        ws.write_number(r, 1, value)
        wb.define_name(SETTING_NAMES[key], f"=Registry!$B${r + 1}")
    row = len(SETTINGS) + 1
    cell = lambda r, c: xl_rowcol_to_cell(r, c)  # noqa: E731
    for act in ACTIVATIONS.values():
        COVERED["activations"].add(act.name)
        if act.name == "softmax":
            z = np.array([[800.0, -800.0, 3.0], [1.0, 2.0, 3.0]])
            for s, zs in enumerate(z):
                r = row + s
                e = act.exps(zs[None])[0]
                a = act.fn(zs[None])[0]
                for k, zk in enumerate(zs):
                    ws.write_number(r, k, zk)
                zr = f"{cell(r, 0)}:{cell(r, 2)}"
                er = f"{cell(r, 3)}:{cell(r, 5)}"
                for k in range(3):
                    ws.write_formula(r, 3 + k, "=" + act.xl_exp(cell(r, k), zr), None, e[k])
                    ws.write_formula(r, 6 + k, "=" + act.xl_fn(cell(r, 3 + k), er), None, a[k])
            row += 3
            continue
        z = np.array(Z)
        a = act.fn(z)
        g = act.grad(z, a)
        for i, zi in enumerate(z):
            ws.write_number(row, i, zi)
            ws.write_formula(row + 1, i, "=" + act.xl_fn(cell(row, i)), None, a[i])
            ws.write_formula(row + 2, i, "=" + act.xl_grad(cell(row, i), cell(row + 1, i)), None, g[i])
        row += 4
    hp = {"delta": SETTINGS["delta"]}
    for loss in LOSSES.values():
        COVERED["losses"].add(loss.name)
        if loss.fused_with:
            z = np.array([[800.0, -800.0, 3.0], [0.2, -0.1, 0.4]])
            t = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
            from sheetnet.ops import ACTIVATIONS as A
            sm = A[loss.fused_with]
            for s in range(2):
                r = row + s
                e, a = sm.exps(z[s:s + 1])[0], sm.fn(z[s:s + 1])[0]
                terms, delta = loss.term_logits(z[s:s + 1], t[s:s + 1])[0], loss.delta(a, t[s])
                for k in range(3):
                    ws.write_number(r, k, z[s, k])
                    ws.write_number(r, 3 + k, t[s, k])
                    ws.write_formula(r, 6 + k, "=" + sm.xl_exp(cell(r, k), f"{cell(r, 0)}:{cell(r, 2)}"), None, e[k])
                    ws.write_formula(r, 9 + k, "=" + sm.xl_fn(cell(r, 6 + k), f"{cell(r, 6)}:{cell(r, 8)}"), None, a[k])
                    ws.write_formula(r, 12 + k, "=" + loss.xl_term_logits(cell(r, k), cell(r, 3 + k),
                                     f"{cell(r, 0)}:{cell(r, 2)}", f"{cell(r, 6)}:{cell(r, 8)}"), None, terms[k])
                    ws.write_formula(r, 15 + k, "=" + loss.xl_delta(cell(r, 9 + k), cell(r, 3 + k)), None, delta[k])
            row += 3
            continue
        y = np.array([p[0] for p in YT])[None]
        t = np.array([p[1] for p in YT])[None]
        terms = loss.term(y, t, hp)[0]
        dl = loss.dl_dy(y, t, hp)[0]
        names = {"delta": SETTING_NAMES["delta"]}
        for i in range(len(YT)):
            ws.write_number(row, i, y[0, i])
            ws.write_number(row + 1, i, t[0, i])
            ws.write_formula(row + 2, i, "=" + loss.xl_term(cell(row, i), cell(row + 1, i), names), None, terms[i])
            ws.write_formula(row + 3, i, "=" + loss.xl_dl_dy(cell(row, i), cell(row + 1, i), len(YT), names),
                             None, dl[i])
        ws.write_formula(row + 4, 0, "=" + loss.xl_sample(f"{cell(row + 2, 0)}:{cell(row + 2, len(YT) - 1)}"),
                         None, loss.per_sample(terms[None])[0])
        row += 6
    # optimizers: three steps on a vector of parameters, every state cell a formula
    p0 = np.array([0.3, -0.2, 0.0, 1.5])
    grads = np.array([[0.1, -0.5, 0.0, 2.0], [0.05, 0.4, -0.3, 1.0], [-0.2, 0.1, 0.2, -3.0]])
    for opt in OPTIMIZERS.values():
        COVERED["optimizers"].add(opt.name)
        p = p0.copy()
        state = opt.init_state(len(p))
        hpo = {k: SETTINGS[k] for k in ("momentum", "beta1", "beta2", "alpha", "eps")}
        for i, v in enumerate(p):
            ws.write_number(row, i, v)
        prev_row = {"p": row}
        prev_state = {}
        row += 1
        for step, g in enumerate(grads):
            shown = opt.update(p, g, state, 0.1, step + 1, hpo)
            values = {**state, **shown}
            for i in range(len(p)):
                ws.write_number(row, i, g[i])
            g_row = row
            row += 1
            cur_rows = {}
            for k, name in enumerate((*opt.state, *opt.shown)):
                cur_rows[name] = row + k
            for name in (*opt.state, *opt.shown):
                for i in range(len(p)):
                    prev = {s: cell(prev_state[s], i) for s in opt.state} if step else {}
                    cur = {s: cell(cur_rows[s], i) for s in cur_rows}
                    ws.write_formula(cur_rows[name], i, "=" + opt.xl_state(name, cell(g_row, i), prev, cur,
                                                                             str(step + 1)), None, values[name][i])
            row += len(cur_rows)
            for i in range(len(p)):
                cur = {s: cell(cur_rows[s], i) for s in cur_rows}
                ws.write_formula(row, i, "=" + opt.xl_param(cell(prev_row["p"], i), cell(g_row, i), cur, "0.1"),
                                 None, p[i])
            prev_row["p"] = row
            prev_state = {s: cur_rows[s] for s in opt.state}
            row += 1
        row += 1
    # the penalty
    w = np.array([0.3, -0.2, 0.0, 1.5])
    for i, v in enumerate(w):
        ws.write_number(row, i, v)
    rng = f"{cell(row, 0)}:{cell(row, 3)}"
    ws.write_formula(row + 1, 0, "=" + penalty.xl_value([rng], SETTING_NAMES["l1"], SETTING_NAMES["l2"]), None,
                     penalty.value(w, SETTINGS["l1"], SETTINGS["l2"]))
    gw = penalty.grad(w, SETTINGS["l1"], SETTINGS["l2"])
    for i in range(4):
        ws.write_formula(row + 2, i, "=" + penalty.xl_grad(cell(row, i), SETTING_NAMES["l1"], SETTING_NAMES["l2"]),
                         None, gw[i])
    wb.close()
    return path
