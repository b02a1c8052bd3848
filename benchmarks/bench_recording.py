"""What recording costs: CPU time of training with the full trace (the default, computed on first
access: engine/trace.py), with every value kept as the steps run (record="eager"), and with
checkpoints every K steps (engine/replay.py: losses always, θ and optimizer state every K steps, any step's full
record replayed on access, bit for bit), against training without recording, on the rows of
the engine benchmark plus 784-256-128-10.

    python benchmarks/bench_recording.py [--quick] [--every K]

Ratios are of best-of-repeats CPU times measured in this one process.  The replay column is
the time to replay one step's record from its checkpoint (the worst case, K − 1 steps back).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import sheetnet  # noqa: E402
from sheetnet.engine.replay import train_checkpointed  # noqa: E402


def rows():
    import bench_engine as be

    def row_xl(quick):
        rng = np.random.default_rng(5)
        n = 4000 if quick else 20_000
        x = rng.uniform(0.0, 1.0, (n, 784)) / 28.0
        t = be.one_hot(rng.integers(0, 10, n), 10)
        return be.dense_spec([784, 256, 128, 10], ["relu", "relu", "softmax"], x, t, "cross_entropy", 128, 1,
                             init="he_uniform")

    return [*be.ROWS, ("5. 784-256-128-10 relu/softmax, 20,000 samples, batch 128, cross_entropy", row_xl)]


def best(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--every", type=int, default=100)
    args = ap.parse_args(argv)
    repeats = 1 if args.quick else 3
    K = args.every
    print(f"| row | no recording | full trace | ratio | eager record | ratio | checkpoints every {K} | ratio "
          "| replay one step |\n|---|---|---|---|---|---|---|---|---|")
    for name, build in rows():
        spec = build(args.quick)
        sheetnet.train(spec, record=False)  # warm-up
        t_none = best(lambda: sheetnet.train(spec, record=False), repeats)
        t_full = best(lambda: sheetnet.train(spec), repeats)
        t_eager = best(lambda: sheetnet.train(spec, record="eager"), repeats)
        run = None

        def ckpt():
            nonlocal run
            run = train_checkpointed(spec, every=K)

        t_ckpt = best(ckpt, repeats)
        k = min(run.n_steps - 1, K - 1)
        t_replay = best(lambda: run.step_record(k), repeats)
        print(f"| {name} | {t_none:.2f} s | {t_full:.2f} s | {t_full / t_none:.2f}x | {t_eager:.2f} s "
              f"| {t_eager / t_none:.2f}x | {t_ckpt:.2f} s "
              f"| {t_ckpt / t_none:.2f}x | {t_replay * 1e3:.1f} ms |", flush=True)


if __name__ == "__main__":
    main()
