"""Bad input to every fastgd.ops function: a ValueError/TypeError naming the argument, raised
before any work, with the in-place buffers left untouched."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from fastgd import ops

N, D, B = 20, 3, 4


def _good():
    rng = np.random.default_rng(0)
    return dict(
        X=rng.standard_normal((N, D)),
        y=rng.standard_normal(N),
        coef=np.array([0.5, -0.25, 1.0]),
        intercept=np.array([0.125]),
        lrs=np.full(N // B, 0.1),
        batch_size=B,
    )


def _with(**changes):
    kw = _good()
    kw.update(changes)
    return kw


def _nan_at(a, idx):
    a = a.copy()
    a[idx] = np.nan
    return a


X0 = _good()["X"]
FORTRAN_X = np.asfortranarray(X0)
BIG = np.zeros(2 * D)

SGD_CASES = [
    # (id, changes, exception, message pattern)
    ("X-1d", dict(X=X0[:, 0]), ValueError, "X must be a 2-D"),
    ("X-3d", dict(X=X0[None]), ValueError, "X must be a 2-D"),
    ("X-list", dict(X=X0.tolist()), TypeError, "X must be a NumPy array"),
    ("X-int", dict(X=X0.astype(np.int64)), TypeError, "X must be a float32 or float64"),
    ("X-complex", dict(X=X0.astype(complex)), TypeError, "X must be a float32 or float64"),
    ("X-object", dict(X=X0.astype(object)), TypeError, "X must be a float32 or float64"),
    ("X-big-endian", dict(X=X0.astype(">f8")), TypeError, "native byte order"),
    ("X-fortran", dict(X=FORTRAN_X), ValueError, "X must be row-major"),
    ("X-column-slice", dict(X=np.zeros((N, 2 * D))[:, ::2]), ValueError, "X must be row-major"),
    (
        "X-empty",
        dict(X=np.zeros((0, D)), y=np.zeros(0), lrs=np.zeros(0)),
        ValueError,
        "at least one sample",
    ),
    ("X-nan", dict(X=_nan_at(X0, (7, 1))), ValueError, r"Input X contains NaN \(first in row 7"),
    (
        "X-inf",
        dict(X=np.where(np.arange(N)[:, None] == 3, np.inf, X0)),
        ValueError,
        r"Input X contains infinity \(first in row 3\)",
    ),
    ("y-short", dict(y=np.zeros(N - 1)), ValueError, r"y must have shape \(20,\)"),
    ("y-2d", dict(y=np.zeros((N, 1))), ValueError, "y must have shape"),
    ("y-nan", dict(y=_nan_at(np.zeros(N), 4)), ValueError, "y contains NaN or inf"),
    ("y-complex", dict(y=np.zeros(N, complex)), TypeError, "y must hold real numbers"),
    ("y-str", dict(y=np.array(["a"] * N)), TypeError, "y must hold real numbers"),
    ("labels-01", dict(y=np.arange(N) % 2, loss="hinge"), ValueError, "y must hold labels -1 or"),
    ("sw-nan", dict(sample_weight=_nan_at(np.ones(N), 2)), ValueError, "sample_weight contains"),
    ("sw-negative", dict(sample_weight=-np.ones(N)), ValueError, "sample_weight must be >= 0"),
    ("sw-short", dict(sample_weight=np.ones(3)), ValueError, "sample_weight must have shape"),
    ("lrs-short", dict(lrs=np.full(4, 0.1)), ValueError, r"lrs must have shape \(5,\)"),
    (
        "lrs-negative",
        dict(lrs=np.array([0.1, 0.1, -0.1, 0.1, 0.1])),
        ValueError,
        "lrs must be finite and >= 0",
    ),
    ("lrs-nan", dict(lrs=_nan_at(np.full(5, 0.1), 0)), ValueError, "lrs must be finite"),
    ("lrs-inf", dict(lrs=np.full(5, np.inf)), ValueError, "lrs must be finite"),
    ("lrs-str", dict(lrs=["a"] * 5), TypeError, "lrs must be an array of real"),
    (
        "order-duplicate",
        dict(order=np.r_[0, np.arange(N - 1)]),
        ValueError,
        "order must hold distinct row indices",
    ),
    (
        "order-out-of-range",
        dict(order=np.arange(1, N + 1)),
        ValueError,
        "order must hold distinct row indices",
    ),
    ("order-negative", dict(order=np.arange(N) - 1), ValueError, "order must hold distinct"),
    ("order-empty", dict(order=np.arange(0)), ValueError, "order must be a 1-D array of 1 to 20"),
    ("order-long", dict(order=np.arange(N + 1)), ValueError, "order must be a 1-D array of 1 to"),
    ("order-2d", dict(order=np.arange(N)[None]), ValueError, "order must be a 1-D array"),
    ("order-subset-lrs", dict(order=np.arange(8)), ValueError, r"lrs must have shape \(2,\)"),
    ("order-float", dict(order=np.arange(N, dtype=float)), TypeError, "order must be an integer"),
    ("loss-unknown", dict(loss="squared"), ValueError, "loss must be one of"),
    ("loss-none", dict(loss=None), ValueError, "loss must be one of"),
    ("penalty-unknown", dict(penalty="l3"), ValueError, "penalty must be one of"),
    ("coef-float32", dict(coef=np.zeros(D, np.float32)), TypeError, "coef must have dtype float64"),
    ("coef-noncontiguous", dict(coef=BIG[::2]), ValueError, "coef must be C-contiguous"),
    ("coef-length", dict(coef=np.zeros(D + 1)), ValueError, r"coef must have shape \(3,\)"),
    ("coef-readonly", dict(coef=np.broadcast_to(0.0, (D,))), ValueError, "coef must be"),
    ("coef-list", dict(coef=[0.0] * D), TypeError, "coef must be a NumPy array"),
    ("coef-nan", dict(coef=np.array([0.0, np.nan, 0.0])), ValueError, "coef contains NaN"),
    ("intercept-float", dict(intercept=0.0), TypeError, "intercept must be a NumPy array"),
    (
        "intercept-shape",
        dict(intercept=np.zeros(2)),
        ValueError,
        r"intercept must have shape \(1,\)",
    ),
    (
        "intercept-float32",
        dict(intercept=np.zeros(1, np.float32)),
        TypeError,
        "intercept must have dtype float64",
    ),
    ("intercept-nan", dict(intercept=np.array([np.nan])), ValueError, "intercept contains NaN"),
    ("alpha-negative", dict(alpha=-1.0), ValueError, "alpha must be"),
    ("alpha-nan", dict(alpha=float("nan")), ValueError, "alpha must be"),
    ("alpha-str", dict(alpha="0.1"), TypeError, "alpha must be a real number"),
    ("l1_ratio-big", dict(l1_ratio=1.5), ValueError, "l1_ratio must be"),
    ("epsilon-negative", dict(epsilon=-0.1), ValueError, "epsilon must be"),
    ("batch-zero", dict(batch_size=0), ValueError, "batch_size must be >= 1"),
    ("batch-float", dict(batch_size=2.5), TypeError, "batch_size must be an integer"),
    ("batch-bool", dict(batch_size=True), TypeError, "batch_size must be an integer"),
    ("threads-zero", dict(n_threads=0), ValueError, "n_threads must be >= 1"),
]


@pytest.mark.parametrize(
    "changes, exc, match", [c[1:] for c in SGD_CASES], ids=[c[0] for c in SGD_CASES]
)
def test_sgd_epoch_rejects(changes, exc, match):
    kw = _with(**changes)
    coef, intercept = kw["coef"], kw["intercept"]
    before = (np.array(coef, copy=True), np.array(intercept, copy=True))
    X, y, lrs = kw.pop("X"), kw.pop("y"), kw.pop("lrs")
    with pytest.raises(exc, match=match):
        ops.sgd_epoch(X, y, kw.pop("coef"), kw.pop("intercept"), lrs, **kw)
    np.testing.assert_array_equal(np.asarray(coef), before[0])  # nothing was done
    np.testing.assert_array_equal(np.asarray(intercept), before[1])


GRAD_CASES = [
    ("X-1d", dict(X=X0[:, 0]), ValueError, "X must be a 2-D"),
    ("X-nan", dict(X=_nan_at(X0, (0, 0))), ValueError, "X contains NaN"),
    ("y-short", dict(y=np.zeros(2)), ValueError, "y must have shape"),
    ("coef-length", dict(coef=np.zeros(D + 2)), ValueError, r"coef must have shape \(3,\)"),
    ("coef-float32", dict(coef=np.zeros(D, np.float32)), TypeError, "coef must have dtype"),
    ("coef-inf", dict(coef=np.array([0.0, np.inf, 0.0])), ValueError, "coef contains NaN or inf"),
    ("intercept-pair", dict(intercept=np.zeros(2)), ValueError, "intercept must be a real number"),
    ("intercept-nan", dict(intercept=float("nan")), ValueError, "intercept must be finite"),
    ("labels", dict(y=np.full(N, 2.0), loss="log_loss"), ValueError, "y must hold labels"),
    ("sw-negative", dict(sample_weight=-np.ones(N)), ValueError, "sample_weight must be >= 0"),
    ("penalty", dict(penalty="ridge"), ValueError, "penalty must be one of"),
    ("threads", dict(n_threads=-1), ValueError, "n_threads must be >= 1"),
]


@pytest.mark.parametrize(
    "changes, exc, match", [c[1:] for c in GRAD_CASES], ids=[c[0] for c in GRAD_CASES]
)
def test_loss_and_grad_rejects(changes, exc, match):
    kw = _with(**changes)
    del kw["lrs"], kw["batch_size"]
    kw["intercept"] = kw["intercept"] if "intercept" in changes else 0.0
    with pytest.raises(exc, match=match):
        ops.loss_and_grad(kw.pop("X"), kw.pop("y"), kw.pop("coef"), kw.pop("intercept"), **kw)


def test_loss_and_derivative_rejects():
    with pytest.raises(ValueError, match="loss must be one of"):
        ops.loss_and_derivative([0.0], [1.0], loss="nope")
    with pytest.raises(ValueError, match="same length"):
        ops.loss_and_derivative([0.0, 1.0], [1.0])


def test_check_input_false_still_checks_shapes():
    kw = _good()
    with pytest.raises(ValueError, match="y must have shape"):
        ops.sgd_epoch(
            kw["X"],
            np.zeros(3),
            kw["coef"],
            kw["intercept"],
            kw["lrs"],
            batch_size=B,
            check_input=False,
        )


def test_unpickled_arrays_are_accepted():
    # Unpickled arrays (joblib memmaps too) carry their own, equivalent dtype objects.
    kw = {k: pickle.loads(pickle.dumps(v)) for k, v in _good().items()}
    ops.sgd_epoch(kw["X"], kw["y"], kw["coef"], kw["intercept"], kw["lrs"], batch_size=B)
    assert np.isfinite(kw["coef"]).all() and not np.array_equal(kw["coef"], _good()["coef"])


@pytest.mark.parametrize(
    "name, value",
    [("alpha", -1.0), ("l1_ratio", 1.5), ("epsilon", float("nan")), ("batch_size", 2.0)],
)
def test_ops_and_the_estimators_share_a_parameter_domain(name, value):
    pytest.importorskip("sklearn")
    from fastgd import SGDRegressor

    kw = _good()
    with pytest.raises((TypeError, ValueError)) as from_ops:
        ops.sgd_epoch(
            kw["X"],
            kw["y"],
            kw["coef"],
            kw["intercept"],
            kw["lrs"],
            **{"batch_size": B, name: value},
        )
    with pytest.raises((TypeError, ValueError)) as from_estimator:
        SGDRegressor(**{name: value}).fit(kw["X"], kw["y"])
    assert (type(from_ops.value), str(from_ops.value)) == (
        type(from_estimator.value),
        str(from_estimator.value),
    )
    assert name in str(from_ops.value)
