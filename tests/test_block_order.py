"""Block-shuffled orders (``shuffle="block"``, ``ops.block_order``): their shape, their
determinism, and that the kernels' streaming of them changes nothing but the speed."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from fastgd import ops, optimizers
from fastgd.linear_model import SGDClassifier, SGDRegressor

from conftest import make_problem


# Whole blocks only (a short last block is checked below): the windows are then of equal size.
@pytest.mark.parametrize("n, row_bytes", [(1, 400), (1000, 400), (5100, 40), (777, 64 * 1024 * 3)])
def test_a_block_order_shuffles_whole_blocks_within_windows(n, row_bytes):
    d = row_bytes // 4
    X = np.zeros((n, d), dtype=np.float32)
    order = ops.block_order(np.random.default_rng(0), X, block_bytes=4096, window_blocks=3)
    rows, stream = order
    block_rows = max(1, 4096 // row_bytes)
    assert rows.dtype == stream.dtype == np.int64
    np.testing.assert_array_equal(np.sort(rows), np.arange(n))  # a permutation
    # Each window holds whole blocks of contiguous rows.
    window = 3 * block_rows
    bounds = []
    lo = 0
    while lo < n:
        ids = np.unique(rows[lo : lo + window] // block_rows)
        members = np.concatenate(
            [np.arange(b * block_rows, min(n, (b + 1) * block_rows)) for b in ids]
        )
        hi = lo + members.size
        np.testing.assert_array_equal(np.sort(rows[lo:hi]), members)
        bounds.append((lo, hi))
        lo = hi
    # The stream names, at a window's positions, the next window's rows, block by block in
    # storage order (up to the window with the short last block, after which it shifts).
    assert ((stream >= 0) & (stream < n)).all()
    for (lo, hi), (lo2, hi2) in zip(bounds, bounds[1:]):
        if hi - lo < window or hi2 - lo2 < window:
            break
        np.testing.assert_array_equal(np.sort(stream[lo:hi]), np.sort(rows[lo2:hi2]))
        assert np.sum(np.diff(stream[lo:hi]) != 1) <= 2  # 3 blocks: 2 jumps between them


def test_a_block_order_is_deterministic_by_seed_and_random_across_seeds():
    X = np.zeros((20_000, 10))
    a, b, c = (ops.block_order(np.random.default_rng(s), X) for s in (1, 1, 2))
    np.testing.assert_array_equal(np.sort(a.rows), np.arange(20_000))  # a short last block
    np.testing.assert_array_equal(a.rows, b.rows)
    np.testing.assert_array_equal(a.stream, b.stream)
    assert not np.array_equal(a.rows, c.rows)
    assert not np.array_equal(a.rows, np.arange(20_000))
    # Over rows of a split: their positions blocked, mapped back to the rows.
    split = np.arange(0, 20_000, 3)
    sub = ops.block_order(np.random.default_rng(1), X, rows=split)
    np.testing.assert_array_equal(np.sort(sub.rows), split)
    assert np.isin(sub.stream, split).all()


def test_block_order_refuses_bad_arguments():
    X = np.zeros((10, 3))
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        ops.block_order(0, X)
    with pytest.raises(TypeError, match="X must be a 2-D array"):
        ops.block_order(np.random.default_rng(0), [[1.0]])
    with pytest.raises(ValueError, match="block_bytes"):
        ops.block_order(np.random.default_rng(0), X, block_bytes=0)
    with pytest.raises(ValueError, match="window_blocks"):
        ops.block_order(np.random.default_rng(0), X, window_blocks=0)


def _dense_and_csr(dtype):
    X, y = make_problem(3000, 40, dtype, "log_loss", seed=3)
    Xs = sp.random(3000, 500, density=0.02, format="csr", random_state=3, dtype=dtype)
    return [(X, y), (Xs, y)]


@pytest.mark.parametrize("batch_size", [1, 7, 256, 3000])
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("update", ["plain", "adam", "average"])
def test_streaming_a_block_order_gives_the_bits_of_its_rows(batch_size, n_threads, update, dtype):
    """The stream only fetches ahead: the same epoch as the order's rows passed as an array."""
    for X, y in _dense_and_csr(dtype):
        order = ops.block_order(np.random.default_rng(5), X, block_bytes=2048, window_blocks=4)
        lrs = np.full(ops.n_steps(X.shape[0], batch_size), 0.05)
        results = []
        for o in (order, order.rows):
            w, b = np.zeros(X.shape[1], dtype=dtype), np.zeros(1, dtype=dtype)
            average = optimizers.Average() if update == "average" else None
            total = ops.sgd_epoch(
                X, y, w, b, lrs, batch_size=batch_size, order=o, loss="log_loss",
                penalty="elasticnet", alpha=1e-3, n_threads=n_threads,
                optimizer="adam" if update == "adam" else None, average=average,
            )  # fmt: skip
            results.append((average.coef_ if average else w, b, total))
        np.testing.assert_array_equal(results[0][0], results[1][0])
        np.testing.assert_array_equal(results[0][1], results[1][1])
        assert results[0][2] == results[1][2]
        assert np.abs(results[0][0]).max() > 0


def test_a_stream_is_checked_before_any_work():
    X, y = make_problem(50, 4, np.float64, "squared_error")
    problem = ops._prepare(X, y, None, loss="squared_error", penalty="l2", alpha=0.1,
                           l1_ratio=0.15, epsilon=0.1, n_threads=1, check_input=True,
                           coef=np.zeros(4), label_smoothing=0.0, batch_size=5,
                           fit_intercept=True, parallel="sync", optimizer=None, average=None,
                           sparse_updates="auto", intercept_decay=1.0,
                           l1_method="proximal")  # fmt: skip
    w, b, lrs, order = np.zeros(4), np.zeros(1), np.full(10, 0.1), np.arange(50)
    cases = [
        (None, np.arange(50), "stream needs an order"),
        (order, np.arange(49), "stream must be a 1-D array as long as order"),
        (order, np.full(50, 50), r"stream must hold row indices in \[0, 50\); entry 0 is 50"),
        (order, np.full(50, -1), "entry 0 is -1"),
    ]
    for o, stream, message in cases:
        with pytest.raises(ValueError, match=message):
            problem.run(w, b, lrs, o, stream=stream)
        assert not w.any() and not b.any()


@pytest.mark.parametrize("Estimator", [SGDRegressor, SGDClassifier])
def test_estimators_shuffle_by_blocks(Estimator):
    loss = "squared_error" if Estimator is SGDRegressor else "log_loss"
    X, y = make_problem(4000, 20, np.float64, loss, seed=1)
    kw = dict(random_state=0, max_iter=5, tol=None, batch_size=8, learning_rate="constant",
              eta0=0.01)  # fmt: skip
    block = Estimator(shuffle="block", **kw).fit(X, y)
    again = Estimator(shuffle="block", **kw).fit(X, y)
    full = Estimator(shuffle=True, **kw).fit(X, y)
    np.testing.assert_array_equal(block.coef_, again.coef_)  # reproducible from the seed
    assert not np.array_equal(block.coef_, full.coef_)
    # On i.i.d. rows the block order learns the same model as the full shuffle, to SGD's noise.
    assert block.score(X, y) == pytest.approx(full.score(X, y), abs=0.01)
    # With early stopping the training rows of the split are blocked.
    stopped = Estimator(
        shuffle="block", early_stopping=True, **{**kw, "tol": 1e-3, "max_iter": 100}
    )
    stopped.fit(X, y)
    assert stopped.n_iter_ < 100
    assert stopped.score(X, y) == pytest.approx(full.score(X, y), abs=0.02)
    with pytest.raises(ValueError, match="shuffle"):
        Estimator(shuffle="blocks").fit(X, y)
