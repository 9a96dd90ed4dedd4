"""Softmax, adaptive optimizers and averaged SGD on CSR data (sparse/general_epoch.hpp): the dense
kernel's model on X.toarray() to rounding where the lazy updates are exact (plain SGD, Adagrad
without L2, averaging), and a float64 NumPy reference of the lazy semantics where they are not."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from fastgd import ops, optimizers
from fastgd.linear_model import SGDClassifier, SGDRegressor

import reference
from conftest import PENALTIES, assert_close

K = 4
PARAMS = dict(alpha=0.02, l1_ratio=0.4, epsilon=0.3)
# Models: the softmax (hard labels, coefficients feature-major or class-major; soft labels with
# smoothing) and two pointwise losses.
MODELS = ["softmax-F", "softmax-C", "soft-labels", "log_loss", "huber"]


def _problem(dtype, n=90, d=25, seed=0):
    """CSR X (values ~ N(0, 1), one empty row, one row with a repeated column), class indices,
    their probabilities, labels ±1 and sample weights."""
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=0.2, format="csr", random_state=seed, dtype=np.float64)
    X.data = rng.standard_normal(X.nnz)
    X = X.tolil()
    X[3, :] = 0
    X = X.tocsr()
    X.eliminate_zeros()
    # Row 5 stores column 7 twice (non-canonical CSR): the two entries add up.
    row = slice(X.indptr[5], X.indptr[6])
    X.indices[row][: min(2, X.indptr[6] - X.indptr[5])] = 7
    X = X.astype(dtype)
    classes = rng.integers(0, K, n)
    probs = rng.dirichlet(np.ones(K), n).astype(dtype)
    labels = np.where(rng.random(n) < 0.5, -1.0, 1.0).astype(dtype)
    weights = rng.uniform(0.5, 2.0, n).astype(dtype)
    return X, classes, probs, labels, weights


def _model(model, dtype, d, sparse):
    """(loss, target kind, coef, intercept, extra kwargs) of a model, zeros."""
    if model.startswith("softmax") or model == "soft-labels":
        order = "F" if sparse and model != "softmax-C" else "C"
        kw = dict(label_smoothing=0.1) if model == "soft-labels" else {}
        coef = np.zeros((K, d), dtype=dtype, order=order)
        return "multinomial", model, coef, np.zeros(K, dtype=dtype), kw
    return model, "labels", np.zeros(d, dtype=dtype), np.zeros(1, dtype=dtype), {}


def _targets(kind, classes, probs, labels):
    return {"soft-labels": probs, "labels": labels}.get(kind, classes)


def _train(
    X, y, loss, coef, b, *, batch_size, epochs=3, lr=0.1, optimizer=None, average=None, **kw
):
    """A few shuffled epochs at a decaying rate; returns the published (coef, intercept, loss)."""
    n = X.shape[0]
    total = 0.0
    for epoch in range(epochs):
        order = np.random.default_rng(epoch).permutation(n)
        lrs = np.full(ops.n_steps(n, batch_size), lr / (1 + epoch))
        total = ops.sgd_epoch(
            X,
            y,
            coef,
            b,
            lrs,
            batch_size=batch_size,
            order=order,
            loss=loss,
            optimizer=optimizer,
            average=average,
            n_threads=1,
            **kw,
        )
    if average is not None:
        return average.coef_, average.intercept_, total
    return coef, b, total


def _fresh(update):
    """(optimizer, average) of an update: plain SGD, averaged SGD, Adagrad, momentum or
    Nesterov (the last two also averaged)."""
    optimizer = {
        "adagrad": lambda: optimizers.Adagrad(lr_decay=0.01, initial_accumulator_value=0.1),
        "momentum": lambda: optimizers.Momentum(0.8, dampening=0.1),
        "nesterov": lambda: optimizers.Nesterov(0.7),
    }.get(update.removesuffix("+average"), lambda: None)()
    average = optimizers.Average(start=7) if update.endswith("average") else None
    return optimizer, average


# Adagrad's updates are exact without L2 only, momentum's and Nesterov's without L1; the other
# combinations are lazy (the lazy tests below).
_WITHOUT_EXACT_FORM = {
    "adagrad": ("l2", "elasticnet"),
    "momentum": ("l1", "elasticnet"),
    "nesterov+average": ("l1", "elasticnet"),
}
EXACT = [
    (update, penalty)
    for update in ("sgd", "average", "adagrad", "momentum", "nesterov+average")
    for penalty in PENALTIES
    if penalty not in _WITHOUT_EXACT_FORM.get(update, ())
]


@pytest.mark.parametrize("batch_size", [1, 6])
@pytest.mark.parametrize("update, penalty", EXACT)
@pytest.mark.parametrize("model", MODELS)
def test_exact_updates_give_the_dense_model(model, update, penalty, batch_size, dtype):
    X, classes, probs, labels, weights = _problem(dtype)
    results = []
    for data in (X.toarray(), X):
        loss, kind, coef, b, kw = _model(model, dtype, X.shape[1], sparse=data is X)
        optimizer, average = _fresh(update)
        results.append(
            _train(
                data,
                _targets(kind, classes, probs, labels),
                loss,
                coef,
                b,
                batch_size=batch_size,
                optimizer=optimizer,
                average=average,
                penalty=penalty,
                sample_weight=weights,
                fit_intercept=batch_size == 1,
                **PARAMS,
                **kw,
            )
        )
    (coef, b, total), (ref_coef, ref_b, ref_total) = results[1], results[0]
    assert_close(coef, ref_coef, dtype)
    assert_close(b, ref_b, dtype, scale=max(np.abs(ref_b).max(), np.abs(ref_coef).max()))
    assert_close(total, ref_total, dtype)
    if penalty in ("l1", "elasticnet") and update != "average":
        np.testing.assert_array_equal(coef == 0, ref_coef == 0)  # the same exact zeros


@pytest.mark.parametrize("penalty", ["l2", "elasticnet"])
@pytest.mark.parametrize("model", ["softmax-F", "log_loss"])
def test_steps_without_a_lazy_form_and_clock_restarts_give_the_dense_model(model, penalty, dtype):
    # lr·l2 = 1.2 ≥ 1 on every fifth step: no lazy form, applied densely, which restarts the
    # clock and starts a new segment of the average. In between lr·l2 = 0.5 halves the scale A
    # each step (restarts at a smaller A: test_linear_average_with_columns_left_untouched...).
    X, classes, probs, labels, weights = _problem(dtype, n=1200, d=15, seed=2)
    lrs = np.where(np.arange(1200) % 5 == 4, 0.6, 0.25)
    results = []
    for data in (X.toarray(), X):
        loss, kind, coef, b, kw = _model(model, dtype, X.shape[1], sparse=data is X)
        average = optimizers.Average(start=3)
        ops.sgd_epoch(
            data,
            _targets(kind, classes, probs, labels),
            coef,
            b,
            lrs,
            batch_size=1,
            loss=loss,
            penalty=penalty,
            alpha=2.0,
            l1_ratio=0.01,
            average=average,
            n_threads=1,
        )
        results.append((coef, average.coef_, average.intercept_))
    for got, want in zip(results[1], results[0]):
        assert_close(got, want, dtype, scale=max(np.abs(want).max(), 1e-3))


@pytest.mark.parametrize("rates", ["halving", "slow", "slow-and-a-dense-step"])
@pytest.mark.parametrize("model", ["softmax-F", "softmax-C", "log_loss"])
def test_linear_average_with_columns_left_untouched_gives_the_dense_model(model, rates, dtype):
    # The second call's first 700 rows store none of columns 15-24 and no row stores 25-29, so
    # their averages move by the clock alone. Float64's softmax-F keeps a column in the call's
    # store from its first touch (or from a clock restart or a dense step, which place every
    # column); an untouched one stays in the caller's arrays to the call's end ("slow"). At
    # lr·l2 = 0.5 ("halving") the scale halves each step and the clock restarts every 20 steps,
    # before the average's sums lose their digits; lr·l2 = 1.2 once is a dense step. softmax-C
    # and log_loss keep the sums apart: the same arithmetic, so the same bits.
    X, classes, probs, labels, _ = _problem(dtype, n=1200, d=30, seed=4)
    late = X.toarray()
    late[:700, 15:25] = 0
    late[:, 25:] = 0
    lrs = np.full(1200, 0.25 if rates == "halving" else 0.005)
    if rates == "slow-and-a-dense-step":
        lrs[300] = 0.6

    def train(model, sparse):
        loss, kind, coef, b, _ = _model(model, dtype, 30, sparse=sparse)
        average = optimizers.Average(start=3)
        for data in (X, sp.csr_matrix(late)):
            ops.sgd_epoch(
                data if sparse else data.toarray(),
                _targets(kind, classes, probs, labels),
                coef,
                b,
                lrs,
                batch_size=1,
                loss=loss,
                penalty="l2",
                alpha=2.0,
                average=average,
                n_threads=1,
            )
        return coef, average.coef_, average.intercept_

    sparse, dense = train(model, True), train(model, False)
    assert np.all(sparse[1][..., 25:] != 0)  # never-touched columns' averages move too
    for got, want in zip(sparse, dense):
        assert_close(got, want, dtype, scale=max(np.abs(want).max(), 1e-3))
    if model == "softmax-F":  # packed (float64) or not, the same bits as the class-major layout
        class_major = train("softmax-C", True)
        np.testing.assert_array_equal(sparse[0], class_major[0])
        np.testing.assert_array_equal(sparse[1], class_major[1])


@pytest.mark.parametrize("average", [None, 5])
@pytest.mark.parametrize("opt", ["momentum", "nesterov"])
def test_momentum_under_a_rate_that_changes_every_step_gives_the_dense_model(opt, average, dtype):
    # A constant rate makes every step's map the same matrix, whose products commute: a rate
    # drawn anew for each step checks that the runs are multiplied in their order. Rare columns
    # (two non-zeros per row out of 300) are left alone for hundreds of steps.
    rng = np.random.default_rng(7)
    n, d = 900, 300
    X = sp.random(n, d, density=2 / d, format="csr", random_state=7, dtype=dtype)
    y = np.where(rng.random(n) < 0.5, -1.0, 1.0).astype(dtype)
    lrs = rng.uniform(0.01, 0.3, n)
    results = []
    for data in (X.toarray(), X):
        w, b = np.zeros(d, dtype=dtype), np.zeros(1, dtype=dtype)
        averaged = optimizers.Average(start=average) if average else None
        ops.sgd_epoch(
            data,
            y,
            w,
            b,
            lrs,
            batch_size=1,
            loss="log_loss",
            penalty="l2",
            alpha=0.05,
            optimizer=optimizers.get_optimizer(opt),
            average=averaged,
            sparse_updates="auto" if data is X else "exact",
        )
        results.append(averaged.coef_ if averaged else w)
    assert_close(results[1], results[0], dtype)
    assert np.abs(results[0]).max() > 1e-2


LAZY = [
    optimizers.Momentum(0.8, dampening=0.1),
    optimizers.Nesterov(0.7),
    optimizers.RMSprop(alpha=0.9, eps=1e-6),
    optimizers.Adam(beta1=0.8, beta2=0.99, eps=1e-6),
    optimizers.AdamW(weight_decay=0.05),
    optimizers.Adagrad(lr_decay=0.01, initial_accumulator_value=0.1),
]


@pytest.mark.parametrize("batch_size", [1, 6])
@pytest.mark.parametrize("penalty", ["l2", "elasticnet", "l1"])
@pytest.mark.parametrize("model", ["softmax-F", "softmax-C", "log_loss"])
@pytest.mark.parametrize("opt", LAZY, ids=lambda o: o.kind)
def test_lazy_updates_follow_their_reference(opt, model, penalty, batch_size, dtype):
    X, classes, probs, labels, weights = _problem(dtype, seed=4)
    loss, kind, coef, b, kw = _model(model, dtype, X.shape[1], sparse=True)
    y = _targets(kind, classes, probs, labels)
    opt.reset()
    state_w, state_b = reference.initial_state(opt, coef.shape, b.shape)
    ref_w, ref_b, t = coef.astype(np.float64), b.astype(np.float64), 0
    n = X.shape[0]
    for epoch in range(3):
        order = np.random.default_rng(epoch).permutation(n)
        lrs = np.full(ops.n_steps(n, batch_size), 0.05)
        total = ops.sgd_epoch(
            X,
            y,
            coef,
            b,
            lrs,
            batch_size=batch_size,
            order=order,
            loss=loss,
            penalty=penalty,
            sample_weight=weights,
            optimizer=opt,
            sparse_updates="lazy",
            n_threads=1,
            **PARAMS,
        )
        ref_w, ref_b, ref_total = reference.lazy_epoch(
            X,
            y,
            ref_w,
            ref_b,
            lrs,
            batch_size=batch_size,
            loss=loss,
            penalty=penalty,
            optimizer=opt.kind,
            params=reference.torch_params(opt),
            state_w=state_w,
            state_b=state_b,
            t0=t,
            order=order,
            sample_weight=weights,
            **PARAMS,
        )
        t += len(lrs)
    assert_close(coef, ref_w, dtype)
    assert_close(b, ref_b, dtype, scale=max(np.abs(ref_b).max(), np.abs(ref_w).max()))
    assert_close(total, ref_total, dtype)
    assert opt.state_.t == t


@pytest.mark.parametrize(
    "opt, exact_penalty, lazy_penalty",
    [("adagrad", "l1", "l2"), ("momentum", "l2", "l1"), ("nesterov", "none", "elasticnet")],
)
def test_auto_is_exact_where_it_can_be_and_lazy_elsewhere(opt, exact_penalty, lazy_penalty):
    X, classes, probs, labels, weights = _problem(np.float64, seed=5)

    def train(penalty, mode):
        w = np.zeros(X.shape[1])
        _train(
            X,
            labels,
            "log_loss",
            w,
            np.zeros(1),
            batch_size=1,
            penalty=penalty,
            optimizer=opt,
            sparse_updates=mode,
            **PARAMS,
        )
        return w

    # Exact under "auto" where the optimizer and penalty have an exact lazy form ...
    exact = train(exact_penalty, "exact")
    np.testing.assert_array_equal(train(exact_penalty, "auto"), exact)
    assert not np.allclose(train(exact_penalty, "lazy"), exact)
    # ... and lazy elsewhere.
    np.testing.assert_array_equal(train(lazy_penalty, "auto"), train(lazy_penalty, "lazy"))


@pytest.mark.parametrize(
    "opt, penalty", [("adam", "l2"), ("rmsprop", "none"), ("momentum", "l1"), ("adagrad", "l2")]
)
def test_exact_refuses_an_optimizer_without_an_exact_lazy_form(opt, penalty):
    X, _, _, labels, _ = _problem(np.float64)
    w = np.zeros(X.shape[1])
    with pytest.raises(ValueError, match="sparse_updates='exact'.*sparse_updates='lazy'"):
        ops.sgd_epoch(
            X,
            labels,
            w,
            np.zeros(1),
            np.full(90, 0.1),
            batch_size=1,
            loss="log_loss",
            penalty=penalty,
            optimizer=opt,
            sparse_updates="exact",
        )
    assert not w.any()
    with pytest.raises(ValueError, match="sparse_updates must be one of"):
        ops.sgd_epoch(
            X, labels, w, np.zeros(1), np.full(90, 0.1), batch_size=1, sparse_updates="sometimes"
        )


def test_asynchronous_epochs_take_plain_sgd_only():
    X, classes, *_ = _problem(np.float64)
    coef = np.zeros((K, X.shape[1]), order="F")
    with pytest.raises(ValueError, match="parallel='async'.*parallel='sync'"):
        ops.sgd_epoch(
            X,
            classes,
            coef,
            np.zeros(K),
            np.full(90, 0.1),
            batch_size=1,
            loss="multinomial",
            parallel="async",
        )


def test_state_in_another_layout_than_coef_is_refused():
    X, classes, *_ = _problem(np.float64)
    coef = np.zeros((K, X.shape[1]), order="F")
    opt = optimizers.Adam()
    opt.state_for(np.zeros((K, X.shape[1])))  # allocated for C-ordered coefficients
    state = opt.state_
    kw = dict(batch_size=1, loss="multinomial")
    problem = ops._prepare(
        X,
        classes,
        None,
        penalty="l2",
        alpha=1e-4,
        l1_ratio=0.15,
        epsilon=0.1,
        n_threads=1,
        check_input=True,
        coef=coef,
        optimizer=opt,
        **{k: v for k, v in kw.items()},
    )
    with pytest.raises(ValueError, match="optimizer_state must have coef's layout"):
        problem.run(
            coef,
            np.zeros(K),
            np.full(90, 0.1),
            optimizer_state=(state.coef, state.intercept, state.step),
        )
    assert not coef.any()
    # Through ops, the optimizer lays its state out as coef is.
    ops.sgd_epoch(X, classes, coef, np.zeros(K), np.full(90, 0.1), optimizer=opt, **kw)
    assert opt.state_.coef[0].flags.f_contiguous and coef.any()


@pytest.mark.parametrize("penalty", PENALTIES)
def test_softmax_objective_on_csr_equals_the_dense_one(penalty, dtype):
    X, classes, probs, _, weights = _problem(dtype)
    W = np.random.default_rng(1).standard_normal((K, X.shape[1])).astype(dtype)
    W[:, 2] = 0
    b = np.arange(K, dtype=dtype) / 10
    for y, smoothing in ((classes, 0.0), (probs, 0.2)):
        kw = dict(
            loss="multinomial",
            penalty=penalty,
            sample_weight=weights,
            label_smoothing=smoothing,
            **PARAMS,
        )
        got, want = (ops.loss_and_grad(data, y, W, b, **kw) for data in (X, X.toarray()))
        for g, w in zip(got, want):
            assert_close(g, w, dtype)
        ref = reference.softmax_objective_and_grad(
            X.toarray(),
            y,
            W,
            b,
            penalty=penalty,
            alpha=PARAMS["alpha"],
            l1_ratio=PARAMS["l1_ratio"],
            sample_weight=weights,
            label_smoothing=smoothing,
        )
        for g, w in zip(got, ref):
            assert_close(g, w, dtype)


# ---------------------------------------------------------------- the estimators on sparse X


@pytest.mark.parametrize(
    "params",
    [
        dict(loss="log_loss"),  # three classes: the softmax
        dict(loss="log_loss", average=5, penalty="elasticnet"),
        dict(loss="log_loss", optimizer="adagrad", penalty="l1"),
        dict(loss="hinge", average=True),  # one-vs-rest, averaged
    ],
    ids=["softmax", "softmax-averaged", "softmax-adagrad", "ovr-averaged"],
)
def test_classifier_on_sparse_x_gives_its_dense_model(params):
    # Without an intercept: on sparse X its updates are damped as scikit-learn damps them
    # (test_sparse.py, test_sparse_estimators_give_sklearn_sparse_model).
    X, classes, *_ = _problem(np.float64, n=150, seed=6)
    kw = dict(learning_rate="constant", eta0=0.05, max_iter=4, tol=None, random_state=0)
    kw |= dict(fit_intercept=False)
    sparse = SGDClassifier(**kw, **params).fit(X, classes % 3)
    dense = SGDClassifier(**kw, **params).fit(X.toarray(), classes % 3)
    assert sparse.coef_.shape == dense.coef_.shape == (3, X.shape[1])
    assert_close(sparse.coef_, dense.coef_, np.float64)
    score = "predict_proba" if params["loss"] == "log_loss" else "decision_function"
    np.testing.assert_allclose(
        getattr(sparse, score)(X[:20]), getattr(dense, score)(X[:20].toarray()), rtol=1e-9
    )


def test_estimators_pass_sparse_updates_to_the_kernel():
    X, _, _, labels, _ = _problem(np.float64, seed=7)
    kw = dict(learning_rate="constant", eta0=0.05, max_iter=2, tol=None, shuffle=False)
    est = SGDRegressor(optimizer="adam", sparse_updates="lazy", **kw).fit(X, labels)
    opt = optimizers.Adam()
    w, b = np.zeros(X.shape[1]), np.zeros(1)
    for _ in range(2):
        ops.sgd_epoch(
            X,
            labels,
            w,
            b,
            np.full(X.shape[0], 0.05),
            batch_size=1,
            alpha=1e-4,
            optimizer=opt,
            sparse_updates="lazy",
            intercept_decay=0.01,  # scikit-learn's on sparse X, as the estimators' (_base.py)
            n_threads=1,
        )
    np.testing.assert_array_equal(est.coef_, w)
    np.testing.assert_array_equal(est.intercept_, b)
    with pytest.raises(ValueError, match="sparse_updates='exact'"):
        SGDRegressor(optimizer="adam", sparse_updates="exact", **kw).fit(X, labels)
    assert not hasattr(SGDRegressor(), "coef_")


def test_partial_fit_moves_between_sparse_and_dense_x():
    # The softmax's coefficients are feature-major on sparse X, class-major on dense X; the
    # optimizer's state and the average follow them. Adagrad without L2 is exact on sparse X,
    # so alternating the formats gives the model of dense X throughout.
    X, classes, *_ = _problem(np.float64, seed=8)
    kw = dict(
        fit_intercept=False,  # damped on sparse X only
        loss="log_loss",
        optimizer="adagrad",
        penalty="l1",
        average=3,
        learning_rate="constant",
        eta0=0.05,
        random_state=0,
    )
    mixed, dense = SGDClassifier(**kw), SGDClassifier(**kw)
    for data in (X, X.toarray(), X):
        mixed.partial_fit(data, classes, classes=np.arange(K))
        dense.partial_fit(X.toarray(), classes, classes=np.arange(K))
    assert_close(mixed.coef_, dense.coef_, np.float64)
    assert_close(mixed.intercept_, dense.intercept_, np.float64, scale=np.abs(dense.coef_).max())


@pytest.mark.parametrize("opt", [None, "adam"])
@pytest.mark.parametrize("model", ["softmax-F", "log_loss"])
def test_intercept_decay_scales_the_intercepts_updates(model, opt):
    X, classes, probs, labels, _ = _problem(np.float64, seed=9)
    steps = {}
    for decay in (1.0, 0.01):
        loss, kind, coef, b, _ = _model(model, np.float64, X.shape[1], sparse=True)
        b += 0.5
        ops.sgd_epoch(
            X,
            _targets(kind, classes, probs, labels),
            coef,
            b,
            [0.3],
            batch_size=4,
            order=np.arange(4),
            loss=loss,
            optimizer=opt,
            intercept_decay=decay,
        )
        steps[decay] = (coef, b - 0.5)
    # One step from the same model: the coefficients' update does not read the intercept's.
    np.testing.assert_array_equal(steps[0.01][0], steps[1.0][0])
    np.testing.assert_allclose(steps[0.01][1], 0.01 * steps[1.0][1], rtol=1e-12)
    assert np.abs(steps[1.0][1]).max() > 0
    with pytest.raises(ValueError, match="intercept_decay applies to sparse X"):
        ops.sgd_epoch(
            X.toarray(),
            labels,
            np.zeros(X.shape[1]),
            np.zeros(1),
            [0.3],
            batch_size=90,
            intercept_decay=0.01,
        )
    with pytest.raises(ValueError, match="intercept_decay must be"):
        ops.sgd_epoch(
            X, labels, np.zeros(X.shape[1]), np.zeros(1), [0.3], batch_size=90, intercept_decay=0.0
        )


def _two_parts(n=400, d=600, seed=0):
    """Two CSR parts of the same rows: the first stores every column, the second none from
    column d/2 on, so that a call on it leaves half the columns, and their state, untouched."""
    X = sp.random(n, d, density=0.02, format="csr", random_state=seed, dtype=np.float64)
    X.data = np.random.default_rng(seed).standard_normal(X.nnz)
    second = X.tolil()
    second[:, d // 2 :] = 0
    second = second.tocsr()
    second.eliminate_zeros()
    return X, second


# Momentum lazily: its exact updates carry untouched columns at each call's end, which calls of 5
# rows round at other points.
@pytest.mark.parametrize("optimizer", ["adagrad", "adam", "momentum"])
def test_in_place_state_packed_or_not_gives_the_same_bits(optimizer):
    # A long call keeps its touched columns' coefficients and optimizer state side by side,
    # packed in the order it first touches them (float64, feature-major, updates ≥ d); calls of
    # 5 rows (fewer updates than d) update them where they lie. The same steps must give the
    # same bits, also for the columns (and state) that a packed call leaves untouched.
    first, second = _two_parts()
    y = np.arange(400) % 4
    kw = dict(
        loss="log_loss",
        optimizer=optimizer,
        learning_rate="constant",
        eta0=0.05,
        shuffle=False,
        tol=None,
        random_state=0,
        sparse_updates="lazy",
    )
    whole = SGDClassifier(max_iter=1, **kw).fit(first, y).partial_fit(second, y)
    chunked = SGDClassifier(**kw)
    for X in (first, second):
        for lo in range(0, 400, 5):
            chunked.partial_fit(X[lo : lo + 5], y[lo : lo + 5], classes=np.arange(4))
    assert np.count_nonzero(whole.coef_[:, 300:]) > 0
    np.testing.assert_array_equal(whole.coef_, chunked.coef_)
    np.testing.assert_array_equal(whole.intercept_, chunked.intercept_)


@pytest.mark.parametrize(
    "opt, penalty", [("momentum", "l2"), ("nesterov", "none"), ("adagrad", "none")]
)
def test_packed_calls_carry_untouched_columns_as_the_dense_kernel(opt, penalty):
    # The second call touches half the columns: exact momentum carries the others (in the
    # caller's arrays, never packed) by the steps' maps; Adagrad leaves them as they are.
    first, second = _two_parts(seed=3)
    y = np.arange(400) % 4
    results = []
    for sparse in (False, True):
        coef = np.zeros((4, 600), order="F" if sparse else "C")
        b = np.zeros(4)
        optimizer = optimizers.get_optimizer(opt)
        for epoch, X in enumerate((first, second)):
            ops.sgd_epoch(
                X if sparse else X.toarray(),
                y,
                coef,
                b,
                np.full(400, 0.05),
                batch_size=1,
                order=np.random.default_rng(epoch).permutation(400),
                loss="multinomial",
                penalty=penalty,
                alpha=0.01,
                optimizer=optimizer,
                sparse_updates="exact",
                n_threads=1,
            )
        results.append(coef)
    assert np.abs(results[0][:, 300:]).max() > 1e-3
    assert_close(results[1], results[0], np.float64)
