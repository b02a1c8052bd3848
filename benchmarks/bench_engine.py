"""Speed of sheetnet's engine against PyTorch (CPU, float64) doing the same training.

    python benchmarks/bench_engine.py            # the full benchmark (about a minute)
    python benchmarks/bench_engine.py --quick    # fewer steps and repeats: a smoke run

Every row trains one network twice in this one process, from the same starting weights
(sheetnet's initial parameters are copied into torch), on the same batches, with SGD at
lr 0.5 and the loss of SPEC.md:

  * sheetnet: ``sheetnet.train(spec)`` (record=True, the full trace of every step, computed when first read) and
    ``sheetnet.train(spec, record=False)`` (losses and final parameters only);
  * torch: written the idiomatic way: ``nn.Linear`` layers, ``loss.backward()``,
    ``optimizer.step()``, ``optimizer.zero_grad()``, and ``loss.item()`` kept every step
    (sheetnet returns every step's loss too).

The final batch loss of both must agree to rtol 1e-8, so that the timings are of the same
work; the script exits with status 1 if any row disagrees.  Timings are the best of a few
repeats after one warm-up run; run it on an otherwise idle machine (OpenBLAS's and torch's
threads both suffer badly when another process takes a core; the load average is printed).
torch's intra-op threads are set to the number of threads numpy's BLAS uses (threadpoolctl
tells, if installed; otherwise OPENBLAS_NUM_THREADS / OMP_NUM_THREADS, else the core count,
which is OpenBLAS's own default).

What recording costs: ``train(spec)`` keeps every step's loss, each layer's gradient size and
the parameters after every epoch, and checks and summarises the latest steps' values in a
small ring of buffers (8 MB); the rest of the record is computed when first read, by training
again with every value kept (engine/trace.py).  What remains per step is one copy of the
gradient and one pass over it.

Note: on machines where OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set (old-OpenBLAS
workarounds), numpy runs a slower kernel; unset both in the command that runs the
benchmark, e.g. ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/...``.
The table prints which OpenBLAS kernel numpy used.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout's sheetnet
import sheetnet  # noqa: E402
from sheetnet.engine.network import Parameters  # noqa: E402

LR = 0.5
RTOL = 1e-8


# --------------------------------------------------------------------------- the rows
def one_hot(classes: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((len(classes), k))
    out[np.arange(len(classes)), classes] = 1.0
    return out


def dense_spec(sizes, activations, inputs, targets, loss, batch_size, epochs, init="xavier_uniform"):
    """A spec dict of an MLP (input size, then dense layers) as SPEC.md writes it."""
    layers = [{"kind": "input", "size": sizes[0]}]
    layers += [{"kind": "dense", "size": s, "activation": a, "init": init}
               for s, a in zip(sizes[1:], activations)]
    return sheetnet.parse_spec({
        "layers": layers,
        "loss": {"kind": loss, "reduction": "mean"},
        "train": {"optimizer": "sgd", "lr": LR, "epochs": epochs, "batch_size": batch_size, "seed": 0},
        "data": {"inputs": inputs.tolist(), "targets": targets.tolist()},
    })


def row_mazur(quick):
    steps = 1000 if quick else 10_000
    return sheetnet.example("mazur").with_train(epochs=steps)


def row_small(quick):
    rng = np.random.default_rng(2)
    x = rng.uniform(-1.0, 1.0, (64, 12))
    t = rng.uniform(0.0, 1.0, (64, 2))
    return dense_spec([12, 3, 2], ["sigmoid", "sigmoid"], x, t, "half_sse", 0, 100 if quick else 1000)


def row_medium(quick):
    rng = np.random.default_rng(3)
    x = rng.normal(0.0, 1.0, (2000, 64))
    t = one_hot(rng.integers(0, 10, 2000), 10)
    return dense_spec([64, 32, 10], ["sigmoid", "softmax"], x, t, "cross_entropy", 32, 2 if quick else 10)


def row_large(quick):
    rng = np.random.default_rng(4)
    n = 2000 if quick else 10_000
    x = rng.uniform(0.0, 1.0, (n, 784)) / 28.0  # pixel-like values, scaled so lr 0.5 stays stable
    t = one_hot(rng.integers(0, 10, n), 10)
    return dense_spec([784, 128, 10], ["relu", "softmax"], x, t, "cross_entropy", 64, 1, init="he_uniform")


ROWS = [
    ("1. Mazur 2-2-2, 1 sample, half_sse sum, biases frozen", row_mazur),
    ("2. 12-3-2 sigmoid, 64 samples full batch, half_sse mean", row_small),
    ("3. 64-32-10 sigmoid/softmax, 2,000 samples, batch 32, cross_entropy", row_medium),
    ("4. 784-128-10 relu/softmax, 10,000 samples, batch 64, cross_entropy", row_large),
]
TARGET_SPEEDUP = [3.0, 3.0, 1.0, 1.0]  # sheetnet (recorded) steps/s ÷ torch steps/s, from the issue
TARGET_OVERHEAD = 1.5  # recorded time ÷ unrecorded time


# --------------------------------------------------------------------------- torch
TORCH_ACT = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU, "tanh": nn.Tanh}


def torch_model(spec):
    """nn.Sequential of the spec's layers, with sheetnet's starting parameters copied in.

    A softmax output layer is left as logits: nn.CrossEntropyLoss applies the log-softmax.
    """
    P = Parameters(spec)
    mods = []
    for l, layer in enumerate(spec.layers[1:]):
        out_f, in_f = P.shapes[l]
        lin = nn.Linear(in_f, out_f, dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(P.W(P.theta, l).copy()))
            lin.bias.copy_(torch.from_numpy(P.b(P.theta, l).copy()))
        if spec.train.freeze_biases:
            lin.bias.requires_grad_(False)
        mods.append(lin)
        if layer.activation != "softmax":
            mods.append(TORCH_ACT[layer.activation]())
    return nn.Sequential(*mods)


def torch_criterion(spec):
    """The batch loss of SPEC.md for the losses these rows use."""
    kind, mean = spec.loss.kind, spec.loss.reduction == "mean"
    if kind == "cross_entropy":
        return nn.CrossEntropyLoss(reduction="mean" if mean else "sum")
    if kind == "half_sse":
        if mean:
            return lambda y, t: 0.5 * ((y - t) ** 2).sum(dim=1).mean()
        return lambda y, t: 0.5 * ((y - t) ** 2).sum()
    raise NotImplementedError(kind)


def torch_data(spec):
    x = torch.from_numpy(spec.data.inputs.copy())
    t = torch.from_numpy(spec.data.targets.copy())
    if spec.loss.kind == "cross_entropy":
        t = t.argmax(dim=1)  # class indices, the usual way to feed nn.CrossEntropyLoss
    return x, t


def torch_train(spec, model, x, t):
    """The idiomatic training loop; returns every step's loss."""
    criterion = torch_criterion(spec)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=spec.train.lr)
    n = len(x)
    bs = spec.train.batch_size or n
    losses = []
    for _ in range(spec.train.epochs):
        for start in range(0, n, bs):
            xb, tb = x[start:start + bs], t[start:start + bs]
            optimizer.zero_grad()
            loss = criterion(model(xb), tb)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return losses


# --------------------------------------------------------------------------- timing
def best_time(run, repeats):
    """(best wall time over ``repeats`` runs after one warm-up, result of the last run)."""
    result = run()
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - t0)
    return best, result


def time_row(spec, repeats):
    n_steps = spec.train.epochs * -(-len(spec.data.inputs) // (spec.train.batch_size or len(spec.data.inputs)))
    t_rec, trace = best_time(lambda: sheetnet.train(spec), repeats)
    t_norec, trace_norec = best_time(lambda: sheetnet.train(spec, record=False), repeats)
    assert trace.n_steps == n_steps and trace.recorded and not trace_norec.recorded

    x, t = torch_data(spec)

    def run_torch():
        model = torch_model(spec)  # fresh starting weights each run, built outside the clock
        t0 = time.perf_counter()
        losses = torch_train(spec, model, x, t)
        return time.perf_counter() - t0, losses

    run_torch()  # warm-up
    t_torch, losses = float("inf"), None
    for _ in range(repeats):
        gc.collect()
        dt, losses = run_torch()
        t_torch = min(t_torch, dt)
    assert len(losses) == n_steps

    sn_final, sn_final_norec, th_final = trace.final_loss, trace_norec.final_loss, losses[-1]
    agree = (np.isfinite(sn_final) and np.isclose(sn_final, th_final, rtol=RTOL, atol=0.0)
             and np.isclose(sn_final_norec, th_final, rtol=RTOL, atol=0.0))
    return dict(steps=n_steps, rec=n_steps / t_rec, norec=n_steps / t_norec, torch=n_steps / t_torch,
                overhead=t_rec / t_norec, sn_loss=sn_final, torch_loss=th_final, agree=agree)


# --------------------------------------------------------------------------- threads
def blas_info():
    """(threads numpy's BLAS uses, a description of it)."""
    try:
        import threadpoolctl
        for lib in threadpoolctl.threadpool_info():
            if lib.get("user_api") == "blas" and "numpy" in lib.get("filepath", ""):
                return lib["num_threads"], (f"{lib.get('internal_api')} {lib.get('version')}, "
                                            f"kernel {lib.get('architecture')}, {lib['num_threads']} threads")
    except ImportError:
        pass
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            n = int(os.environ[var])
            return n, f"{n} threads (from {var}; install threadpoolctl to see the kernel)"
    n = os.cpu_count() or 1
    return n, f"{n} threads (OpenBLAS's default: the core count; install threadpoolctl to see the kernel)"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer steps and repeats (a smoke run)")
    ap.add_argument("--repeats", type=int, default=None, help="timed repeats per measurement (best is kept)")
    args = ap.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 5)

    threads, blas = blas_info()
    torch.set_num_threads(threads)
    env = {v: os.environ[v] for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if v in os.environ}
    print(f"# sheetnet {sheetnet.__version__} vs torch {torch.__version__} (CPU, float64), SGD lr {LR}")
    print(f"numpy {np.__version__}, BLAS: {blas}; torch.set_num_threads({threads}) "
          f"(torch now uses {torch.get_num_threads()}); python {platform.python_version()}, "
          f"{os.cpu_count()} cores; best of {repeats} after a warm-up" + (", --quick" if args.quick else ""))
    print(f"load average before: {os.getloadavg()[0]:.2f} (other processes on the machine slow both sides unevenly)")
    if env:
        print(f"WARNING: {env} is set: numpy's OpenBLAS may run a slower kernel (see the docstring)")
    print()

    results = []
    for (name, build), target in zip(ROWS, TARGET_SPEEDUP):
        spec = build(args.quick)
        r = time_row(spec, repeats)
        r.update(name=name, target=target)
        results.append(r)
        print(f"  {name}: done ({r['steps']} steps)", file=sys.stderr)

    print("| row | steps | sheetnet steps/s (recorded) | sheetnet steps/s (record=False) | torch steps/s "
          "| sheetnet/torch (recorded) | sheetnet/torch (record=False) | recording overhead "
          "| final loss sheetnet / torch |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|---|")
    for r in results:
        print(f"| {r['name']} | {r['steps']:,} | {r['rec']:,.0f} | {r['norec']:,.0f} | {r['torch']:,.0f} "
              f"| {r['rec'] / r['torch']:.2f}x | {r['norec'] / r['torch']:.2f}x | {r['overhead']:.2f}x "
              f"| {r['sn_loss']:.10g} / {r['torch_loss']:.10g} {'ok' if r['agree'] else 'DISAGREE'} |")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}\n")
    for r in results:
        ratio = r["rec"] / r["torch"]
        speed = "met" if ratio >= r["target"] else "MISSED"
        over = "met" if r["overhead"] <= TARGET_OVERHEAD else "MISSED"
        print(f"- {r['name'].split('.')[0]}: speed target >= {r['target']:g}x torch with recording: {speed} "
              f"({ratio:.2f}x); recording overhead <= {TARGET_OVERHEAD}x: {over} ({r['overhead']:.2f}x)")
    bad = [r["name"] for r in results if not r["agree"]]
    if bad:
        print(f"\nFINAL LOSSES DISAGREE (rtol {RTOL:g}) on: {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
