"""The estimators against the kernel they call, and against scikit-learn, at the users' defaults.

    python -m pytest bench/test_bench_estimators.py -o testpaths=bench -s

Two groups, each timed as interleaved pairs (A, B, A, B, ...: this machine's memory bandwidth
drifts within minutes, so a ratio is only meaningful between neighbouring runs); every round
records both times, and the test prints the median and the range of the ratios.

- ``estimator-epoch``: one epoch of ``SGDClassifier(loss="hinge", max_iter=1, tol=None,
  learning_rate="constant")`` (batch 1, shuffled) against one ``ops.sgd_epoch`` call over the
  same data, the same permutation and the same rates, on dense X (1,000,000 × 100 float32) and
  on CSR X (1,000,000 × 1,000, 10 non-zeros per row). The two models must be equal: bit for bit
  on dense X, to rounding on CSR X (see the test).
- ``fit-defaults``: ``fit`` at the defaults (``random_state=0``, nothing else set) by fastgd and
  by scikit-learn on five problems: classifier and regressor on dense X 500,000 × 100 in float64
  and float32, and a binary classifier on hashed sparse X 300,000 × 2^18; fastgd with its rows
  shuffled (``shuffle=True``), in a block-shuffled order (``shuffle="block"``) and in storage
  order (``shuffle=False``, the ceiling of any order). The two estimators' scores must agree
  within 0.005.

``FASTGD_BENCH_SCALE`` (default 1) multiplies the row counts.
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np
import pytest

sp = pytest.importorskip("scipy.sparse")
sklearn_linear = pytest.importorskip("sklearn.linear_model")
from sklearn.utils import check_random_state  # noqa: E402

import fastgd  # noqa: E402
from fastgd import _solver, ops  # noqa: E402

SCALE = float(os.environ.get("FASTGD_BENCH_SCALE", "1"))
ROUNDS = 5


def rows(n: int) -> int:
    return max(2_000, int(n * SCALE))


def dense_problem(n, d, dtype, regression, seed=0):
    """Standard normal features; targets of a random linear model with noise (signal-to-noise
    about 4), or their signs."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d), dtype=np.float32).astype(dtype, copy=False)
    w = rng.standard_normal(d) / np.sqrt(d)
    y = X @ w + 0.25 * rng.standard_normal(n)
    return X, (y if regression else np.where(y > 0, 1.0, -1.0)).astype(dtype)


def hashed_problem(n, d, k, seed=0, dtype=np.float64):
    """Text-like hashed features: k tokens per row drawn from a Zipf law (a few frequent, a long
    tail), hashed over d columns, values ±1/sqrt(k); labels of a linear model with noise."""
    rng = np.random.default_rng(seed)
    tokens = rng.zipf(1.3, size=n * k).astype(np.uint64)
    indices = (tokens * np.uint64(2654435761) % np.uint64(d)).astype(np.int32)
    data = (rng.choice([-1.0, 1.0], size=n * k) / np.sqrt(k)).astype(dtype)
    X = sp.csr_matrix((data, indices, np.arange(0, n * k + 1, k)), shape=(n, d))
    X.sum_duplicates()
    y = X @ rng.standard_normal(d) + 0.25 * rng.standard_normal(n)
    return X, np.where(y > 0, 1.0, -1.0).astype(dtype)


def interleaved(benchmark, first, second, names):
    """Runs first() and second() in alternation for ROUNDS rounds (one warm-up pair first);
    returns their last results and reports the ratios second/first."""
    first(), second()
    times = {names[0]: [], names[1]: []}

    def pair():
        results = []
        for name, f in zip(names, (first, second)):
            start = time.perf_counter()
            results.append(f())
            times[name].append(time.perf_counter() - start)
        return results

    results = benchmark.pedantic(pair, rounds=ROUNDS, iterations=1)
    ratios = np.array(times[names[1]]) / np.array(times[names[0]])
    benchmark.extra_info.update(
        {f"{k}_seconds": v for k, v in times.items()},
        ratio_median=float(np.median(ratios)),
        ratio_min=float(ratios.min()),
        ratio_max=float(ratios.max()),
    )
    print(
        f"\n{benchmark.name}: {names[0]} median {np.median(times[names[0]]):.3f} s, "
        f"{names[1]} median {np.median(times[names[1]]):.3f} s; {names[1]} / {names[0]}: "
        f"median {np.median(ratios):.2f} (range {ratios.min():.2f}-{ratios.max():.2f})"
    )
    return results


# ---------------------------------------------------------------- one epoch: estimator vs ops

ETA0 = 1e-3


def estimator_order(n: int) -> np.ndarray:
    """The permutation the estimators' first epoch takes with random_state=0: the solver shuffles
    arange(n) with a Generator seeded from the estimator's random_state."""
    seed = check_random_state(0).randint(np.iinfo(np.int32).max)
    order = np.arange(n, dtype=np.int64)
    np.random.default_rng(seed).shuffle(order)
    return order


@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_estimator_epoch(benchmark, layout):
    benchmark.group = "estimator-epoch"
    n = rows(1_000_000)
    if layout == "dense":
        X, y = dense_problem(n, 100, np.float32, regression=False)
    else:
        X, y = hashed_problem(n, 1000, 10, dtype=np.float32)
    d = X.shape[1]
    order = estimator_order(n)

    def estimator():
        model = fastgd.SGDClassifier(
            loss="hinge", max_iter=1, tol=None, learning_rate="constant", eta0=ETA0, random_state=0
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # max_iter=1 does not converge, by design
            model.fit(X, y)
        return model.coef_.ravel(), model.intercept_

    def kernel(steps_per_call=n):
        w, b = np.zeros(d, np.float32), np.zeros(1, np.float32)
        for lo in range(0, n, steps_per_call):
            rows = order[lo : lo + steps_per_call]
            ops.sgd_epoch(
                X, y, w, b, np.full(len(rows), ETA0), batch_size=1, order=rows, loss="hinge",
                penalty="l2", alpha=1e-4, n_threads=1,
            )  # fmt: skip
        return w, b

    (w_ops, b_ops), (w_est, b_est) = interleaved(benchmark, kernel, estimator, ("ops", "estimator"))
    if layout == "dense":
        np.testing.assert_array_equal(w_est, w_ops)
        np.testing.assert_array_equal(b_est, b_ops)
    else:
        # The estimator runs a CSR epoch as calls of max(16384, d) steps (the solver's
        # STEPS_PER_CALL), each ending with the lazy penalty brought up to date: bit for bit the
        # ops calls on the same chunks; against one call, the same model rounded at other points
        # (in float32, over 10^6 steps of the lazy scale, up to 3e-4 of the largest weight).
        w_chunked, b_chunked = kernel(max(_solver.STEPS_PER_CALL, d))
        np.testing.assert_array_equal(w_est, w_chunked)
        np.testing.assert_array_equal(b_est, b_chunked)
        np.testing.assert_allclose(w_est, w_ops, rtol=0, atol=1e-3 * np.abs(w_ops).max())


# ---------------------------------------------------------------- fit at defaults vs scikit-learn

FIT_CASES = {
    "classifier-float64": ("classifier", np.float64),
    "classifier-float32": ("classifier", np.float32),
    "regressor-float64": ("regressor", np.float64),
    "regressor-float32": ("regressor", np.float32),
    "classifier-hashed-sparse": ("classifier", "sparse"),
}


# shuffle=False reads the rows in storage order: no order can make an epoch faster, so its ratio
# is the ceiling of the others' (the rows here are drawn i.i.d., so it also fits as well).
@pytest.mark.parametrize(
    "shuffle", [True, "block", False], ids=["shuffled", "block", "storage-order"]
)
@pytest.mark.parametrize("case", FIT_CASES)
def test_fit_defaults(benchmark, case, shuffle):
    benchmark.group = "fit-defaults"
    kind, dtype = FIT_CASES[case]
    if dtype == "sparse":
        X, y = hashed_problem(rows(300_000), 2**18, 40)
    else:
        X, y = dense_problem(rows(500_000), 100, dtype, regression=kind == "regressor")
    ours = fastgd.SGDRegressor if kind == "regressor" else fastgd.SGDClassifier
    theirs = sklearn_linear.SGDRegressor if kind == "regressor" else sklearn_linear.SGDClassifier

    def fit(cls, **kw):
        def run():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # either may stop at max_iter on some data
                return cls(random_state=0, **kw).fit(X, y)

        return run

    fastgd_model, sklearn_model = interleaved(
        benchmark, fit(ours, shuffle=shuffle), fit(theirs), ("fastgd", "scikit-learn")
    )
    fastgd_score, sklearn_score = fastgd_model.score(X, y), sklearn_model.score(X, y)
    benchmark.extra_info.update(
        fastgd_score=fastgd_score,
        sklearn_score=sklearn_score,
        fastgd_n_iter=int(fastgd_model.n_iter_),
        sklearn_n_iter=int(sklearn_model.n_iter_),
    )
    print(
        f"  scores {fastgd_score:.4f} / {sklearn_score:.4f}, epochs "
        f"{fastgd_model.n_iter_} / {sklearn_model.n_iter_}"
    )
    assert abs(fastgd_score - sklearn_score) <= 0.005
