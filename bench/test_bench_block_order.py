"""Does a block-shuffled order converge as a full shuffle does? The study behind ``shuffle="block"``.

    python -m pytest bench/test_bench_block_order.py -o testpaths=bench -s

For each problem, per-sample SGD (batch 1, the estimators' default) at a rate η0/(1 + epoch) runs
``EPOCHS`` epochs with the rows in three orders: a new permutation per epoch
(``shuffle=True``), a block-shuffled order (``ops.block_order``, ``shuffle="block"``) and storage
order (``shuffle=False``). Per run: the epochs (in quarters) and the kernel's seconds until the
objective is within 1% of the optimum (found by L-BFGS on the same objective), and the final test
score. The
table gives the median of 5 seeds.

The problems: i.i.d. rows (logistic), the same rows sorted by label, a regression with its rows
sorted by the target, and two real sets from scikit-learn (digits, 0–4 against 5–9; breast cancer),
standardized and stacked with small noise to a size beyond the caches.
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np
import pytest

optimize = pytest.importorskip("scipy.optimize")
datasets = pytest.importorskip("sklearn.datasets")

from fastgd import ops  # noqa: E402

SCALE = float(os.environ.get("FASTGD_BENCH_SCALE", "1"))
EPOCHS = 12
SEEDS = range(5)
ORDERS = {"shuffle=True": True, 'shuffle="block"': "block", "shuffle=False": False}
ALPHA = 1e-4


def _rows(n):
    return max(5_000, int(n * SCALE))


def _split(X, y, seed=0):
    """A random 80/20 split; the training rows keep their storage order."""
    test = np.random.default_rng(seed).random(len(y)) < 0.2
    return (np.ascontiguousarray(X[~test]), np.ascontiguousarray(y[~test]),
            np.ascontiguousarray(X[test]), np.ascontiguousarray(y[test]))  # fmt: skip


def _synthetic(n, d, regression, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    t = X @ (rng.standard_normal(d) / np.sqrt(d)) + 0.5 * rng.standard_normal(n)
    return X, (t if regression else np.where(t > 0, 1.0, -1.0))


def _stacked(X, y, n, seed=0):
    """A real set standardized and repeated to n rows, each copy with noise of 0.1 per feature."""
    rng = np.random.default_rng(seed)
    X = (X - X.mean(0)) / np.maximum(X.std(0), 1e-12)
    idx = np.arange(n) % len(y)
    return X[idx] + 0.1 * rng.standard_normal((n, X.shape[1])), y[idx].astype(np.float64)


def problems():
    n = _rows(200_000)
    X, y = _synthetic(n, 100, regression=False)
    Xr, yr = _synthetic(n, 100, regression=True, seed=1)
    by_label, by_target = np.argsort(y, kind="stable"), np.argsort(yr, kind="stable")
    digits = datasets.load_digits()
    cancer = datasets.load_breast_cancer()
    digits_y = np.where(digits.target < 5, -1.0, 1.0)
    cancer_y = np.where(cancer.target == 1, 1.0, -1.0)
    # The split keeps the training rows in storage order: sorted data stays sorted.
    return {
        "iid-logistic": ("log_loss", *_split(X, y)),
        "sorted-by-label": ("log_loss", *_split(X[by_label], y[by_label])),
        "sorted-by-target": ("squared_error", *_split(Xr[by_target], yr[by_target])),
        "digits-stacked": ("log_loss", *_split(*_stacked(digits.data, digits_y, n))),
        "breast-cancer-stacked": ("log_loss", *_split(*_stacked(cancer.data, cancer_y, n))),
    }


def _optimum(loss, X, y):
    """min F by L-BFGS on fastgd's own objective (L2 penalty: smooth)."""
    d = X.shape[1]

    def f(v):
        obj, g, gb = ops.loss_and_grad(X, y, v[:d], v[d], loss=loss, alpha=ALPHA)
        return obj, np.append(g, gb)

    res = optimize.minimize(f, np.zeros(d + 1), jac=True, method="L-BFGS-B",
                            options=dict(maxiter=2000, gtol=1e-10, ftol=1e-15))  # fmt: skip
    return res.fun


def _score(loss, X, y, w, b):
    p = X @ w + b
    if loss == "log_loss":
        return float(np.mean(np.where(p > 0, 1.0, -1.0) == y))
    return float(1 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2))


def _run(loss, X, y, X_test, y_test, f_opt, order_kind, seed):
    """(epochs to 1%, kernel seconds to 1%, final test score); None where never reached. The
    objective is evaluated after every quarter of an epoch."""
    rng = np.random.default_rng(seed)
    n, d = X.shape
    w, b = np.zeros(d), np.zeros(1)
    seconds, reached = 0.0, None
    eta0 = 0.003 if loss == "log_loss" else 3e-4  # the best of 3 rates a factor ~3 apart
    quarters = np.linspace(0, n, 5).astype(int)
    for epoch in range(EPOCHS):
        if order_kind is True:
            order = rng.permutation(n)
        elif order_kind == "block":
            order = ops.block_order(rng, X)
        else:
            order = np.arange(n)
        for q, (lo, hi) in enumerate(zip(quarters[:-1], quarters[1:])):
            if order_kind == "block":
                part = ops.BlockOrder(order.rows[lo:hi], order.stream[lo:hi])
            else:
                part = order[lo:hi]
            lrs = np.full(hi - lo, eta0 / (1 + epoch))
            start = time.perf_counter()
            ops.sgd_epoch(X, y, w, b, lrs, batch_size=1, order=part, loss=loss, alpha=ALPHA,
                          n_threads=1, check_input=False)  # fmt: skip
            seconds += time.perf_counter() - start
            if reached is None:
                f = ops.loss_and_grad(X, y, w, b, loss=loss, alpha=ALPHA)[0]
                if f - f_opt <= 0.01 * abs(f_opt):
                    reached = (epoch + (q + 1) / 4, seconds)
    score = _score(loss, X_test, y_test, w, b)
    return (reached or (None, None)) + (score,)


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if len(values) == len(SEEDS) else None


def test_block_order_converges_as_the_full_shuffle():
    rows = []
    verdicts = {}
    for name, (loss, X, y, X_test, y_test) in problems().items():
        f_opt = _optimum(loss, X, y)
        medians = {}
        for label, kind in ORDERS.items():
            runs = [_run(loss, X, y, X_test, y_test, f_opt, kind, seed) for seed in SEEDS]
            medians[label] = tuple(_median([r[k] for r in runs]) for k in range(3))
            epochs, seconds, score = medians[label]
            rows.append(f"| {name} | {label} | {epochs if epochs else '—'} | "
                        f"{f'{seconds:.3f}' if seconds else '—'} | {score:.4f} |")  # fmt: skip
        full, block = medians["shuffle=True"], medians['shuffle="block"']
        verdicts[name] = (
            full[1] is not None and block[1] is not None and block[1] <= 1.05 * full[1],
            block[2] >= full[2] - 0.005,
        )
        # Both shuffled orders must learn: within 1% of the optimum in the budget, or at least a
        # test score near the full shuffle's.
        assert full[2] is not None and block[2] >= full[2] - 0.02, (name, medians)
    print("\n| problem | order | epochs to 1% | seconds to 1% | test score |")
    print("| --- | --- | --- | --- | --- |")
    print("\n".join(rows))
    print("block within 5% of the full shuffle's time to 1%, and within 0.005 of its score:")
    for name, (time_ok, score_ok) in verdicts.items():
        print(f"  {name}: time {'yes' if time_ok else 'no'}, score {'yes' if score_ok else 'no'}")
