"""fastgd.dask against single-machine fastgd, scipy and closed forms, on a LocalCluster of two
worker processes (threads under the sanitizer run, see ``cluster``)."""

from __future__ import annotations

import os
import signal
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize

import fastgd

from reference import objective_and_grad, penalty_weights

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
import pandas as pd  # noqa: E402

import fastgd.dask as fdask  # noqa: E402

# The AddressSanitizer run preloads its runtime into every process; worker processes forked by
# the nanny inherit it and are slow to start and stop there, so that run uses threads instead.
SANITIZED = os.environ.get("FASTGD_SANITIZE") == "1"


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=not SANITIZED,
        dashboard_address=":0",
        silence_logs=50,
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def _problem(n=400, d=7, seed=0, kind="regression", n_classes=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w = rng.standard_normal(d)
    t = X @ w / np.sqrt(d) + 0.3
    if kind == "regression":
        y = t + 0.1 * rng.standard_normal(n)
    elif kind == "binary":
        y = np.where(t + 0.5 * rng.standard_normal(n) > 0, 1.0, 0.0)
    else:
        W = rng.standard_normal((n_classes, d))
        y = (X @ W.T + rng.gumbel(size=(n, n_classes))).argmax(1).astype(np.int64)
    sw = rng.uniform(0.5, 2.0, n)
    return X, y, sw


def _chunks(n, parts):
    return -(-n // parts)


CASES = {
    "squared": (fastgd.SGDRegressor, fdask.SGDRegressor, "regression", {"loss": "squared_error"}),
    "logistic": (fastgd.SGDClassifier, fdask.SGDClassifier, "binary", {"loss": "log_loss"}),
    "softmax": (fastgd.SGDClassifier, fdask.SGDClassifier, "multi", {"loss": "log_loss"}),
}
GD = dict(batch_size=None, shuffle=False, learning_rate="constant", eta0=0.3, max_iter=20, tol=None)


@pytest.mark.parametrize("parts", [1, 4])
@pytest.mark.parametrize("penalty", ["l2", "elasticnet"])
@pytest.mark.parametrize("case", list(CASES))
def test_gd_equals_local_full_batch(client, case, penalty, parts):
    local_cls, dask_cls, kind, params = CASES[case]
    X, y, sw = _problem(kind=kind)
    params = dict(params, penalty=penalty, alpha=0.02, l1_ratio=0.5, **GD)
    local = local_cls(**params).fit(X, y, sample_weight=sw)
    c = _chunks(len(y), parts)
    est = dask_cls(solver="gd", **params).fit(
        da.from_array(X, chunks=(c, -1)),
        da.from_array(y, chunks=c),
        sample_weight=da.from_array(sw, chunks=c),
    )
    assert est.n_iter_ == local.n_iter_ == 20
    np.testing.assert_allclose(est.coef_, local.coef_, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(est.intercept_, local.intercept_, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(est.loss_curve_, local.loss_curve_, rtol=1e-10)
    if penalty == "elasticnet":
        assert not np.allclose(est.coef_, local_cls(**dict(params, penalty="l2")).fit(X, y).coef_)


def test_gd_one_vs_rest_balanced_equals_local(client):
    """One-vs-rest models train side by side in each round; 'balanced' class weights count the
    classes of all partitions."""
    X, y, _ = _problem(kind="multi")
    params = dict(loss="hinge", class_weight="balanced", alpha=0.01, **GD)
    local = fastgd.SGDClassifier(**params).fit(X, y)
    est = fdask.SGDClassifier(solver="gd", **params).fit(
        da.from_array(X, chunks=(100, -1)), da.from_array(y, chunks=100)
    )
    assert est.multi_class_ == local.multi_class_ == "ovr"
    np.testing.assert_allclose(est.coef_, local.coef_, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(est.intercept_, local.intercept_, rtol=1e-10, atol=1e-13)
    np.testing.assert_array_equal(est.predict(da.from_array(X, 100)).compute(), local.predict(X))


def test_gd_sparse_chunks_equal_local_sparse_fit(client):
    X, y, _ = _problem(kind="regression")
    X[np.abs(X) < 0.8] = 0.0
    Xs = sp.csr_matrix(X)
    params = dict(penalty="l2", alpha=0.01, **GD)
    local = fastgd.SGDRegressor(**params).fit(Xs, y)
    blocks = [
        da.from_delayed(_delayed(Xs[i : i + 100]), (100, X.shape[1]), meta=Xs[:0])
        for i in range(0, 400, 100)
    ]
    est = fdask.SGDRegressor(solver="gd", **params).fit(
        da.concatenate(blocks), da.from_array(y, chunks=100)
    )
    np.testing.assert_allclose(est.coef_, local.coef_, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(est.intercept_, local.intercept_, rtol=1e-10, atol=1e-13)


def _delayed(x):
    from dask import delayed

    return delayed(lambda: x)()


def test_lbfgs_ridge_closed_form(client):
    X, y, sw = _problem(kind="regression", n=500, d=6)
    alpha = 0.05
    est = fdask.SGDRegressor(solver="lbfgs", alpha=alpha, max_iter=500, tol=1e-12).fit(
        da.from_array(X, chunks=(125, -1)),
        da.from_array(y, chunks=125),
        sample_weight=da.from_array(sw, 125),
    )
    # (1/n) Σ s_i ½(x_i·w + b − y_i)² + α/2‖w‖²: b = weighted mean residual, then the normal
    # equations of the weighted-centred data.
    n = len(y)
    mx, my = sw @ X / sw.sum(), sw @ y / sw.sum()
    Xc, yc = X - mx, y - my
    w = np.linalg.solve((Xc.T * sw) @ Xc / n + alpha * np.eye(X.shape[1]), (Xc.T * sw) @ yc / n)
    b = my - mx @ w
    np.testing.assert_allclose(est.coef_, w, rtol=1e-8)
    np.testing.assert_allclose(est.intercept_, [b], rtol=1e-8)


def _scipy_optimum(X, y, loss, penalty, alpha, sw=None):
    def f(x):
        obj, g, gb = objective_and_grad(
            X,
            y,
            x[:-1],
            x[-1],
            loss=loss,
            penalty=penalty,
            alpha=alpha,
            l1_ratio=0.0,
            epsilon=0.1,
            sample_weight=sw,
        )
        return obj, np.append(g, gb)

    res = minimize(
        f,
        np.zeros(X.shape[1] + 1),
        jac=True,
        method="L-BFGS-B",
        options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10_000},
    )
    return res.x[:-1], res.x[-1], res.fun


def test_lbfgs_logistic_scipy_optimum(client):
    X, y, sw = _problem(kind="binary", n=600)
    w, b, _ = _scipy_optimum(X, 2 * y - 1, "log_loss", "l2", 0.01, sw)
    est = fdask.SGDClassifier(
        loss="log_loss", solver="lbfgs", alpha=0.01, max_iter=500, tol=1e-10
    ).fit(
        da.from_array(X, chunks=(150, -1)),
        da.from_array(y, 150),
        sample_weight=da.from_array(sw, 150),
    )
    np.testing.assert_allclose(est.coef_.ravel(), w, rtol=1e-6)
    np.testing.assert_allclose(est.intercept_, [b], rtol=1e-6)


def test_lbfgs_elasticnet_is_optimal(client):
    """The split w = u − v: the KKT conditions of the elastic net hold, with exact zeros."""
    X, y, _ = _problem(kind="regression", n=400, d=10)
    alpha, rho = 0.3, 0.7
    est = fdask.SGDRegressor(
        solver="lbfgs", penalty="elasticnet", alpha=alpha, l1_ratio=rho, max_iter=1000, tol=1e-12
    ).fit(da.from_array(X, chunks=(100, -1)), da.from_array(y, 100))
    w, b = est.coef_, est.intercept_[0]
    l2, l1 = penalty_weights("elasticnet", alpha, rho)
    _, g, gb = objective_and_grad(
        X, y, w, b, loss="squared_error", penalty="none", alpha=0.0, l1_ratio=0.0, epsilon=0.1
    )
    smooth = g + l2 * w
    zero = w == 0
    assert zero.any() and not zero.all()
    assert np.all(np.abs(smooth[zero]) <= l1 + 1e-7)
    np.testing.assert_allclose(smooth[~zero], -l1 * np.sign(w[~zero]), atol=1e-7)
    assert abs(gb) < 1e-7


def test_local_sgd_reaches_optimum_within_one_percent(client):
    X, y, _ = _problem(kind="binary", n=2000, d=8, seed=3)
    _, _, best = _scipy_optimum(X, 2 * y - 1, "log_loss", "l2", 1e-3)
    est = fdask.SGDClassifier(
        loss="log_loss",
        solver="local_sgd",
        alpha=1e-3,
        batch_size=16,
        learning_rate="constant",
        eta0=0.05,
        max_iter=10,
        tol=None,
        local_epochs=2,
        random_state=0,
    ).fit(da.from_array(X, chunks=(500, -1)), da.from_array(y, 500))
    obj, _, _ = objective_and_grad(
        X,
        2 * y - 1,
        est.coef_.ravel(),
        est.intercept_[0],
        loss="log_loss",
        penalty="l2",
        alpha=1e-3,
        l1_ratio=0.0,
        epsilon=0.1,
    )
    assert est.n_iter_ == 10
    assert best <= obj <= 1.01 * best


def test_local_sgd_optimizer_state_carries_over(client):
    X, y, _ = _problem(kind="regression", n=800)
    Xd, yd = da.from_array(X, chunks=(200, -1)), da.from_array(y, 200)
    params = dict(
        solver="local_sgd",
        optimizer="adam",
        batch_size=32,
        learning_rate="constant",
        eta0=0.01,
        tol=None,
        random_state=0,
    )
    est = fdask.SGDRegressor(max_iter=6, **params).fit(Xd, yd)
    state = est._task_states[0].optimizer.state_
    assert state.step[0] == est.t_ - 1 == 6 * 7  # 7 steps of 32 rows per epoch of 200 rows
    assert np.all(state.coef[1] > 0)  # Adam's second moments, averaged over the partitions
    assert est.loss_curve_[-1] < est.loss_curve_[0] / 5


def test_predictions_are_lazy_and_local(client):
    X, y, _ = _problem(kind="multi")
    Xd, yd = da.from_array(X, chunks=(100, -1)), da.from_array(y, 100)
    est = fdask.SGDClassifier(loss="log_loss", solver="lbfgs", alpha=0.01, tol=1e-8).fit(Xd, yd)
    local = est.to_local()
    assert type(local) is fastgd.SGDClassifier
    assert local.get_params() == {
        k: v for k, v in est.get_params().items() if k not in fdask._estimators._CLUSTER_PARAMS
    }
    for method in ("predict", "predict_proba", "decision_function"):
        lazy = getattr(est, method)(Xd)
        assert isinstance(lazy, da.Array)
        np.testing.assert_array_equal(lazy.compute(), getattr(local, method)(X))
    assert isinstance(est.score(Xd, yd), da.Array)
    assert float(est.score(Xd, yd)) == pytest.approx(local.score(X, y), rel=1e-12)
    local.partial_fit(X, y)  # the local estimator continues the fit


@pytest.mark.parametrize("solver", ["lbfgs", "local_sgd"])
def test_save_writes_the_local_estimator(client, solver, tmp_path):
    X, y, _ = _problem(kind="multi")
    Xd, yd = da.from_array(X, chunks=(100, -1)), da.from_array(y, 100)
    params = dict(loss="log_loss", solver=solver, alpha=0.01, max_iter=3, tol=None)
    est = fdask.SGDClassifier(random_state=0, **params).fit(Xd, yd)
    est.save(tmp_path / "m.fgd")
    loaded = fastgd.load(tmp_path / "m.fgd")
    local = est.to_local()
    assert type(loaded) is fastgd.SGDClassifier
    assert loaded.get_params() == local.get_params()
    np.testing.assert_array_equal(loaded.predict_proba(X), local.predict_proba(X))
    local.partial_fit(X, y)  # both continue the fit alike
    loaded.partial_fit(X, y)
    np.testing.assert_array_equal(loaded.coef_, local.coef_)


def test_dataframe_input_and_regressor_score(client):
    X, y, sw = _problem(kind="regression")
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    ddf = dd.from_pandas(frame, npartitions=3)
    ys = dd.from_pandas(pd.Series(y), npartitions=3)
    est = fdask.SGDRegressor(solver="lbfgs", alpha=0.01, tol=1e-10).fit(ddf, ys)
    assert list(est.feature_names_in_) == list(frame.columns)
    local = est.to_local()
    np.testing.assert_allclose(est.predict(ddf).compute(), local.predict(frame), rtol=1e-12)
    assert float(est.score(ddf, ys)) == pytest.approx(local.score(frame, y), rel=1e-10)
    sws = dd.from_pandas(pd.Series(sw), npartitions=3)
    assert float(est.score(ddf, ys, sws)) == pytest.approx(
        local.score(frame, y, sample_weight=sw), rel=1e-10
    )


def test_float32_stays_float32(client):
    X, y, _ = _problem(kind="regression")
    est = fdask.SGDRegressor(solver="gd", **GD).fit(
        da.from_array(X.astype(np.float32), chunks=(100, -1)), da.from_array(y, 100)
    )
    assert est.coef_.dtype == np.float32
    local = fastgd.SGDRegressor(**GD).fit(X.astype(np.float32), y)
    np.testing.assert_allclose(est.coef_, local.coef_, rtol=1e-5)


# ---------------------------------------------------------------------- bad input, faults
def _fitted(client):
    X, y, _ = _problem(kind="regression")
    est = fdask.SGDRegressor(solver="gd", **GD)
    return est.fit(da.from_array(X, chunks=(100, -1)), da.from_array(y, 100)), X, y


def _bad_inputs(X, y):
    Xd = da.from_array(X, chunks=(100, -1))
    unknown = Xd[Xd[:, 0] > -100]  # a boolean mask: Dask does not know the rows per chunk
    X_nan = X.copy()
    X_nan[250, 3] = np.nan  # in the third chunk of 100 rows
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    frame["city"] = "Paris"
    return {
        "unknown chunks": ((unknown, da.from_array(y, 100)), ValueError, "unknown chunk sizes"),
        "columns chunked": (
            (Xd.rechunk((100, 3)), da.from_array(y, 100)),
            ValueError,
            "chunked along rows only",
        ),
        "y chunked apart": ((Xd, da.from_array(y, 150)), ValueError, "y must be chunked like X"),
        "non-numeric": (
            (dd.from_pandas(frame, 2), dd.from_pandas(pd.Series(y), 2)),
            TypeError,
            "not numeric: city",
        ),
        "NaN": (
            (da.from_array(X_nan, chunks=(100, -1)), da.from_array(y, 100)),
            ValueError,
            "NaN or infinity in partition 2",
        ),
        "in memory": ((X, y), TypeError, "must be a dask array"),
    }


@pytest.mark.parametrize(
    "name",
    [
        "unknown chunks",
        "columns chunked",
        "y chunked apart",
        "non-numeric",
        "NaN",
        "in memory",
    ],
)
def test_bad_input_raises_and_keeps_model(client, name):
    est, X, y = _fitted(client)
    coef = est.coef_.copy()
    args, error, match = _bad_inputs(X, y)[name]
    with pytest.raises(error, match=match):
        est.fit(*args)
    np.testing.assert_array_equal(est.coef_, coef)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(solver="newton"), "solver must be one of"),
        (dict(solver="lbfgs", loss="epsilon_insensitive"), "needs a differentiable loss"),
        (dict(solver="gd", optimizer="adam"), "applies to solver='local_sgd'"),
        (dict(early_stopping=True), "early_stopping"),
        (dict(learning_rate="auto"), "learning_rate='auto' is not available on Dask"),
        (dict(local_epochs=0), "local_epochs"),
        (dict(alpha=-1.0), "alpha"),
    ],
)
def test_bad_parameters(client, params, match):
    X, y, _ = _problem(kind="regression", n=40)
    with pytest.raises(ValueError, match=match):
        fdask.SGDRegressor(**params).fit(da.from_array(X, chunks=(20, -1)), da.from_array(y, 20))


@pytest.mark.skipif(SANITIZED, reason="the sanitizer run's workers are threads: none to kill")
def test_worker_killed_mid_fit_gives_the_same_model(client):
    X, y, _ = _problem(kind="regression", n=2000)
    Xd, yd = da.from_array(X, chunks=(250, -1)), da.from_array(y, 250)
    params = dict(solver="gd", penalty="l2", alpha=0.01, **GD)
    expected = fdask.SGDRegressor(**params).fit(Xd, yd)
    pids = client.run(os.getpid)
    killed = []

    def kill_one_worker(epoch, loss):
        if epoch == 5:
            os.kill(next(iter(pids.values())), signal.SIGKILL)
            killed.append(epoch)

    try:
        est = fdask.SGDRegressor(callbacks=[kill_one_worker], **params).fit(Xd, yd)
    except fdask.LostWorkerError as exc:  # the other allowed outcome: a clear error
        assert "workers were lost" in str(exc)
    else:
        np.testing.assert_allclose(est.coef_, expected.coef_, rtol=1e-12)
        np.testing.assert_allclose(est.intercept_, expected.intercept_, rtol=1e-12)
    finally:
        client.wait_for_workers(2, timeout=60)
    assert killed == [5]


def test_a_partition_received_at_an_odd_offset_is_aligned_for_the_kernels():
    """What a worker receives may lie at any offset of a message's buffer: the partition's
    arrays are aligned again when it is unpickled (a misaligned double is undefined behaviour in
    the kernels, which the sanitizer run caught)."""
    import pickle

    from fastgd.dask._partitions import Partition, aligned

    def odd(a):
        raw = np.zeros(a.nbytes + 1, np.uint8)
        out = np.frombuffer(raw[1:].data, dtype=a.dtype).reshape(a.shape)
        out[...] = a
        return out

    X, y = odd(np.arange(12.0).reshape(4, 3)), odd(np.arange(4.0))
    assert not X.flags.aligned and not y.flags.aligned
    part = pickle.loads(pickle.dumps(Partition(0, X, y, None)))
    part.__setstate__({**part.__dict__, "X": X, "y": y, "targets": [y], "weights": [None]})
    assert part.X.flags.aligned and part.y.flags.aligned and part.targets[0].flags.aligned
    np.testing.assert_array_equal(part.X, X)
    b = np.arange(3.0)
    assert aligned(b) is b  # nothing copied that is aligned already


@pytest.mark.parametrize("solver", ["gd", "lbfgs"])
def test_verbose_shows_rounds(client, monkeypatch, capsys, solver):
    """verbose=1's progress line counts the rounds (L-BFGS's iterations); verbose=2 adds a line
    per round on stdout."""
    from fastgd import _progress

    monkeypatch.setattr(_progress, "SHOW_AFTER", 0.0)
    monkeypatch.setitem(sys.modules, "tqdm", None)  # the plain line
    X, y, _ = _problem(kind="regression")
    params = dict(GD, max_iter=4) if solver == "gd" else dict(max_iter=4, tol=None)
    est = fdask.SGDRegressor(solver=solver, verbose=2, **params).fit(
        da.from_array(X, chunks=(100, -1)), da.from_array(y, chunks=100)
    )
    out, err = capsys.readouterr()
    unit = "round" if solver == "gd" else "iteration"
    assert err.splitlines()[-1].startswith(f"{unit} {est.n_iter_}/4 | loss ")
    assert len(out.splitlines()) == len(est.loss_curve_) == est.n_iter_
