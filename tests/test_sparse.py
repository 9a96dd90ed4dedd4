"""Sparse (CSR) input: the same results as the dense kernels on X.toarray(), at O(nnz) per step."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from fastgd import ops
from fastgd.linear_model import SGDClassifier, SGDRegressor

import reference
from conftest import ALL_LOSSES, CLASSIFICATION_LOSSES, PENALTIES, assert_close

PARAMS = dict(alpha=0.01, l1_ratio=0.3, epsilon=0.2)


def make_sparse_problem(n, d, dtype, loss, density=0.3, seed=0, index_dtype=np.int32):
    """A random CSR matrix (values ~ N(0, 1)) and targets suited to the loss."""
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, format="csr", random_state=seed, dtype=np.float64)
    X.data = rng.standard_normal(X.nnz)
    X = X.astype(dtype)
    X.indices = X.indices.astype(index_dtype)
    X.indptr = X.indptr.astype(index_dtype)
    t = X.toarray().astype(np.float64) @ rng.standard_normal(d) + 0.3
    if loss in CLASSIFICATION_LOSSES:
        y = np.where(t + 0.3 * rng.standard_normal(n) > 0, 1.0, -1.0)
    else:
        y = t + 0.1 * rng.standard_normal(n)
    return X, y.astype(dtype)


def _coef(d, dtype, seed=3):
    coef = np.random.default_rng(seed).standard_normal(d).astype(dtype) * 0.3
    coef[1] = 0.0
    return coef


def _epoch(X, y, coef, intercept, lrs, **kw):
    w, b = coef.copy(), np.array([intercept], dtype=coef.dtype)
    total = ops.sgd_epoch(X, y, w, b, lrs, **kw)
    return w, b[0], total


def _assert_same_epoch(sparse, dense, dtype):
    (w, b, total), (ref_w, ref_b, ref_total) = sparse, dense
    assert_close(w, ref_w, dtype)
    assert_close(b, ref_b, dtype, scale=max(abs(float(ref_b)), np.abs(ref_w).max()))
    assert_close(total, ref_total, dtype)


# ---------------------------------------------------------------- sparse == dense


@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no-intercept"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("penalty", PENALTIES)
@pytest.mark.parametrize("loss", ALL_LOSSES)
@pytest.mark.parametrize("batch", [1, 16], ids=["per-sample", "batch16"])
def test_epoch_matches_dense(batch, loss, penalty, weighted, fit_intercept, dtype):
    # batch 16: 13 steps, the last of 11 rows; batch 1 without L1 is its own loop in the kernel.
    n, d = 203, 40
    X, y = make_sparse_problem(n, d, dtype, loss, seed=5)
    rng = np.random.default_rng(6)
    sw = rng.uniform(0, 2, n).astype(dtype) if weighted else None
    lrs = 0.05 * 0.9 ** (np.arange(ops.n_steps(n, batch)) * batch / 16)  # the same decay per row
    kw = dict(
        batch_size=batch,
        order=rng.permutation(n),
        loss=loss,
        penalty=penalty,
        sample_weight=sw,
        fit_intercept=fit_intercept,
        **PARAMS,
    )
    coef = _coef(d, dtype)
    sparse = _epoch(X, y, coef, 0.1, lrs, **kw)
    dense = _epoch(X.toarray(), y, coef, 0.1, lrs, **kw)
    _assert_same_epoch(sparse, dense, dtype)
    # and the float64 reference, for good measure
    _assert_same_epoch(sparse, reference.sgd_epoch(X.toarray(), y, coef, 0.1, lrs, **kw), dtype)


@pytest.mark.parametrize("batch", [1, 2, 7, 50, 203, 1000])
@pytest.mark.parametrize("penalty", PENALTIES)
def test_batch_sizes_and_orders_match_dense(batch, penalty):
    X, y = make_sparse_problem(203, 25, np.float64, "huber", density=0.2, seed=8)
    lrs = np.full(ops.n_steps(203, batch), 0.05)
    kw = dict(batch_size=batch, loss="huber", penalty=penalty, **PARAMS)
    for order in (None, np.random.default_rng(batch).permutation(203)):
        sparse = _epoch(X, y, _coef(25, np.float64), -0.2, lrs, order=order, **kw)
        dense = _epoch(X.toarray(), y, _coef(25, np.float64), -0.2, lrs, order=order, **kw)
        _assert_same_epoch(sparse, dense, np.float64)


@pytest.mark.parametrize("batch, penalty", [(8, "elasticnet"), (1, "l2")])
def test_order_may_select_a_subset_of_rows(dtype, batch, penalty):
    X, y = make_sparse_problem(120, 30, dtype, "squared_error", seed=15)
    rows = np.random.default_rng(1).permutation(120)[:77]
    lrs = np.full(ops.n_steps(77, batch), 0.05)
    kw = dict(batch_size=batch, order=rows, penalty=penalty, **PARAMS)
    sparse = _epoch(X, y, _coef(30, dtype), 0.3, lrs, **kw)
    dense = _epoch(X.toarray(), y, _coef(30, dtype), 0.3, lrs, **kw)
    _assert_same_epoch(sparse, dense, dtype)


def test_several_epochs_and_l1_zeros_match_dense():
    X, y = make_sparse_problem(300, 60, np.float64, "log_loss", density=0.1, seed=9)
    ws, bs = np.zeros(60), np.zeros(1)
    wd, bd = np.zeros(60), np.zeros(1)
    rng = np.random.default_rng(0)
    kw = dict(batch_size=4, loss="log_loss", penalty="l1", alpha=0.02)
    for epoch in range(4):
        order = rng.permutation(300)
        lrs = 0.5 / (1 + np.arange(epoch * 75, epoch * 75 + 75)) ** 0.5
        ops.sgd_epoch(X, y, ws, bs, lrs, order=order, **kw)
        ops.sgd_epoch(X.toarray(), y, wd, bd, lrs, order=order, **kw)
    assert_close(ws, wd, np.float64)
    np.testing.assert_array_equal(ws == 0, wd == 0)  # the same exact zeros
    assert (ws == 0).sum() > 5


@pytest.mark.parametrize("penalty", ["elasticnet", "l2"])
@pytest.mark.parametrize("dtype_", [np.float64, np.float32], ids=["float64", "float32"])
def test_lazy_scale_is_renormalized(dtype_, penalty):
    # lr·l2 = 0.5: the scale halves every step and passes the renormalization threshold (1e-150
    # for float64, 1e-12 for float32) many times within the epoch (with L2 alone, in the
    # kernel's per-sample loop).
    X, y = make_sparse_problem(1200, 50, dtype_, "squared_error", density=0.05, seed=2)
    lrs = np.full(1200, 0.5)
    kw = dict(batch_size=1, penalty=penalty, alpha=1.0, l1_ratio=0.01)
    sparse = _epoch(X, y, _coef(50, dtype_), 0.0, lrs, **kw)
    dense = _epoch(X.toarray(), y, _coef(50, dtype_), 0.0, lrs, **kw)
    _assert_same_epoch(sparse, dense, dtype_)


def test_steps_with_lr_times_l2_at_least_one_are_applied_densely():
    X, y = make_sparse_problem(60, 20, np.float64, "hinge", density=0.2, seed=4)
    lrs = np.where(np.arange(60) % 7 == 3, 1.5, 0.05)  # lr·l2 = 1.5 > 1 on some steps
    kw = dict(batch_size=1, loss="hinge", penalty="elasticnet", alpha=1.0, l1_ratio=0.1)
    sparse = _epoch(X, y, _coef(20, np.float64), 0.1, lrs, **kw)
    dense = _epoch(X.toarray(), y, _coef(20, np.float64), 0.1, lrs, **kw)
    _assert_same_epoch(sparse, dense, np.float64)


@pytest.mark.parametrize("penalty", PENALTIES)
@pytest.mark.parametrize("loss", ["squared_error", "log_loss", "modified_huber"])
def test_loss_and_grad_matches_dense(loss, penalty, dtype):
    X, y = make_sparse_problem(57, 30, dtype, loss, seed=4)
    sw = np.random.default_rng(4).uniform(0, 2, 57).astype(dtype)
    kw = dict(loss=loss, penalty=penalty, sample_weight=sw, **PARAMS)
    obj, grad, gb = ops.loss_and_grad(X, y, _coef(30, dtype), 0.7, **kw)
    ref_obj, ref_grad, ref_gb = ops.loss_and_grad(X.toarray(), y, _coef(30, dtype), 0.7, **kw)
    assert grad.dtype == dtype
    assert_close(obj, ref_obj, dtype)
    assert_close(grad, ref_grad, dtype)
    assert_close(gb, ref_gb, dtype, scale=max(abs(ref_gb), np.abs(ref_grad).max()))


# ---------------------------------------------------------------- formats, dtypes, copies


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_index_and_value_dtypes_are_used_without_copies(index_dtype, dtype):
    X, y = make_sparse_problem(100, 20, dtype, "squared_error", seed=1, index_dtype=index_dtype)
    from fastgd._validation import as_csr

    assert as_csr(X) is X  # CSR with float values and one index dtype: used as it is
    lrs = np.full(10, 0.05)
    sparse = _epoch(X, y, _coef(20, dtype), 0.0, lrs, batch_size=10)
    dense = _epoch(X.toarray(), y, _coef(20, dtype), 0.0, lrs, batch_size=10)
    _assert_same_epoch(sparse, dense, dtype)


@pytest.mark.parametrize("fmt", ["csc", "coo", "lil"])
def test_other_formats_are_converted_to_csr(fmt):
    X, y = make_sparse_problem(90, 20, np.float64, "squared_error", seed=2)
    lrs = np.full(9, 0.05)
    w_csr = _epoch(X, y, _coef(20, np.float64), 0.0, lrs, batch_size=10)[0]
    w_fmt = _epoch(X.asformat(fmt), y, _coef(20, np.float64), 0.0, lrs, batch_size=10)[0]
    np.testing.assert_array_equal(w_fmt, w_csr)
    w_arr = _epoch(sp.csr_array(X), y, _coef(20, np.float64), 0.0, lrs, batch_size=10)[0]
    np.testing.assert_array_equal(w_arr, w_csr)


def test_integer_values_and_mixed_index_dtypes_are_converted():
    X, y = make_sparse_problem(50, 10, np.float64, "squared_error", seed=3)
    Xi = X.copy()
    Xi.data = np.round(Xi.data * 3)
    expected = _epoch(Xi, y, np.zeros(10), 0.0, np.full(5, 0.01), batch_size=10)[0]
    Xint = Xi.astype(np.int64)
    np.testing.assert_array_equal(
        _epoch(Xint, y, np.zeros(10), 0.0, np.full(5, 0.01), batch_size=10)[0], expected
    )
    Xi.indptr = Xi.indptr.astype(np.int64)  # indices stay int32
    np.testing.assert_array_equal(
        _epoch(Xi, y, np.zeros(10), 0.0, np.full(5, 0.01), batch_size=10)[0], expected
    )


def _non_canonical(X, seed=0):
    """The same matrix with each row's entries shuffled and some split into two duplicates."""
    rng = np.random.default_rng(seed)
    rows, cols, vals = [], [], []
    coo = X.tocoo()
    for i, j, v in zip(coo.row, coo.col, coo.data):
        if rng.random() < 0.4:
            part = rng.uniform(-1, 2)
            rows += [i, i]
            cols += [j, j]
            vals += [part * v, (1 - part) * v]
        else:
            rows.append(i)
            cols.append(j)
            vals.append(v)
    rows, cols, vals = np.array(rows), np.array(cols), np.array(vals)
    perm = np.lexsort((rng.random(len(rows)), rows))  # by row, shuffled within the row
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=X.shape[0]))])
    Y = sp.csr_matrix((vals[perm], cols[perm].astype(np.int32), indptr), shape=X.shape)
    assert not Y.has_sorted_indices
    return Y


@pytest.mark.parametrize("batch", [1, 8])
@pytest.mark.parametrize("penalty", ["l2", "elasticnet"])
def test_unsorted_and_duplicate_indices_equal_the_canonical_form(batch, penalty):
    X, y = make_sparse_problem(80, 15, np.float64, "log_loss", density=0.4, seed=6)
    Y = _non_canonical(X)
    canonical = Y.copy()
    canonical.sum_duplicates()
    lrs = np.full(ops.n_steps(80, batch), 0.1)
    kw = dict(batch_size=batch, loss="log_loss", penalty=penalty, **PARAMS)
    got = _epoch(Y, y, _coef(15, np.float64), 0.0, lrs, **kw)
    expected = _epoch(canonical, y, _coef(15, np.float64), 0.0, lrs, **kw)
    _assert_same_epoch(got, expected, np.float64)
    g1 = ops.loss_and_grad(Y, y, _coef(15, np.float64), 0.1, loss="log_loss")
    g2 = ops.loss_and_grad(canonical, y, _coef(15, np.float64), 0.1, loss="log_loss")
    assert_close(g1[1], g2[1], np.float64)


# ---------------------------------------------------------------- malformed input


def _broken(kind):
    X, y = make_sparse_problem(20, 8, np.float64, "squared_error", seed=7)
    X = X.copy()
    if kind == "index":
        X.indices[5] = 8
    elif kind == "negative index":
        X.indices[3] = -1
    elif kind == "indptr decreasing":
        X.indptr[4], X.indptr[5] = X.indptr[5], X.indptr[4] - 1
    elif kind == "indptr start":
        X.indptr[0] = 1
    elif kind == "indptr end":
        X.indptr[-1] -= 1
    elif kind == "nan":
        X.data[2] = np.nan
    elif kind == "inf":
        X.data[6] = -np.inf
    return X, y


@pytest.mark.parametrize(
    "kind, message",
    [
        ("index", r"X.indices must be column indices in \[0, 8\), got 8 at position 5"),
        ("negative index", r"X.indices must be column indices in \[0, 8\), got -1"),
        ("indptr decreasing", "X.indptr must be non-decreasing"),
        ("indptr start", "X.indptr must start at 0"),
        ("indptr end", r"X.indptr must end at len\(X.data\)"),
        ("nan", r"Input X contains NaN \(X.data\[2\]\)"),
        ("inf", r"Input X contains infinity \(X.data\[6\]\)"),
    ],
)
def test_malformed_csr_raises_before_any_work(kind, message):
    X, y = _broken(kind)
    w, b = np.ones(8), np.zeros(1)
    with pytest.raises(ValueError, match=message):
        ops.sgd_epoch(X, y, w, b, np.full(2, 0.1), batch_size=10)
    np.testing.assert_array_equal(w, np.ones(8))
    with pytest.raises(ValueError, match=message):
        ops.loss_and_grad(X, y, np.ones(8))


def test_shape_mismatches_raise():
    X, y = make_sparse_problem(20, 8, np.float64, "squared_error", seed=7)
    w, b = np.zeros(8), np.zeros(1)
    with pytest.raises(ValueError, match=r"y must have shape \(20,\)"):
        ops.sgd_epoch(X, y[:-1], w, b, np.full(2, 0.1), batch_size=10)
    with pytest.raises(ValueError, match=r"coef must have shape \(8,\)"):
        ops.sgd_epoch(X, y, np.zeros(9), b, np.full(2, 0.1), batch_size=10)
    with pytest.raises(ValueError, match="lrs must have shape"):
        ops.sgd_epoch(X, y, w, b, np.full(3, 0.1), batch_size=10)
    with pytest.raises(TypeError, match="coef must have dtype float32"):
        ops.sgd_epoch(X.astype(np.float32), y, w, b, np.full(2, 0.1), batch_size=10)
    with pytest.raises(ValueError, match="parallel must be 'sync' or 'async'"):
        ops.sgd_epoch(X, y, w, b, np.full(2, 0.1), batch_size=10, parallel="hogwild")
    from fastgd import _core

    bad = X.copy()
    bad.indptr = bad.indptr[:-1]  # scipy does not check an assigned indptr; the kernels must
    with pytest.raises(ValueError, match=r"X.indptr must have shape \(21,\)"):
        _core.Problem(bad, y)


# ---------------------------------------------------------------- threads


def _hashed(n, d, nnz_per_row, seed=0, dtype=np.float64):
    """Hashed-text-like data: nnz_per_row random columns per row, values ±1/sqrt(nnz)."""
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, d, size=n * nnz_per_row).astype(np.int32)
    data = (rng.choice([-1.0, 1.0], size=n * nnz_per_row) / np.sqrt(nnz_per_row)).astype(dtype)
    indptr = np.arange(0, n * nnz_per_row + 1, nnz_per_row)
    X = sp.csr_matrix((data, indices, indptr), shape=(n, d))
    X.sum_duplicates()
    w_true = rng.standard_normal(d)
    y = np.where(X @ w_true + 0.3 * rng.standard_normal(n) > 0, 1.0, -1.0).astype(dtype)
    return X, y


# elasticnet sums each column's pairs before its update; l2 and none add the pairs into the
# coefficients one by one (the linear steps of sparse.hpp), from the rows with one thread and
# from the other threads' buckets with several.
@pytest.mark.parametrize("penalty", ["elasticnet", "l2", "none"])
def test_sync_threads_give_the_same_bits(penalty):
    # 512 rows of 40 non-zeros per step: enough work for up to four threads per step, and 2^22
    # float64 coefficients (32 MiB): enough for the kernel to use them (sparse.hpp,
    # kSparseThreadsAbove).
    d = 2**22
    X, y = _hashed(4096, d, 40, seed=1)
    lrs = np.full(ops.n_steps(4096, 512), 0.5)
    # A column gets about one non-zero per step here: a small alpha, or L1 zeroes it at once.
    kw = dict(batch_size=512, loss="log_loss", penalty=penalty, **{**PARAMS, "alpha": 1e-5})
    order = np.random.default_rng(0).permutation(4096)
    runs = [
        _epoch(X, y, np.zeros(d), 0.0, lrs, order=order, n_threads=t, **kw) for t in (1, 2, 3, 2)
    ]
    for w, b, total in runs[1:]:
        np.testing.assert_array_equal(w, runs[0][0])
        assert (b, total) == (runs[0][1], runs[0][2])
    # One thread's epoch is checked against the dense kernel by the tests above.
    assert np.count_nonzero(runs[0][0]) > 10_000


@pytest.mark.parametrize("penalty", ["elasticnet", "l2"])
def test_coefficients_beyond_the_caches_give_the_bits_of_compact_ones(penalty):
    # At d = 2^22 the kernels' scratch (the L1 clocks and loss_and_grad's column sums, 32 MiB
    # each) comes from the huge-page allocation and the coefficients are prefetched; with the
    # touched columns renumbered 0..m-1 in the same order, neither happens. Untouched
    # coefficients start and stay at zero, so the two must agree bit for bit.
    d = 2**22
    X, y = _hashed(3000, d, 20, seed=4)
    used, compact = np.unique(X.indices, return_inverse=True)
    Xc = sp.csr_matrix((X.data, compact.astype(np.int32), X.indptr), shape=(3000, used.size))
    kw = dict(loss="log_loss", penalty=penalty, n_threads=1, **{**PARAMS, "alpha": 1e-4})
    lrs = np.full(ops.n_steps(3000, 4), 0.3)
    w, b, total = _epoch(X, y, np.zeros(d), 0.0, lrs, batch_size=4, **kw)
    wc, bc, total_c = _epoch(Xc, y, np.zeros(used.size), 0.0, lrs, batch_size=4, **kw)
    np.testing.assert_array_equal(w[used], wc)
    assert np.count_nonzero(w) == np.count_nonzero(wc) > 10_000
    assert (b, total) == (bc, total_c)
    loss, grad, grad_b = ops.loss_and_grad(X, y, w, b, **kw)
    loss_c, grad_c, grad_b_c = ops.loss_and_grad(Xc, y, wc, bc, **kw)
    np.testing.assert_array_equal(grad[used], grad_c)
    assert np.count_nonzero(grad) == np.count_nonzero(grad_c)
    assert (loss, grad_b) == (loss_c, grad_b_c)


SHORT_TEAM_SCRIPT = """
import numpy as np, scipy.sparse as sp
from fastgd import ops
rng = np.random.default_rng(0)
# Synchronous epochs and the gradient do not depend on the thread count at all.
n, d, k = 2048, 2**22, 20  # 32 MiB of coefficients, 10,240 non-zeros per step: two threads
X = sp.csr_matrix((rng.choice([-1.0, 1.0], n * k), rng.integers(0, d, n * k).astype(np.int32),
                   np.arange(0, n * k + 1, k)), shape=(n, d))
X.sum_duplicates()
y = np.sign(rng.standard_normal(n))
for penalty in ("l2", "elasticnet"):
    ws = []
    for threads in (1, 2):
        w, b = np.zeros(d), np.zeros(1)
        ops.sgd_epoch(X, y, w, b, np.full(4, 0.5), batch_size=512, loss="log_loss",
                      penalty=penalty, alpha=1e-5, n_threads=threads)
        ws.append(w)
    assert np.array_equal(ws[0], ws[1]), (penalty, np.sum(ws[0] != ws[1]))
g1, g2 = (ops.loss_and_grad(X, y, ws[0], 0.0, loss="log_loss", n_threads=t)[1] for t in (1, 2))
assert np.array_equal(g1, g2), np.sum(g1 != g2)
# Hogwild! is exact when no two steps share a column (test_async_is_exact_when_...).
n, k = 600, 3
X = sp.csr_matrix((rng.standard_normal(n * k), np.arange(n * k, dtype=np.int32),
                   np.arange(0, n * k + 1, k)))
y, coef = rng.standard_normal(n), rng.standard_normal(n * k)
for penalty in ("l2", "elasticnet"):
    ws = []
    for parallel, threads in (("sync", 1), ("async", 2)):
        w, b = coef.copy(), np.zeros(1)
        ops.sgd_epoch(X, y, w, b, np.full(n // 2, 0.5), batch_size=2, penalty=penalty,
                      alpha=1.0, l1_ratio=0.02, fit_intercept=False, n_threads=threads,
                      parallel=parallel)
        ws.append(w)
    assert np.allclose(ws[0], ws[1], rtol=1e-12, atol=1e-300), penalty
print("ok")
"""


@pytest.mark.parametrize("env", ["OMP_THREAD_LIMIT=1", "OMP_DYNAMIC=true"])
def test_a_short_openmp_team_gives_the_full_result(env):
    # OpenMP may start a region with fewer threads than asked; the CSR drivers split their work
    # into static parts, so they must notice and rerun on one thread, not leave parts undone
    # (with OMP_THREAD_LIMIT=1, two requested threads used to give a wrong gradient for a
    # quarter of the columns).
    name, value = env.split("=")
    result = subprocess.run([sys.executable, "-c", SHORT_TEAM_SCRIPT], capture_output=True,
                            text=True, timeout=120, env={**os.environ, name: value})  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_async_converges_to_a_good_model():
    X, y = _hashed(20000, 2000, 20, seed=2)
    kw = dict(batch_size=1, loss="log_loss", penalty="l2", alpha=1e-5, n_threads=2)
    models = {}
    for mode in ("sync", "async"):
        w, b = np.zeros(2000), np.zeros(1)
        for epoch in range(3):
            lrs = np.full(20000, 0.5 / (1 + epoch))
            order = np.random.default_rng(epoch).permutation(20000)
            ops.sgd_epoch(X, y, w, b, lrs, order=order, parallel=mode, **kw)
        models[mode] = (w, b)
        assert np.isfinite(w).all()
    losses = {
        m: ops.loss_and_grad(X, y, w, b[0], loss="log_loss", penalty="none")[0]
        for m, (w, b) in models.items()
    }
    assert losses["async"] < 0.5
    assert losses["async"] == pytest.approx(losses["sync"], rel=0.05)


@pytest.mark.parametrize("penalty", PENALTIES)
def test_async_is_exact_when_steps_touch_disjoint_columns(penalty):
    # Without an intercept, steps whose rows share no column do not interact: whatever the
    # interleaving, Hogwild! must then give the sequential result (this checks its lazy clock,
    # including renormalizations: lr·l2 = 0.5).
    n, k = 600, 3
    rng = np.random.default_rng(3)
    indices = np.arange(n * k, dtype=np.int32)
    X = sp.csr_matrix((rng.standard_normal(n * k), indices, np.arange(0, n * k + 1, k)))
    y = rng.standard_normal(n)
    lrs = np.full(n // 2, 0.5)
    kw = dict(batch_size=2, penalty=penalty, alpha=1.0, l1_ratio=0.02, fit_intercept=False)
    coef = rng.standard_normal(n * k)
    sync = _epoch(X, y, coef, 0.0, lrs, **kw)
    for threads in (2, 3):
        got = _epoch(X, y, coef, 0.0, lrs, parallel="async", n_threads=threads, **kw)
        assert_close(got[0], sync[0], np.float64)
        assert got[2] == pytest.approx(sync[2], rel=1e-10)


# ---------------------------------------------------------------- estimators


# Not L1 at batch_size 1: there the estimators take scikit-learn's cumulative penalty, which
# clips only a row's stored columns on sparse X, so sparse and dense differ as in scikit-learn
# (test_sklearn_behaviours.py compares each with it).
@pytest.mark.parametrize("penalty, batch_size", [("l2", 1), ("l2", 16), ("elasticnet", 16)])
def test_classifier_on_sparse_equals_dense(penalty, batch_size):
    X, y = make_sparse_problem(300, 50, np.float64, "log_loss", density=0.1, seed=11)
    # A moderate constant rate: sklearn's 'optimal' starts at lr = 1/(alpha·t0), large enough to
    # amplify rounding differences past 1e-10 within a few epochs (between any two summation
    # orders, dense ones included). No intercept: on sparse X its updates are damped as
    # scikit-learn damps them (test_sparse_estimators_give_sklearn_sparse_model).
    kw = dict(loss="log_loss", penalty=penalty, max_iter=5, tol=None, random_state=0,
              batch_size=batch_size, learning_rate="constant", eta0=0.05,
              fit_intercept=False)  # fmt: skip
    sparse = SGDClassifier(**kw).fit(X, y)
    dense = SGDClassifier(**kw).fit(X.toarray(), y)
    assert_close(sparse.coef_, dense.coef_, np.float64)
    assert sparse.loss_curve_ == pytest.approx(dense.loss_curve_, rel=1e-10)
    np.testing.assert_array_equal(sparse.predict(X), dense.predict(X.toarray()))
    np.testing.assert_allclose(sparse.decision_function(X), dense.decision_function(X.toarray()))


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_regressor_on_sparse_equals_dense(fmt):
    X, y = make_sparse_problem(250, 40, np.float64, "squared_error", density=0.15, seed=12)
    kw = dict(penalty="elasticnet", max_iter=4, tol=None, random_state=1, eta0=0.01,
              batch_size=2, fit_intercept=False)  # fmt: skip
    sparse = SGDRegressor(**kw).fit(X.asformat(fmt), y, sample_weight=np.linspace(0.5, 1.5, 250))
    dense = SGDRegressor(**kw).fit(X.toarray(), y, sample_weight=np.linspace(0.5, 1.5, 250))
    assert_close(sparse.coef_, dense.coef_, np.float64)
    np.testing.assert_allclose(sparse.predict(X), dense.predict(X.toarray()), rtol=1e-10)


def test_estimator_float32_and_early_stopping_on_sparse():
    X, y = make_sparse_problem(400, 30, np.float32, "hinge", density=0.2, seed=13)
    kw = dict(max_iter=20, random_state=0, early_stopping=True, n_iter_no_change=3,
              fit_intercept=False)  # fmt: skip
    sparse = SGDClassifier(**kw).fit(X, y)
    dense = SGDClassifier(**kw).fit(X.toarray(), y)
    assert sparse.coef_.dtype == np.float32
    assert sparse.n_iter_ == dense.n_iter_
    assert_close(sparse.coef_, dense.coef_, np.float32)
    assert sparse.score(X, y) > 0.8


@pytest.mark.parametrize("Estimator", ["classifier", "regressor"])
def test_sparse_estimators_give_sklearn_sparse_model(Estimator):
    # With an intercept: scikit-learn multiplies its updates by 0.01 on sparse X
    # (SPARSE_INTERCEPT_DECAY), and so do the estimators; on the same order (shuffle=False), the
    # same model to rounding.
    from sklearn import linear_model

    loss = "log_loss" if Estimator == "classifier" else "squared_error"
    X, y = make_sparse_problem(300, 50, np.float64, loss, density=0.1, seed=14)
    kw = dict(loss=loss, penalty="l2", alpha=1e-3, max_iter=5, tol=None, shuffle=False,
              learning_rate="constant", eta0=0.02)  # fmt: skip
    ours = (SGDClassifier if Estimator == "classifier" else SGDRegressor)(**kw).fit(X, y)
    theirs = getattr(linear_model, "SGD" + Estimator.capitalize())(**kw).fit(X, y)
    assert_close(ours.coef_, theirs.coef_, np.float64)
    assert_close(ours.intercept_, theirs.intercept_, np.float64)
    assert 0 < abs(ours.intercept_[0]) < 0.1 * np.abs(ours.coef_).max()  # damped, not zero
    dense = (SGDClassifier if Estimator == "classifier" else SGDRegressor)(**kw).fit(X.toarray(), y)
    assert not np.allclose(dense.intercept_, ours.intercept_)  # dense X: the plain update


def test_ops_does_not_import_scipy():
    code = "import sys, numpy as np, fastgd.ops as o; " + (
        "w, b = np.zeros(2), np.zeros(1); "
        "o.sgd_epoch(np.ones((3, 2)), np.ones(3), w, b, [0.1], batch_size=3); "
        "assert 'scipy' not in sys.modules, 'scipy imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
