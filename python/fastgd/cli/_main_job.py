"""``python -m fastgd`` with no command: linear regression by minibatch SGD on a real table.

It trains on the Palmer penguins shipped in the package (``fastgd.datasets``), or on
``--data FILE``, with :mod:`fastgd.ops` and :mod:`fastgd.schedules` only (no scikit-learn):
standardized features, a seeded held-out split, the step 1/L_B of the data's smoothness decayed
by a cosine to zero. It prints the loss and held-out R² per epoch, the coefficients by feature
name next to the closed-form least-squares solution (``np.linalg.lstsq``), both held-out R²
and the time.
"""

from __future__ import annotations

import textwrap
import time
from typing import Any

import numpy as np

from .. import ops, schedules
from .._backend import build_info
from ..io import FORMATS, read_data
from . import _metrics
from ._parsers import Parser, zero_based

# The dense copy of a sparse file and the closed form's matrix stay below this many values.
MAX_DENSE_VALUES = 50_000_000


def parser(prog: str) -> Parser:
    p = Parser(
        prog=prog,
        description="Linear regression by minibatch SGD on a real data set (the Palmer penguins "
        "shipped with fastgd, or --data FILE), next to the closed-form least-squares solution. "
        f"Commands: train, predict, evaluate, inspect, info ({prog} COMMAND --help).",
    )
    p.add_argument("--data", metavar="FILE", help="train on this file instead (docs/cli.md)")
    p.add_argument(
        "--format", choices=sorted(FORMATS), help="--data's format (default: from its extension)"
    )
    p.add_argument("--target", help="--data's target column (default: the last)")
    p.add_argument(
        "--zero-based",
        choices=("auto", "yes", "no"),
        default="auto",
        help="svmlight indices (default auto)",
    )
    p.add_argument("--epochs", type=int, default=40, help="passes over the data (default 40)")
    p.add_argument("--batch-size", type=int, default=16, help="rows per step (default 16)")
    p.add_argument(
        "--holdout", type=float, default=0.2, help="the share of rows held out (default 0.2)"
    )
    p.add_argument("--threads", type=int, default=None, help="threads (default: all)")
    p.add_argument("--seed", type=int, default=0, help="seeds the split and the shuffles")
    return p


def _load(args: Any) -> tuple[np.ndarray, np.ndarray, list, str, str]:
    if args.data is None:
        from ..datasets import load_penguins

        t = load_penguins()
        return t.X, t.y, t.feature_names, t.target_name, t.description
    d = read_data(
        args.data, format=args.format, target=args.target, zero_based=zero_based(args.zero_based)
    )
    X = d.X
    if not isinstance(X, np.ndarray):  # sparse: the closed form needs it dense
        if X.shape[0] * X.shape[1] > MAX_DENSE_VALUES:
            raise ValueError(
                f"{d.path}: {X.shape[0]:,} x {X.shape[1]:,} is too large to solve "
                "in closed form here; train it with `fastgd train`"
            )
        X = X.toarray()
    names = d.feature_names or [f"x{j}" for j in range(X.shape[1])]
    return X.astype(np.float64), d.y.astype(np.float64), names, d.target_name or "y", d.path


def run(args: Any) -> int:
    """The main job; returns the exit status."""
    for name, low in (("epochs", 1), ("batch_size", 1)):
        if getattr(args, name) < low:
            raise ValueError(f"--{name.replace('_', '-')} must be >= {low}")
    if not 0.0 < args.holdout < 1.0:
        raise ValueError(f"--holdout must be in (0, 1), got {args.holdout}")
    X, y, names, target, source = _load(args)
    n, d = X.shape
    held = np.sort(np.random.default_rng(args.seed).permutation(n)[: round(args.holdout * n)])
    train = np.setdiff1d(np.arange(n), held)
    if held.size < 2 or train.size < 2:
        raise ValueError(f"{n} rows are too few to hold out {args.holdout:.0%} of them")

    # Standardized columns (by the training rows' statistics) give the problem a condition
    # number the step can work with whatever the units; the coefficients are mapped back below.
    mean = X[train].mean(axis=0)
    scale = X[train].std(axis=0)
    scale[scale == 0] = 1.0
    Z = (X - mean) / scale

    info = build_info()
    threads = args.threads or info["max_threads"]
    print(
        f"fastgd {info['version']}: linear regression by minibatch SGD "
        f"({info['simd']}, {threads} thread{'s' * (threads != 1)})"
    )
    print(textwrap.fill(f"data: {source}", width=100, subsequent_indent="      "))
    print(
        f"      {n} rows x {d} features -> {target}; {train.size} rows to train, "
        f"{held.size} held out (seed {args.seed})"
    )

    start = time.perf_counter()
    smoothness = schedules.auto(
        Z[train], batch_size=args.batch_size, alpha=0.0, n_threads=args.threads
    ).smoothness_
    steps = ops.n_steps(train.size, args.batch_size)
    schedule = schedules.CosineDecay(smoothness.step, decay_steps=args.epochs * steps)
    print(
        f"batch size {args.batch_size} ({steps} steps per epoch); the rate: 1/L_B = "
        f"{smoothness.step:.3g} (the standardized data's smoothness), cosine decay to 0 over "
        f"{args.epochs * steps} steps"
    )
    print(f"{'epoch':>5}  {'train MSE':>12}  {'held-out R^2':>12}  {'lr':>9}")
    coef, intercept = np.zeros(d), np.zeros(1)
    order_rng = np.random.default_rng(args.seed + 1)
    for epoch in range(args.epochs):
        lrs = schedules.rates(schedule, epoch * steps, steps)
        loss = ops.sgd_epoch(
            Z,
            y,
            coef,
            intercept,
            lrs,
            batch_size=args.batch_size,
            order=order_rng.permutation(train),
            penalty="none",
            alpha=0.0,
            n_threads=args.threads,
            check_input=epoch == 0,
        )
        if epoch < 5 or (epoch + 1) % 5 == 0 or epoch + 1 == args.epochs:
            r2 = _metrics.r2(y[held], Z[held] @ coef + intercept[0])
            # ops' squared_error is (p - y)^2 / 2 per row: twice its mean is the MSE
            print(f"{epoch + 1:>5}  {2 * loss / train.size:>12.6g}  {r2:>12.6f}  {lrs[0]:>9.3g}")
    elapsed = time.perf_counter() - start

    w = coef / scale
    b = intercept[0] - w @ mean
    A = np.column_stack([X, np.ones(n)])
    exact = np.linalg.lstsq(A[train], y[train], rcond=None)[0]
    print(f"{'':<{max(map(len, names))}}  {'fastgd':>12}  {'least squares':>13}")
    for name, value, reference in zip([*names, "intercept"], [*w, b], exact):
        print(f"{name:<{max(map(len, names))}}  {value:>12.6g}  {reference:>13.6g}")
    r2_sgd = _metrics.r2(y[held], X[held] @ w + b)
    r2_exact = _metrics.r2(y[held], A[held] @ exact)
    print(
        f"held-out R^2: fastgd {r2_sgd:.6f}, least squares {r2_exact:.6f} "
        f"(relative difference {abs(r2_sgd - r2_exact) / abs(r2_exact):.2%})"
    )
    print(
        f"time: {elapsed * 1e3:.1f} ms for {args.epochs} epochs "
        f"({elapsed / args.epochs * 1e3:.2f} ms per epoch, smoothness included)"
    )
    return 0
