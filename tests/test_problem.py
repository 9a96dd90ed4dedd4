"""The prepared problem (fastgd._core.Problem), through which ops and the solver run the kernels:
its checks at construction and per chunk, and chunks that add up to one epoch."""

from __future__ import annotations

import numpy as np
import pytest

from fastgd import _core

sp = pytest.importorskip("scipy.sparse")


def _data(n=50, d=6, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    y = np.where(X @ rng.standard_normal(d) > 0, 1.0, -1.0).astype(dtype)
    return X, y


@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_chunk_rows_out_of_range_raise_before_any_work(layout):
    X, y = _data()
    problem = _core.Problem(X if layout == "dense" else sp.csr_matrix(X), y, loss=_core.Loss.hinge)
    w, b = np.zeros(6), np.zeros(1)
    for rows in ([0, 50], [-1, 3]):
        with pytest.raises(ValueError, match=r"order must hold row indices in \[0, 50\)"):
            problem.run(w, b, np.full(2, 0.1), np.array(rows, dtype=np.int64), check_order=False)
    assert not w.any() and not b.any()


def test_repeated_rows_are_refused_only_when_asked():
    """Distinctness is the public ops contract (checked there); the solver's chunks are slices
    of a permutation and skip the O(n) check. Repeated rows are still memory-safe."""
    X, y = _data()
    problem = _core.Problem(X, y, loss=_core.Loss.log_loss)
    w, b = np.zeros(6), np.zeros(1)
    rows = np.array([3, 3, 4], dtype=np.int64)
    with pytest.raises(ValueError, match="out of range or repeated"):
        problem.run(w, b, np.full(3, 0.1), rows)
    problem.run(w, b, np.full(3, 0.1), rows, check_order=False)
    assert w.any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch_size", [1, 7])
def test_dense_chunks_add_up_to_one_epoch_bit_for_bit(dtype, batch_size):
    X, y = _data(n=200, dtype=dtype)
    order = np.random.default_rng(1).permutation(200)
    lrs = np.linspace(0.1, 0.01, -(-200 // batch_size))
    problem = _core.Problem(
        X,
        y,
        loss=_core.Loss.modified_huber,
        penalty=_core.Penalty.elasticnet,
        batch_size=batch_size,
    )
    whole = np.zeros(6, dtype), np.zeros(1, dtype)
    total = problem.run(*whole, lrs, order)
    parts = np.zeros(6, dtype), np.zeros(1, dtype)
    steps = 5  # steps per chunk, as the solver splits an epoch
    total_parts = sum(
        problem.run(
            *parts,
            lrs[lo : lo + steps],
            order[lo * batch_size : (lo + steps) * batch_size],
            check_order=False,
        )
        for lo in range(0, len(lrs), steps)
    )
    np.testing.assert_array_equal(parts[0], whole[0])
    np.testing.assert_array_equal(parts[1], whole[1])
    assert total_parts == pytest.approx(total, rel=1e-12)


def test_with_targets_checks_the_new_targets_and_keeps_x():
    X, y = _data()
    problem = _core.Problem(X, y, loss=_core.Loss.hinge)
    with pytest.raises(ValueError, match="labels -1 or \\+1"):
        problem.with_targets(np.full(50, 2.0))
    with pytest.raises(ValueError, match=r"y must have shape \(50,\)"):
        problem.with_targets(y[:-1])
    other = problem.with_targets(-y, np.ones(50))
    assert (other.n_samples, other.n_features) == (50, 6)
    w1, w2 = np.zeros(6), np.zeros(6)
    problem.run(w1, np.zeros(1), np.full(50, 0.1))
    other.run(w2, np.zeros(1), np.full(50, 0.1))
    np.testing.assert_allclose(w2, -w1)  # the hinge loss is odd in (y, w) from zero


@pytest.mark.parametrize(
    "penalty, rho",
    [("none", None), ("l2", 0.0), ("l1", 1.0), ("elasticnet", 0.3)],
)
def test_penalty_value_is_alpha_times_r(penalty, rho):
    X, y = _data()
    w = np.random.default_rng(2).standard_normal(6)
    problem = _core.Problem(
        X, y, penalty=_core.Penalty.__members__[penalty], alpha=0.05, l1_ratio=0.3
    )
    expected = 0.0 if rho is None else 0.05 * ((1 - rho) * 0.5 * w @ w + rho * np.abs(w).sum())
    assert problem.penalty_value(w) == pytest.approx(expected, rel=1e-14)
    assert np.isnan(problem.penalty_value(np.full(6, np.nan)))  # diverged: no error


def test_x_with_nan_is_named_in_scikit_learns_words():
    X, y = _data()
    X[7, 2] = np.nan
    with pytest.raises(ValueError, match=r"Input X contains NaN \(first in row 7\)"):
        _core.Problem(X, y)
    X[7, 2] = np.inf
    with pytest.raises(ValueError, match=r"Input X contains infinity \(first in row 7\)"):
        _core.Problem(X, y)
    _core.Problem(X, y, check_finite=False)  # the callers that checked X already
