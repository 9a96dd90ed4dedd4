"""Data read from disk: X memory-mapped (numpy.memmap, np.load(mmap_mode="r"), a CSR matrix of
memory-mapped arrays) is used in place by ops and the estimators, with the model of the same
data in memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

from fastgd import ops
from fastgd.linear_model import SGDClassifier, SGDRegressor


@pytest.fixture(scope="module")
def on_disk(tmp_path_factory):
    """Dense X (8 MB float32) and CSR X (its three arrays) saved to .npy, and their targets."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40_000, 50), dtype=np.float32)
    y = (X @ rng.standard_normal(50, dtype=np.float32) + 0.1).astype(np.float32)
    S = sp.random(40_000, 2_000, density=0.01, format="csr", random_state=0, dtype=np.float32)
    d = tmp_path_factory.mktemp("data")
    for name, a in dict(X=X, data=S.data, indices=S.indices, indptr=S.indptr).items():
        np.save(d / f"{name}.npy", a)
    Xm = np.load(d / "X.npy", mmap_mode="r")
    Sm = sp.csr_matrix(
        tuple(np.load(d / f"{k}.npy", mmap_mode="r") for k in ("data", "indices", "indptr")),
        shape=S.shape,
        copy=False,
    )
    return (X, S), (Xm, Sm), y


def test_ops_epochs_on_memory_mapped_x_give_the_bits_of_x_in_memory(on_disk):
    (X, S), (Xm, Sm), y = on_disk
    assert isinstance(Xm, np.memmap) and not Xm.flags.writeable
    for a, b in ((X, Xm), (S, Sm)):
        runs = []
        for data in (a, b):
            w, c = np.zeros(data.shape[1], np.float32), np.zeros(1, np.float32)
            order = ops.block_order(np.random.default_rng(0), data)
            total = ops.sgd_epoch(data, y, w, c, np.full(ops.n_steps(len(y), 8), 1e-3),
                                  batch_size=8, order=order, penalty="elasticnet")  # fmt: skip
            runs.append((w, c, total))
        np.testing.assert_array_equal(runs[0][0], runs[1][0])
        assert runs[0][2] == runs[1][2]


@pytest.mark.parametrize("Estimator", [SGDRegressor, SGDClassifier])
def test_estimators_fit_memory_mapped_x_in_place(on_disk, Estimator):
    (X, S), (Xm, Sm), y = on_disk
    target = y if Estimator is SGDRegressor else np.where(y > 0, 1, -1)
    kw = dict(shuffle="block", max_iter=3, tol=None, random_state=0)
    for in_memory, mapped in ((X, Xm), (S, Sm)):
        want = Estimator(**kw).fit(in_memory, target)
        Estimator(**kw).fit(mapped, target)  # imports and first-call allocations
        tracemalloc.start()
        try:
            got = Estimator(**kw).fit(mapped, target)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        np.testing.assert_array_equal(got.coef_, want.coef_)
        # No copy of X: what the fit allocates is the rows' orders and the model.
        x_bytes = mapped.nbytes if isinstance(mapped, np.ndarray) else mapped.data.nbytes * 2
        assert peak < x_bytes / 2, (peak, x_bytes)
