"""fastgd.dask on a LocalCluster of 2 worker processes (1 thread each) against the single-machine
kernel on the same data and the same 2 cores, and against dask-ml's LogisticRegression.

    python -m pytest bench/test_bench_dask.py -o testpaths=bench -p no:cacheprovider -s

- ``dask-gd-round``: ``fastgd.dask.SGDRegressor(solver="gd")``, 20 rounds, against the local
  ``batch_size=None`` fit of 20 epochs (one fused pass each); the two models must agree to
  1e-10. Printed: ms per round of each, and the difference (the cluster's overhead per round).
- ``dask-local-sgd-epoch``: ``solver="local_sgd"`` (1 local epoch of batch 256 per round), 10
  rounds, against the local minibatch fit of 10 epochs; both must reach 2% of the optimum.
- ``dask-ml``: dask-ml's ``LogisticRegression`` (its default solver) against
  ``fastgd.dask.SGDClassifier(solver="lbfgs")`` to the same objective (skipped without dask-ml).

``FASTGD_BENCH_SCALE`` (default 1) multiplies the row count (200,000 × 100 float64).
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import fastgd  # noqa: E402
import fastgd.dask as fdask  # noqa: E402

SCALE = float(os.environ.get("FASTGD_BENCH_SCALE", "1"))
N, D, PARTS = max(4_000, int(200_000 * SCALE)), 100, 8
ROUNDS = 3


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=50
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def problem(client):
    """The data made on the workers (a graph carrying X would be sent through the scheduler),
    persisted before the clock starts, and gathered once for the local fits."""
    c = -(-N // PARTS)
    rng = da.random.default_rng(0)
    Xd = rng.standard_normal((N, D), chunks=(c, D))
    w = np.random.default_rng(1).standard_normal(D) / np.sqrt(D)
    yd = Xd @ w + 0.25 * rng.standard_normal(N, chunks=c)
    Xd, yd = client.persist([Xd, yd])
    distributed.wait([Xd, yd])
    return Xd.compute(), yd.compute(), Xd, yd


def _objective(X, y, coef, intercept, alpha):
    r = X @ coef + intercept - y
    return 0.5 * float(r @ r) / len(y) + 0.5 * alpha * float(coef @ coef)


def _timed(fn, rounds=ROUNDS):
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def _report(name, per_cluster, per_local):
    print(
        f"\n{name}: cluster {1e3 * per_cluster:.1f} ms, local {1e3 * per_local:.1f} ms, "
        f"overhead {1e3 * (per_cluster - per_local):.1f} ms per round (N={N}, D={D}, "
        f"{PARTS} partitions, 2 workers)"
    )


@pytest.mark.benchmark(group="dask-gd-round")
def test_gd_round(benchmark, client, problem):
    X, y, Xd, yd = problem
    params = dict(
        batch_size=None,
        shuffle=False,
        learning_rate="constant",
        eta0=0.5,
        max_iter=20,
        tol=None,
        alpha=1e-3,
    )
    cluster = fdask.SGDRegressor(solver="gd", **params)
    t_cluster, _ = _timed(lambda: cluster.fit(Xd, yd))
    local = fastgd.SGDRegressor(n_jobs=2, **params)
    t_local, _ = _timed(lambda: local.fit(X, y))
    np.testing.assert_allclose(cluster.coef_, local.coef_, rtol=1e-10, atol=1e-14)
    _report("gd round", t_cluster / 20, t_local / 20)
    benchmark.pedantic(lambda: cluster.fit(Xd, yd), rounds=1, iterations=1)


@pytest.mark.benchmark(group="dask-local-sgd-epoch")
def test_local_sgd_epoch(benchmark, client, problem):
    X, y, Xd, yd = problem
    params = dict(
        batch_size=256,
        learning_rate="constant",
        eta0=0.02,
        max_iter=10,
        tol=None,
        alpha=1e-3,
        random_state=0,
    )
    best = fdask.SGDRegressor(solver="lbfgs", alpha=1e-3, tol=1e-10).fit(Xd, yd)
    f_star = _objective(X, y, best.coef_, best.intercept_[0], 1e-3)
    cluster = fdask.SGDRegressor(solver="local_sgd", **params)
    t_cluster, _ = _timed(lambda: cluster.fit(Xd, yd))
    local = fastgd.SGDRegressor(n_jobs=2, **params)
    t_local, _ = _timed(lambda: local.fit(X, y))
    for est in (cluster, local):
        assert _objective(X, y, est.coef_, est.intercept_[0], 1e-3) <= 1.02 * f_star
    _report("local_sgd epoch", t_cluster / 10, t_local / 10)
    benchmark.pedantic(lambda: cluster.fit(Xd, yd), rounds=1, iterations=1)


@pytest.mark.benchmark(group="dask-ml")
def test_against_dask_ml(benchmark, client, problem):
    dask_ml = pytest.importorskip("dask_ml.linear_model")
    X, y, Xd, yd = problem
    labels = (y > 0).astype(np.int64)
    ld = da.from_array(labels, chunks=Xd.chunks[0])
    C = 1.0
    alpha = 1.0 / (C * N)  # dask-ml: C·Σ log-loss + ½‖w‖²; fastgd: (1/n)Σ log-loss + α/2‖w‖²
    ours = fdask.SGDClassifier(loss="log_loss", solver="lbfgs", alpha=alpha, tol=1e-8)
    t_ours, _ = _timed(lambda: ours.fit(Xd, ld), rounds=1)
    theirs = dask_ml.LogisticRegression(C=C)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dask-ml's own deprecation warnings of its dependencies
        t_theirs, _ = _timed(lambda: theirs.fit(Xd, ld), rounds=1)
    z = 2 * labels - 1

    def objective(w, b):
        return float(np.logaddexp(0, -z * (X @ w + b)).mean() + 0.5 * alpha * w @ w)

    f_ours = objective(ours.coef_.ravel(), ours.intercept_[0])
    f_theirs = objective(np.ravel(theirs.coef_), float(np.ravel(theirs.intercept_)[0]))
    assert f_ours <= f_theirs + 1e-6
    print(
        f"\ndask-ml LogisticRegression {t_theirs:.2f} s (objective {f_theirs:.8f}); "
        f"fastgd.dask lbfgs {t_ours:.2f} s ({f_ours:.8f}, {ours.n_iter_} iterations)"
    )
    benchmark.pedantic(lambda: ours.fit(Xd, ld), rounds=1, iterations=1)
