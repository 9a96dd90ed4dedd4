"""Sparse input benchmarks: hashed-text-like logistic regression on CSR data.

    FASTGD_BENCH_SCALE=1 python -m pytest bench/test_bench_sparse.py --benchmark-only

n = 500,000·FASTGD_BENCH_SCALE rows, d = 2^20 hashed features, 40 non-zeros per row. One epoch
of per-sample SGD (batch_size=1, sklearn's 'optimal' schedule, L2) by fastgd and by scikit-learn
SGDClassifier(max_iter=1), and one of fastgd's minibatch SGD (64 rows per step, asynchronous
threads) with the same schedule summed over each step's rows; every case checks its model's
log-loss against scikit-learn's (1%; at FASTGD_BENCH_SCALE=0.05 the minibatch and Hogwild! cases
missed it, at 0.2 and 1 they pass). The fit group times both estimators' fit over 5 shuffled
epochs.
Both fit without an intercept, the setting of the figures in bench/MEASUREMENTS.md (with one,
both multiply its updates by 0.01 on sparse input, scikit-learn's SPARSE_INTERCEPT_DECAY).

With Vowpal Wabbit installed (`pip install vowpalwabbit`; skipped without), the same group times
one pass of VW's default learner (adaptive, normalized, invariant updates: what VW users run) with
logistic loss over the same rows, from VW's binary cache of them (its fastest input; writing the
text and the cache is not timed), and checks that its model reaches scikit-learn's log-loss to 1%.

The d-scaling group times the same epoch at d = 2^16 ... 2^24 with the same non-zeros: the
kernel does O(nnz) work per step whatever d; what grows is the memory the coefficients span
(512 KiB to 128 MiB), so the test reports the ratio and checks it against a bound
(FASTGD_BENCH_D_SCALING_BOUND, default 1.25: within 25% over d), next to the memory's own floor at
each d: the time of one random coefficient update per non-zero and nothing else. Beside it, a
guard with a generous bound: a step's work is O(nnz), not O(d) (d = 2^12 against 2^22).
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np
import pytest

sp = pytest.importorskip("scipy.sparse")
sklearn_linear = pytest.importorskip("sklearn.linear_model")

from fastgd import _core, ops, optimizers, schedules  # noqa: E402
from fastgd.linear_model import SGDClassifier  # noqa: E402

try:
    from vowpalwabbit import pyvw
except ImportError:  # optional, as PyTorch is for the dense benchmarks
    pyvw = None

SCALE = float(os.environ.get("FASTGD_BENCH_SCALE", "1"))
N = max(1000, int(500_000 * SCALE))
D = 2**20
NNZ_PER_ROW = 40
ALPHA = 1e-6
D_SCALING_BOUND = float(os.environ.get("FASTGD_BENCH_D_SCALING_BOUND", "1.25"))


def hashed_problem(n, d, k=NNZ_PER_ROW, seed=0):
    """k hashed features per row with signs ±1/sqrt(k) (HashingVectorizer-like, l2-normalized),
    labels from a sparse linear model with noise."""
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.integers(0, d, size=(n, k), dtype=np.int32), axis=1).ravel()
    data = rng.choice(np.array([-1.0, 1.0]), size=n * k) / np.sqrt(k)
    X = sp.csr_matrix((data, idx, np.arange(0, n * k + 1, k, dtype=np.int32)), shape=(n, d))
    X.sum_duplicates()
    w_true = np.zeros(d)
    hot = rng.choice(d, d // 10, replace=False)
    w_true[hot] = 3.0 * rng.standard_normal(d // 10)
    y = np.where(X @ w_true + 0.5 * rng.standard_normal(n) > 0, 1.0, -1.0)
    return X, y


def log_loss(X, y, w, b=0.0):
    return ops.loss_and_grad(X, y, w, b, loss="log_loss", penalty="none")[0]


@pytest.fixture(scope="module")
def hashed():
    return hashed_problem(N, D)


@pytest.fixture(scope="module")
def sklearn_log_loss(hashed):
    X, y = hashed
    clf = _sklearn_epoch(X, y)
    return log_loss(X, y, clf.coef_[0].copy())


def _sklearn_epoch(X, y):
    clf = sklearn_linear.SGDClassifier(
        loss="log_loss", alpha=ALPHA, max_iter=1, tol=None, shuffle=False, fit_intercept=False
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return clf.fit(X, y)


def _fastgd_epoch(X, y, parallel="sync", n_threads=1, batch_size=1):
    """One epoch from zero. With batch_size > 1 a step's rate is the sum of its rows' per-sample
    rates (the linear scaling rule): a step then moves each coefficient as far as the per-sample
    steps over its rows would, which on rows that share few features gives nearly the same model
    per epoch."""
    w, b = np.zeros(X.shape[1]), np.zeros(1)
    lrs = schedules.rates(schedules.Optimal(ALPHA), 0, X.shape[0])
    if batch_size > 1:
        lrs = np.add.reduceat(lrs, np.arange(0, X.shape[0], batch_size))
    ops.sgd_epoch(X, y, w, b, lrs, batch_size=batch_size, loss="log_loss", penalty="l2",
                  alpha=ALPHA, fit_intercept=False, n_threads=n_threads, parallel=parallel,
                  check_input=False)  # fmt: skip
    return w


@pytest.mark.benchmark(group="sparse-hashed-logreg")
def test_sklearn_epoch(benchmark, hashed, sklearn_log_loss):
    X, y = hashed
    clf = benchmark.pedantic(_sklearn_epoch, args=(X, y), rounds=3, iterations=1)
    assert log_loss(X, y, clf.coef_[0].copy()) == pytest.approx(sklearn_log_loss, rel=1e-12)
    assert sklearn_log_loss < np.log(2)  # it learned something


@pytest.mark.benchmark(group="sparse-hashed-logreg")
def test_fastgd_epoch_one_thread(benchmark, hashed, sklearn_log_loss):
    # The same algorithm as scikit-learn's: the same model to rounding.
    X, y = hashed
    w = benchmark.pedantic(_fastgd_epoch, args=(X, y), rounds=3, iterations=1)
    assert log_loss(X, y, w) == pytest.approx(sklearn_log_loss, rel=0.01)


@pytest.mark.benchmark(group="sparse-hashed-logreg")
def test_fastgd_epoch_async(benchmark, hashed, sklearn_log_loss):
    X, y = hashed
    threads = os.cpu_count() or 1
    w = benchmark.pedantic(_fastgd_epoch, args=(X, y, "async", threads), rounds=3, iterations=1)
    benchmark.extra_info["threads"] = threads
    assert log_loss(X, y, w) == pytest.approx(sklearn_log_loss, rel=0.01)


@pytest.mark.benchmark(group="sparse-hashed-logreg")
def test_fastgd_minibatch_async(benchmark, hashed, sklearn_log_loss):
    # Not scikit-learn's algorithm: batches of 64 rows (summed rates), Hogwild! over all cores.
    X, y = hashed
    threads = os.cpu_count() or 1
    args = (X, y, "async", threads, 64)
    w = benchmark.pedantic(_fastgd_epoch, args=args, rounds=3, iterations=1)
    benchmark.extra_info["threads"] = threads
    assert log_loss(X, y, w) == pytest.approx(sklearn_log_loss, rel=0.01)


def write_vw_text(X, y, path):
    """X (CSR, column indices below 10^7, |values| below 10) and labels ±1 in Vowpal Wabbit's
    text format, built as one byte array instead of 2·10^7 formatted strings: each non-zero is
    ' jjjjjjj:±d.ddddddddd' (VW takes an all-digit feature name as the feature's index, leading
    zeros and all), each row '±1 |' then its features and a newline."""
    scaled = np.rint(np.abs(X.data) * 1e9).astype(np.int64)  # d.ddddddddd as 10 digits
    assert X.shape[1] <= 10**7 and (scaled < 10**10).all()
    n, nnz = X.shape[0], X.nnz
    indptr = X.indptr.astype(np.int64)  # positions in bytes pass 2^31 at scale 5
    tok, head = 21, 4  # bytes per non-zero, and per row before its non-zeros ("+1 |")
    row_of = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    out = np.full(head * n + tok * nnz + n, ord(" "), dtype=np.uint8)
    starts = head * np.arange(n) + tok * indptr[:-1] + np.arange(n)  # where each row begins
    out[starts] = np.where(y > 0, ord("+"), ord("-"))
    out[starts + 1] = ord("1")
    out[starts + 3] = ord("|")
    out[starts + head + tok * np.diff(indptr)] = ord("\n")
    at = head * row_of + tok * np.arange(nnz, dtype=np.int64) + row_of + head  # its leading space
    j = X.indices.astype(np.int64)
    for p in range(7):  # the index's 7 digits, most significant first
        out[at + 1 + p] = ord("0") + (j // 10 ** (6 - p)) % 10
    out[at + 8] = ord(":")
    out[at + 9] = np.where(X.data < 0, ord("-"), ord("+"))
    out[at + 10] = ord("0") + scaled // 10**9
    out[at + 11] = ord(".")
    for p in range(9):
        out[at + 12 + p] = ord("0") + (scaled // 10 ** (8 - p)) % 10
    out.tofile(path)


VW_ARGS = f"--loss_function logistic -b {D.bit_length() - 1} --noconstant --quiet"


@pytest.fixture(scope="module")
def vw_cache(hashed, tmp_path_factory):
    if pyvw is None:
        pytest.skip("Vowpal Wabbit is not installed (pip install vowpalwabbit)")
    X, y = hashed
    folder = tmp_path_factory.mktemp("vw")
    text, cache = folder / "hashed.txt", folder / "hashed.cache"
    write_vw_text(X, y, text)
    workspace = pyvw.Workspace(f"-d {text} --cache_file {cache} {VW_ARGS}")
    workspace.run_parser()  # the first pass writes the cache
    workspace.finish()
    text.unlink()
    return cache


def _vw_epoch(cache):
    workspace = pyvw.Workspace(f"--cache_file {cache} {VW_ARGS}")
    workspace.run_parser()
    return workspace


@pytest.mark.benchmark(group="sparse-hashed-logreg")
def test_vowpal_wabbit_epoch(benchmark, hashed, vw_cache, sklearn_log_loss):
    X, y = hashed
    workspace = benchmark.pedantic(_vw_epoch, args=(vw_cache,), rounds=3, iterations=1)
    assert workspace.get_weighted_examples() == X.shape[0]  # it read every row, once
    w = np.array([workspace.get_weight(j) for j in range(X.shape[1])], dtype=np.float64)
    workspace.finish()
    vw_log_loss = log_loss(X, y, w)
    benchmark.extra_info["log_loss"] = vw_log_loss
    assert vw_log_loss < 1.01 * sklearn_log_loss


FIT_EPOCHS = 5


def _fit(cls, X, y):
    clf = cls(loss="log_loss", alpha=ALPHA, max_iter=FIT_EPOCHS, tol=None, shuffle=True,
              random_state=0, fit_intercept=False)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's ConvergenceWarning at max_iter
        return clf.fit(X, y)


@pytest.fixture(scope="module")
def sklearn_fit_log_loss(hashed):
    X, y = hashed
    return log_loss(X, y, _fit(sklearn_linear.SGDClassifier, X, y).coef_[0].copy())


# What users run: the estimators, several shuffled epochs (shuffle=True is both libraries'
# default), each library with its own random order, so the models differ but not their loss.
@pytest.mark.benchmark(group="sparse-hashed-fit")
def test_sklearn_fit(benchmark, hashed, sklearn_fit_log_loss):
    X, y = hashed
    clf = benchmark.pedantic(_fit, args=(sklearn_linear.SGDClassifier, X, y), rounds=2)
    assert log_loss(X, y, clf.coef_[0].copy()) == pytest.approx(sklearn_fit_log_loss, rel=1e-12)


@pytest.mark.benchmark(group="sparse-hashed-fit")
def test_fastgd_fit(benchmark, hashed, sklearn_fit_log_loss):
    X, y = hashed
    clf = benchmark.pedantic(_fit, args=(SGDClassifier, X, y), rounds=2)
    assert clf.n_iter_ == FIT_EPOCHS
    assert log_loss(X, y, clf.coef_[0].copy()) == pytest.approx(sklearn_fit_log_loss, rel=0.01)


D_SCALING = [2**16, 2**18, 2**20, 2**22, 2**24]


@pytest.fixture(scope="module")
def d_scaling_problems():
    n = max(1000, int(500_000 * SCALE))
    return {d: hashed_problem(n, d, seed=1) for d in D_SCALING}


@pytest.mark.parametrize("d", D_SCALING, ids=[f"d=2^{d.bit_length() - 1}" for d in D_SCALING])
@pytest.mark.benchmark(group="sparse-d-scaling")
def test_fastgd_epoch_by_n_features(benchmark, d_scaling_problems, d):
    X, y = d_scaling_problems[d]
    w = benchmark.pedantic(_fastgd_epoch, args=(X, y), rounds=3, iterations=1)
    assert log_loss(X, y, w) < np.log(2)


def _best_seconds(epoch, *args):
    """The fastest of 3 runs of epoch(*args)."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        epoch(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def test_epoch_time_does_not_grow_with_n_features(d_scaling_problems):
    times = {d: _best_seconds(_fastgd_epoch, *d_scaling_problems[d]) for d in D_SCALING}
    # The memory floor at each d: one random read-modify-write of a coefficient per non-zero,
    # in the epoch's order (fastgd._core.random_update_seconds).
    floors = {
        d: _core.random_update_seconds(np.zeros(d), d_scaling_problems[d][0].indices, 3)
        for d in D_SCALING
    }
    ratio = max(times.values()) / min(times.values())
    print("epoch seconds by d:", {f"2^{d.bit_length() - 1}": round(t, 4) for d, t in times.items()})
    floor_by_d = {f"2^{d.bit_length() - 1}": round(t, 4) for d, t in floors.items()}
    print("random-update floor:", floor_by_d)
    # No kernel's epoch at the largest d can beat that d's floor: the bound can hold only if the
    # smallest d's epoch takes at least floor(largest d) / bound.
    big, small = D_SCALING[-1], D_SCALING[0]
    print(f"max/min = {ratio:.2f}; the floor at the largest d alone is "
          f"{floors[big] / times[small]:.2f}x the epoch at the smallest")  # fmt: skip
    assert ratio <= D_SCALING_BOUND, times


# The general CSR epoch (sparse/general_epoch.hpp): the softmax, averaged SGD (with and without
# L1: two ways of keeping the average), and the optimizers, exact (Adagrad's threshold clock,
# momentum's maps) and lazy.
GENERAL_CASES = {
    "softmax": dict(loss="multinomial", K=5),
    "softmax-averaged": dict(loss="multinomial", K=5, average=True),
    "averaged-elasticnet": dict(penalty="elasticnet", average=True),
    "adagrad-l1": dict(penalty="l1", optimizer="adagrad"),
    "adam-lazy": dict(optimizer="adam"),
    "softmax-momentum": dict(loss="multinomial", K=5, optimizer="momentum"),
    "nesterov-averaged": dict(optimizer="nesterov", average=True),
    "softmax-momentum-lazy": dict(
        loss="multinomial", K=5, optimizer="momentum", sparse_updates="lazy"
    ),
}


@pytest.mark.parametrize("case", ["plain", *GENERAL_CASES])
def test_step_cost_does_not_grow_with_n_features(case):
    """20,000 per-sample steps of 10 non-zeros each, at d = 2^12 and 2^22 whatever the scale:
    with any O(d) work per step, d = 2^22 would take minutes; with O(nnz) steps only the O(d)
    pass at the end of the call grows with d. A guard with a generous bound, which a busy machine
    cannot break, beside the tighter target above. "plain" is hinge with elasticnet (the lazy L1
    clocks); the others take the general CSR epoch."""
    kw = dict(GENERAL_CASES.get(case, dict(loss="hinge", penalty="elasticnet")))
    K = kw.pop("K", 0)
    average = optimizers.Average() if kw.pop("average", False) else None

    def epoch(X, y):
        coef = np.zeros((K, X.shape[1]), order="F") if K else np.zeros(X.shape[1])
        b = np.zeros(max(K, 1))
        if average is not None:
            average.reset()
        target = np.arange(len(y)) % K if K else y
        opt = kw.get("optimizer")
        args = {**kw, "optimizer": None if opt is None else optimizers.get_optimizer(opt)}
        ops.sgd_epoch(X, target, coef, b, np.full(X.shape[0], 0.05), batch_size=1,
                      n_threads=1, check_input=False, average=average, **args)  # fmt: skip

    small, large = (
        _best_seconds(epoch, *hashed_problem(20000, d, k=10, seed=5)) for d in (2**12, 2**22)
    )
    print(f"\n{case}: epoch seconds at d = 2^12: {small:.4f}, at 2^22: {large:.4f}")
    assert large < 8 * small + 1.0 + (0.5 * K), (small, large)
