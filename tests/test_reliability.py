"""Reliability of the estimators: a catalogue of bad inputs, divergence, interrupts, threads,
reproducibility and memory. (Bad input to fastgd.ops: test_errors.py; random input of every
kind: properties_ops.py through test_properties.py.)"""

from __future__ import annotations

import _thread
import os
import signal
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from fastgd import SGDClassifier, SGDRegressor

RNG = np.random.default_rng(0)
X = RNG.standard_normal((40, 3))
Y_REG = X @ [1.0, -1.0, 0.5]
Y_CLS = (Y_REG > 0).astype(int)

# (id, X, y, fit kwargs, outcome): outcome is an exception type with a message pattern, or
# "handled" (documented: a one-time conversion, or a valid edge case) — then the fit succeeds
# with a finite model.
CATALOGUE = [
    ("X-1d", X[:, 0], None, {}, (ValueError, "2D array")),
    ("X-3d", X[None], None, {}, (ValueError, "dim 3")),
    ("X-empty", X[:0], "empty", {}, (ValueError, "0 sample")),
    ("X-no-features", X[:, :0], None, {}, (ValueError, "0 feature")),
    ("y-short", X, "short", {}, (ValueError, "inconsistent numbers of samples")),
    ("X-nan", np.where(X > 1.5, np.nan, X), None, {}, (ValueError, "Input X contains NaN")),
    ("X-inf", np.where(X > 1.5, np.inf, X), None, {}, (ValueError, "Input X contains infinity")),
    ("y-nan", X, "nan", {}, (ValueError, "Input y contains NaN")),
    ("X-complex", X.astype(complex), None, {}, (ValueError, "Complex data not supported")),
    ("X-strings", X.astype(str).astype(object), None, {}, "handled"),  # numeric strings
    ("X-object", X.astype(object), None, {}, "handled"),  # converted once to float64
    ("X-int", (X * 10).astype(np.int64), None, {}, "handled"),  # converted once to float64
    ("X-bool", X > 0, None, {}, "handled"),
    ("X-fortran", np.asfortranarray(X), None, {}, "handled"),  # converted once to C order
    ("X-strided", np.repeat(X, 2, axis=1)[:, ::2], None, {}, "handled"),
    ("X-huge", X * 1e200, None, {}, (ValueError, "diverged")),
    ("single-sample", X[:1], "one", {}, "single-sample"),
    ("sw-negative", X, None, dict(sample_weight=-np.ones(40)), (ValueError, "sample_weight")),
    ("sw-nan", X, None, dict(sample_weight=np.full(40, np.nan)), (ValueError, "sample_weight")),
    ("sw-short", X, None, dict(sample_weight=np.ones(3)), (ValueError, "sample_weight")),
    ("sw-zero", X, None, dict(sample_weight=np.zeros(40)), (ValueError, "sample_weight")),
    ("sw-complex", X, None, dict(sample_weight=np.ones(40, complex)), (TypeError, "sample_weight")),
    ("coef_init-shape", X, None, dict(coef_init=np.zeros(5)), (ValueError, "coef_init")),
    ("coef_init-nan", X, None, dict(coef_init=np.full(3, np.nan)), (ValueError, "coef_init")),
    ("intercept_init", X, None, dict(intercept_init=np.zeros(4)), (ValueError, "intercept_init")),
]


def _targets(kind, est, X_):
    y = Y_CLS if isinstance(est, SGDClassifier) else Y_REG
    if kind is None:
        return y[: len(X_)]
    if kind == "empty":
        return y[:0]
    if kind == "short":
        return y[:-1]
    if kind == "nan":
        return np.where(np.arange(len(y)) == 3, np.nan, y)
    if kind == "one":
        return y[:1]
    raise AssertionError(kind)


@pytest.mark.parametrize("make", [SGDRegressor, SGDClassifier], ids=["regressor", "classifier"])
@pytest.mark.parametrize(
    "X_, y_kind, kwargs, outcome", [c[1:] for c in CATALOGUE], ids=[c[0] for c in CATALOGUE]
)
def test_bad_input_catalogue(make, X_, y_kind, kwargs, outcome):
    est = make(random_state=0, max_iter=50, tol=None).fit(X, _targets(None, make(), X))
    before = est.coef_.copy(), est.intercept_.copy()
    y = _targets(y_kind, est, X_)
    if outcome == "single-sample":  # a regressor fits it; a classifier sees one class
        outcome = "handled" if make is SGDRegressor else (ValueError, "greater than one")
    if outcome == "handled":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=Warning)
            est.fit(X_, y, **kwargs)
        assert np.isfinite(est.coef_).all() and np.isfinite(est.intercept_).all()
        return
    exc, match = outcome
    with pytest.raises(exc, match=match):
        est.fit(X_, y, **kwargs)
    np.testing.assert_array_equal(est.coef_, before[0])  # the previous model is intact
    np.testing.assert_array_equal(est.intercept_, before[1])


@pytest.mark.parametrize(
    "option, value",
    [
        ("loss", "squares"),
        ("penalty", "l3"),
        ("learning_rate", "fastest"),
        ("class_weight", {7: 1}),
    ],
)
def test_unknown_options_are_refused(option, value):
    with pytest.raises(ValueError, match=option if option != "class_weight" else "class"):
        SGDClassifier(**{option: value}).fit(X, Y_CLS)


def _interrupted_fit():
    """A long fit that Ctrl-C interrupts after 0.5 s: the estimator, its model before this fit,
    and the seconds from the interrupt to the KeyboardInterrupt."""
    rng = np.random.default_rng(1)
    Xb = rng.standard_normal((200_000, 20))
    yb = Xb @ rng.standard_normal(20)
    est = SGDRegressor(max_iter=2, tol=None, random_state=0).fit(Xb[:1000], yb[:1000])
    before = est.coef_.copy(), est.n_iter_
    timer = threading.Timer(0.5, _thread.interrupt_main)  # as Ctrl-C does
    est.set_params(max_iter=10_000)
    # Python's own handler, which raises KeyboardInterrupt: a process started in the background
    # by a shell inherits SIGINT ignored, and interrupt_main then does nothing.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        start = time.perf_counter()
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            est.fit(Xb, yb)
        latency = time.perf_counter() - start - 0.5
        timer.join()
    finally:
        signal.signal(signal.SIGINT, previous)
    return est, before, latency


def test_interrupt_keeps_the_previous_model():
    est, before, _ = _interrupted_fit()
    np.testing.assert_array_equal(est.coef_, before[0])  # consistent: the previous model
    assert est.n_iter_ == before[1]


@pytest.mark.perf
def test_interrupt_is_honoured_within_a_second():
    latency = _interrupted_fit()[2]
    assert latency < 1.0, f"KeyboardInterrupt took {latency:.2f} s"


def test_threads_fitting_separate_estimators_match_sequential_fits():
    rng = np.random.default_rng(2)
    problems = [(rng.standard_normal((3000, 8)), rng.integers(0, 3, 3000)) for _ in range(4)]

    def fit(problem):
        return SGDClassifier(random_state=0, batch_size=4, max_iter=5, tol=None).fit(*problem)

    sequential = [fit(p).coef_ for p in problems]
    results = [None] * len(problems)

    def work(k):
        results[k] = fit(problems[k]).coef_

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(problems))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, expected in zip(results, sequential):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_same_random_state_and_threads_give_bitwise_identical_models(n_jobs):
    Xr = np.random.default_rng(3).standard_normal((5000, 30))
    yr = Xr @ np.linspace(-1, 1, 30)
    kw = dict(random_state=7, n_jobs=n_jobs, batch_size=2048, max_iter=20, tol=None)
    a = SGDRegressor(**kw).fit(Xr, yr)
    b = SGDRegressor(**kw).fit(Xr, yr)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert a.intercept_[0] == b.intercept_[0] and a.loss_curve_ == b.loss_curve_


def test_thread_count_changes_results_only_by_rounding():
    Xr = np.random.default_rng(4).standard_normal((5000, 30))
    yr = Xr @ np.linspace(-1, 1, 30)
    kw = dict(random_state=7, batch_size=2048, max_iter=20, tol=None)
    one = SGDRegressor(n_jobs=1, **kw).fit(Xr, yr)
    two = SGDRegressor(n_jobs=2, **kw).fit(Xr, yr)
    np.testing.assert_allclose(two.coef_, one.coef_, rtol=1e-12, atol=1e-14)


def _rss_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs Linux /proc")
@pytest.mark.skipif(
    os.environ.get("FASTGD_SANITIZE") == "1",
    reason="AddressSanitizer holds freed memory in its quarantine: RSS is not a leak measure",
)
def test_memory_stays_flat_over_2000_fits():
    Xs = np.random.default_rng(5).standard_normal((64, 4))
    ys = (Xs[:, 0] > 0).astype(int)
    est = SGDClassifier(max_iter=3, tol=None, random_state=0, batch_size=8)
    for _ in range(200):  # warm up caches and allocator pools
        est.fit(Xs, ys)
    start = _rss_bytes()
    for _ in range(1800):
        est.fit(Xs, ys)
    growth = _rss_bytes() - start
    assert growth < 2 * 2**20, f"RSS grew by {growth / 2**20:.1f} MiB over 1800 fits"


@pytest.mark.parametrize("batch, n_threads", [(1, 1), (64, 1), (256, 2)])
def test_kernel_stops_a_diverging_epoch_and_keeps_finite_weights(batch, n_threads):
    from fastgd import ops, optimizers

    rng = np.random.default_rng(6)
    X = rng.standard_normal((16384, 64)) * 10
    y = X @ rng.standard_normal(64)
    w, b = np.zeros(64), np.zeros(1)
    steps = ops.n_steps(16384, batch)
    avg = optimizers.Average()
    with np.errstate(all="ignore"):
        total = ops.sgd_epoch(
            X, y, w, b, np.full(steps, 10.0), batch_size=batch, n_threads=n_threads, average=avg
        )
    assert not np.isfinite(total)  # reported to the caller, who raises (see the estimators)
    assert np.isfinite(w).all() and np.isfinite(b).all()  # the last finite weights
    assert avg.step_[0] < steps  # the epoch stopped at the divergence
