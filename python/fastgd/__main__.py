"""``python -m fastgd``: the textbook example, linear regression by minibatch SGD.

Generates y = X·w + b + noise, trains with a learning rate that decays every epoch, and prints
the loss per epoch, the learned parameters next to the true ones, and the time taken.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from . import ops, schedules
from ._backend import build_info


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m fastgd",
        description="Linear regression by minibatch SGD with a decaying learning rate, on "
        "generated data.",
    )
    p.add_argument("--n-samples", type=int, default=200_000, help="rows of X (default 200000)")
    p.add_argument("--n-features", type=int, default=10, help="columns of X (default 10)")
    p.add_argument("--epochs", type=int, default=8, help="passes over the data (default 8)")
    p.add_argument("--batch-size", type=int, default=32, help="rows per step (default 32)")
    p.add_argument("--lr", type=float, default=0.05, help="initial learning rate (default 0.05)")
    p.add_argument(
        "--decay", type=float, default=0.6, help="learning-rate factor per epoch (default 0.6)"
    )
    p.add_argument("--alpha", type=float, default=0.0, help="L2 penalty strength (default 0)")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float64")
    p.add_argument("--threads", type=int, default=None, help="threads (default: all)")
    p.add_argument("--seed", type=int, default=0)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    rng = np.random.default_rng(args.seed)
    n, d = args.n_samples, args.n_features
    X = rng.standard_normal((n, d)).astype(args.dtype)
    w_true = rng.uniform(-2, 2, d)
    b_true = 0.5
    y = (X @ w_true + b_true + 0.1 * rng.standard_normal(n)).astype(args.dtype)

    steps = ops.n_steps(n, args.batch_size)
    schedule = schedules.ExponentialDecay(args.lr, args.decay, decay_steps=steps)
    coef, intercept = np.zeros(d, dtype=args.dtype), np.zeros(1, dtype=args.dtype)
    info = build_info()
    threads = args.threads or info["max_threads"]
    print(
        f"fastgd {info['version']}: linear regression by minibatch SGD "
        f"({info['compiler'].split()[0]}, OpenMP {'on' if info['openmp'] else 'off'}, "
        f"{threads} thread{'s' * (threads != 1)}, {info['simd']})"
    )
    print(f"data: {n:,} x {d} {args.dtype}, y = X.w + {b_true} + N(0, 0.1^2), seed {args.seed}")
    print(f"batch size {args.batch_size} ({steps:,} steps per epoch), schedule {schedule!r}")
    print(f"{'epoch':>5}  {'mean loss':>12}  {'lr':>10}  {'time':>9}")

    order_rng = np.random.default_rng(args.seed + 1)
    total = 0.0
    for epoch in range(args.epochs):
        lrs = schedules.rates(schedule, epoch * steps, steps)
        order = order_rng.permutation(n)
        start = time.perf_counter()
        loss = ops.sgd_epoch(
            X,
            y,
            coef,
            intercept,
            lrs,
            batch_size=args.batch_size,
            order=order,
            loss="squared_error",
            penalty="l2",
            alpha=args.alpha,
            n_threads=args.threads,
            check_input=epoch == 0,
        )
        elapsed = time.perf_counter() - start
        total += elapsed
        print(f"{epoch + 1:>5}  {loss / n:>12.6g}  {lrs[0]:>10.4g}  {elapsed * 1e3:>7.1f}ms")

    print("parameter      learned         true")
    for j in range(d):
        print(f"w[{j}]{'':<8} {coef[j]:>10.5f}   {w_true[j]:>10.5f}")
    print(f"b{'':<11} {intercept[0]:>10.5f}   {b_true:>10.5f}")
    err = max(np.abs(coef - w_true).max(), abs(intercept[0] - b_true))
    print(
        f"max |learned - true| = {err:.2e}; {args.epochs} epochs in {total * 1e3:.1f} ms "
        f"({total / args.epochs * 1e3:.2f} ms per epoch)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
