"""fastgd.ops against the float64 NumPy reference (tests/reference.py)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from fastgd import ops

import reference
from conftest import (
    ALL_LOSSES,
    PENALTIES,
    assert_close,
    make_problem,
)

PARAMS = dict(alpha=0.01, l1_ratio=0.3, epsilon=0.2)


def test_lists_match_the_kernels():
    # The tables in conftest drive these tests: they must name every loss and penalty the core has.
    assert set(ALL_LOSSES) == set(ops.LOSSES)
    assert set(PENALTIES) == set(ops.PENALTIES)


def _coef(d, dtype, seed=3):
    coef = np.random.default_rng(seed).standard_normal(d).astype(dtype) * 0.3
    coef[1] = 0.0  # the L1 subgradient takes sign(0) = 0
    return coef


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("intercept", [0.0, 0.7], ids=["b0", "b0.7"])
@pytest.mark.parametrize("penalty", PENALTIES)
@pytest.mark.parametrize("loss", ALL_LOSSES)
def test_loss_and_grad_matches_reference(loss, penalty, intercept, weighted, dtype):
    X, y = make_problem(57, 6, dtype, loss)
    coef = _coef(6, dtype)
    sw = np.random.default_rng(4).uniform(0, 2, 57).astype(dtype) if weighted else None
    obj, grad, grad_b = ops.loss_and_grad(
        X, y, coef, intercept, loss=loss, penalty=penalty, sample_weight=sw, **PARAMS
    )
    ref_obj, ref_grad, ref_grad_b = reference.objective_and_grad(
        X, y, coef, intercept, loss=loss, penalty=penalty, sample_weight=sw, **PARAMS
    )
    assert grad.dtype == dtype and grad.shape == (6,)
    assert_close(obj, ref_obj, dtype)
    assert_close(grad, ref_grad, dtype)
    assert_close(grad_b, ref_grad_b, dtype, scale=max(abs(ref_grad_b), np.abs(ref_grad).max()))


@pytest.mark.parametrize("loss", ["squared_error", "log_loss", "squared_hinge", "huber"])
def test_gradient_matches_finite_differences(loss):
    X, y = make_problem(80, 5, np.float64, loss)
    coef = _coef(5, np.float64) + 0.05  # away from 0, where L1 is not differentiable
    kw = dict(loss=loss, penalty="elasticnet", **PARAMS)
    _, grad, grad_b = ops.loss_and_grad(X, y, coef, 0.2, **kw)
    h = 1e-6
    for j in range(5):
        e = np.zeros(5)
        e[j] = h
        fp = ops.loss_and_grad(X, y, coef + e, 0.2, **kw)[0]
        fm = ops.loss_and_grad(X, y, coef - e, 0.2, **kw)[0]
        assert grad[j] == pytest.approx((fp - fm) / (2 * h), rel=1e-5, abs=1e-7)
    fp = ops.loss_and_grad(X, y, coef, 0.2 + h, **kw)[0]
    fm = ops.loss_and_grad(X, y, coef, 0.2 - h, **kw)[0]
    assert grad_b == pytest.approx((fp - fm) / (2 * h), rel=1e-5, abs=1e-7)


def _run_epoch(X, y, coef, intercept, lrs, **kw):
    """fastgd's epoch on copies; returns (coef, intercept, progressive loss)."""
    w, b = coef.copy(), np.array([intercept], dtype=X.dtype)
    total = ops.sgd_epoch(X, y, w, b, lrs, **kw)
    return w, b[0], total


@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no-intercept"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("penalty", PENALTIES)
@pytest.mark.parametrize("loss", ALL_LOSSES)
def test_sgd_epoch_matches_reference(loss, penalty, weighted, fit_intercept, dtype):
    n, d, batch = 203, 7, 16  # 13 steps, the last one of 11 rows
    X, y = make_problem(n, d, dtype, loss, seed=5)
    rng = np.random.default_rng(6)
    order = rng.permutation(n)
    sw = rng.uniform(0, 2, n).astype(dtype) if weighted else None
    lrs = 0.05 * 0.9 ** np.arange(ops.n_steps(n, batch))  # decaying
    coef = _coef(d, dtype)
    kw = dict(
        batch_size=batch,
        order=order,
        loss=loss,
        penalty=penalty,
        sample_weight=sw,
        fit_intercept=fit_intercept,
        **PARAMS,
    )
    w, b, total = _run_epoch(X, y, coef, 0.1, lrs, **kw)
    ref_w, ref_b, ref_total = reference.sgd_epoch(X, y, coef, 0.1, lrs, **kw)
    assert_close(w, ref_w, dtype)
    assert_close(b, ref_b, dtype, scale=max(abs(ref_b), np.abs(ref_w).max()))
    assert_close(total, ref_total, dtype)
    if not fit_intercept:
        assert b == dtype.type(0.1)


@pytest.mark.parametrize("batch", [1, 2, 50, 203, 1000])
def test_sgd_epoch_batch_sizes(batch, dtype):
    X, y = make_problem(203, 7, dtype, "huber", seed=8)
    lrs = np.full(ops.n_steps(203, batch), 0.02)
    kw = dict(batch_size=batch, loss="huber", penalty="elasticnet", **PARAMS)
    w, b, total = _run_epoch(X, y, _coef(7, dtype), -0.2, lrs, **kw)
    ref_w, ref_b, ref_total = reference.sgd_epoch(X, y, _coef(7, dtype), -0.2, lrs, **kw)
    assert_close(w, ref_w, dtype)
    assert_close(b, ref_b, dtype, scale=np.abs(ref_w).max())
    assert_close(total, ref_total, dtype)


@pytest.mark.parametrize("batch", [1, 8])
def test_order_may_select_a_subset_of_rows(dtype, batch):
    # A training split used in place: the same as running on the copied rows.
    X, y = make_problem(120, 5, dtype, "squared_error", seed=15)
    rows = np.random.default_rng(1).permutation(120)[:77]
    lrs = np.full(ops.n_steps(77, batch), 0.05)
    kw = dict(batch_size=batch, penalty="elasticnet", **PARAMS)
    w, b, total = _run_epoch(X, y, _coef(5, dtype), 0.3, lrs, order=rows, **kw)
    w_c, b_c, total_c = _run_epoch(X[rows], y[rows], _coef(5, dtype), 0.3, lrs, **kw)
    np.testing.assert_array_equal(w, w_c)
    assert (b, total) == (b_c, total_c)


def test_several_epochs_chain_like_the_reference():
    X, y = make_problem(150, 4, np.float64, "log_loss", seed=9)
    w, b = np.zeros(4), np.zeros(1)
    ref_w, ref_b = np.zeros(4), 0.0
    rng = np.random.default_rng(0)
    for epoch in range(3):
        order = rng.permutation(150)
        lrs = 0.1 / (1 + np.arange(epoch * 10, epoch * 10 + 10)) ** 0.5
        ops.sgd_epoch(X, y, w, b, lrs, batch_size=15, order=order, loss="log_loss")
        ref_w, ref_b, _ = reference.sgd_epoch(
            X,
            y,
            ref_w,
            ref_b,
            lrs,
            batch_size=15,
            order=order,
            loss="log_loss",
            penalty="l2",
            alpha=1e-4,
            l1_ratio=0.15,
            epsilon=0.1,
        )
    assert_close(w, ref_w, np.float64)
    assert_close(b[0], ref_b, np.float64, scale=np.abs(ref_w).max())


@pytest.mark.parametrize("loss", ["squared_error", "hinge"])
def test_full_batch_epoch_is_one_gradient_step(loss, dtype):
    X, y = make_problem(64, 9, dtype, loss, seed=10)
    coef = _coef(9, dtype)
    lr = 0.3
    kw = dict(loss=loss, penalty="l2", alpha=0.05)
    _, grad, grad_b = ops.loss_and_grad(X, y, coef, 0.25, **kw)
    w, b, _ = _run_epoch(X, y, coef, 0.25, [lr], batch_size=64, **kw)
    expected_w = coef.astype(np.float64) - lr * grad.astype(np.float64)
    expected_b = 0.25 - lr * grad_b
    if dtype == np.float64:  # the same arithmetic in the same order: bitwise equal
        np.testing.assert_array_equal(w, expected_w)
        assert b == expected_b
    else:  # grad comes back rounded to float32, the kernel keeps it in float64
        np.testing.assert_allclose(w, expected_w, rtol=1e-6, atol=1e-7)
        assert b == pytest.approx(expected_b, rel=1e-6)


def test_l1_gives_exact_zeros():
    rng = np.random.default_rng(11)
    X = rng.standard_normal((500, 30))
    w_true = np.zeros(30)
    w_true[:3] = [2.0, -1.5, 1.0]
    y = X @ w_true + 0.01 * rng.standard_normal(500)
    w, b = np.zeros(30), np.zeros(1)
    for _epoch in range(20):
        ops.sgd_epoch(X, y, w, b, np.full(10, 0.05), batch_size=50, penalty="l1", alpha=0.05)
    assert np.all(w[3:] == 0.0)  # exactly zero, not merely small
    assert np.all(np.abs(w[:3]) > 0.5)
    assert np.all(np.sign(w[:3]) == np.sign(w_true[:3]))


def test_threads_agree_and_are_reproducible():
    X, y = make_problem(8192, 64, np.float64, "squared_error", seed=12)
    lrs = np.full(ops.n_steps(8192, 1024), 0.01)
    order = np.random.default_rng(0).permutation(8192)
    kw = dict(batch_size=1024, order=order, penalty="elasticnet", **PARAMS)
    w1, b1, t1 = _run_epoch(X, y, np.zeros(64), 0.0, lrs, n_threads=1, **kw)
    w2, b2, t2 = _run_epoch(X, y, np.zeros(64), 0.0, lrs, n_threads=2, **kw)
    w2b, b2b, t2b = _run_epoch(X, y, np.zeros(64), 0.0, lrs, n_threads=2, **kw)
    np.testing.assert_allclose(w2, w1, rtol=1e-12, atol=1e-14)
    assert b2 == pytest.approx(b1, rel=1e-12) and t2 == pytest.approx(t1, rel=1e-12)
    # Same inputs and thread count: bitwise the same.
    np.testing.assert_array_equal(w2b, w2)
    assert (b2b, t2b) == (b2, t2)
    g1 = ops.loss_and_grad(X, y, w1, 0.1, n_threads=1)
    g2 = ops.loss_and_grad(X, y, w1, 0.1, n_threads=2)
    np.testing.assert_allclose(g2[1], g1[1], rtol=1e-12, atol=1e-14)
    assert g2[0] == pytest.approx(g1[0], rel=1e-12)


def test_row_strided_and_broadcast_views_are_used_in_place():
    X, y = make_problem(300, 5, np.float64, "squared_error", seed=13)
    lrs = np.full(10, 0.05)
    w_view, _, _ = _run_epoch(X[::2], y[::2], np.zeros(5), 0.0, lrs, batch_size=15)
    w_copy, _, _ = _run_epoch(X[::2].copy(), y[::2].copy(), np.zeros(5), 0.0, lrs, batch_size=15)
    np.testing.assert_array_equal(w_view, w_copy)
    row = np.arange(1.0, 6.0)
    Xb = np.broadcast_to(row, (40, 5))  # row stride 0
    _, gb, _ = ops.loss_and_grad(Xb, np.ones(40), np.zeros(5), 0.0, penalty="none")
    np.testing.assert_allclose(gb, -row)


def test_integer_labels_are_accepted():
    X, y = make_problem(100, 4, np.float32, "hinge", seed=14)
    w_int, b_int, _ = _run_epoch(
        X,
        y.astype(np.int64),
        np.zeros(4, np.float32),
        0.0,
        np.full(10, 0.1),
        batch_size=10,
        loss="hinge",
    )
    w_f, b_f, _ = _run_epoch(
        X, y, np.zeros(4, np.float32), 0.0, np.full(10, 0.1), batch_size=10, loss="hinge"
    )
    np.testing.assert_array_equal(w_int, w_f)


def test_sgd_epoch_releases_the_gil():
    # A long epoch over a broadcast X (no memory), run in a thread: the main thread must keep
    # running Python code meanwhile. With the GIL held, it would stall for the whole kernel.
    d, n, batch = 256, 2_000_000, 4
    X = np.broadcast_to(np.full(d, 1e-3), (n, d))
    y = np.zeros(n)
    lrs = np.full(ops.n_steps(n, batch), 1e-3)
    w, b = np.zeros(d), np.zeros(1)
    timing = {}

    def work():
        start = time.perf_counter()
        ops.sgd_epoch(X, y, w, b, lrs, batch_size=batch, n_threads=1, check_input=False)
        timing["kernel"] = time.perf_counter() - start

    worker = threading.Thread(target=work)
    worker.start()
    ticks = [time.perf_counter()]
    while worker.is_alive():
        ticks.append(time.perf_counter())
    worker.join()
    longest_stall = np.max(np.diff(ticks)) if len(ticks) > 1 else np.inf
    assert timing["kernel"] > 0.05, "the epoch was too short to show anything"
    assert longest_stall < 0.5 * timing["kernel"]
