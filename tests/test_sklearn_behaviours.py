"""Where a scikit-learn user expects scikit-learn's behaviour: its per-sample L1 (the cumulative
penalty) and its zeros, its clamp of a very strong L2 decay, its parameters' domains and its
error messages. Each compares with scikit-learn 1.9 or a float64 NumPy reference."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import linear_model as sk
from sklearn.datasets import load_iris, make_classification, make_regression
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import (
    generate_invalid_param_val,
    generate_valid_param,
    make_constraint,
    validate_parameter_constraints,
)

from fastgd import SGDClassifier, SGDRegressor, ops
from fastgd._params import Boolean, check_param

import reference
from conftest import assert_close

# ---------------------------------------------------------------------------------------------
# 1. L1 at batch_size=1: scikit-learn's cumulative penalty, its model and its exact zeros
# ---------------------------------------------------------------------------------------------

# scikit-learn's test_sgd.py X4/Y4: two groups of three features, each marked by a constant one.
X4 = np.array(
    [
        [1, 0.9, 0.8, 0, 0, 0],
        [1, 0.84, 0.98, 0, 0, 0],
        [1, 0.96, 0.88, 0, 0, 0],
        [1, 0.91, 0.99, 0, 0, 0],
        [0, 0, 0, 0.89, 0.91, 1],
        [0, 0, 0, 0.79, 0.84, 1],
        [0, 0, 0, 0.91, 0.95, 1],
        [0, 0, 0, 0.93, 1, 1],
    ]
)
Y4 = np.array([1, 1, 1, 1, 2, 2, 2, 2])

FORMATS = {"dense": np.asarray, "csr": sp.csr_matrix}


def _assert_sklearns_model(ours, theirs):
    """coef_ to 1e-10 relative (float64), with exact zeros in the same places."""
    assert_close(ours.coef_, theirs.coef_, np.float64)
    assert_close(ours.intercept_, theirs.intercept_, np.float64, scale=np.abs(theirs.coef_).max())
    np.testing.assert_array_equal(ours.coef_ == 0, theirs.coef_ == 0)


@pytest.mark.parametrize("fmt", FORMATS)
def test_l1_gives_sklearns_zeros(fmt):
    # scikit-learn's test_sgd_l1: the proximal step left ±3e-4 in coef_[0, 1:-1].
    idx = np.arange(len(X4))
    np.random.RandomState(13).shuffle(idx)
    X, y = FORMATS[fmt](X4[idx]), Y4[idx]
    kw = dict(penalty="l1", alpha=0.2, fit_intercept=False, max_iter=2000, tol=None, shuffle=False)
    ours = SGDClassifier(**kw).fit(X, y)
    np.testing.assert_array_equal(ours.coef_[0, 1:-1], 0.0)
    np.testing.assert_array_equal(ours.predict(X), y)
    _assert_sklearns_model(ours, sk.SGDClassifier(**kw).fit(X, y))


def _sparse_rows(X, seed):
    """X with half its entries zero, so that a CSR row stores only some of the columns."""
    X = X.copy()
    X[np.random.default_rng(seed).random(X.shape) < 0.5] = 0
    return X


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("penalty", ["l1", "elasticnet"])
@pytest.mark.parametrize("learning_rate", ["optimal", "invscaling", "constant"])
@pytest.mark.parametrize("loss", ["hinge", "log_loss", "modified_huber"])
def test_classifier_l1_matches_sklearn(loss, learning_rate, penalty, fmt):
    X, y = make_classification(300, 12, n_informative=4, n_redundant=0, n_classes=3, random_state=0)
    X = FORMATS[fmt](_sparse_rows(StandardScaler().fit_transform(X), 0))
    # On sparse X scikit-learn damps the intercept's updates by 0.01 (a different algorithm):
    # no intercept there.
    kw = dict(penalty=penalty, alpha=0.01, l1_ratio=0.5, max_iter=5, tol=None, shuffle=False,
              learning_rate=learning_rate, eta0=0.05, fit_intercept=fmt == "dense")  # fmt: skip
    ours = SGDClassifier(loss=loss, multi_class="ovr", **kw).fit(X, y)
    theirs = sk.SGDClassifier(loss=loss, **kw).fit(X, y)
    _assert_sklearns_model(ours, theirs)
    assert (theirs.coef_ == 0).any()  # zeros to match


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("penalty", ["l1", "elasticnet"])
@pytest.mark.parametrize("loss", ["squared_error", "huber"])
def test_regressor_l1_matches_sklearn(loss, penalty, fmt):
    X, y = make_regression(300, 12, n_informative=4, noise=5.0, random_state=1)
    X = FORMATS[fmt](_sparse_rows(StandardScaler().fit_transform(X), 1))
    kw = dict(loss=loss, penalty=penalty, alpha=0.03, l1_ratio=0.5, max_iter=5, tol=None,
              shuffle=False, eta0=0.02, fit_intercept=fmt == "dense")  # fmt: skip
    ours = SGDRegressor(**kw).fit(X, y / y.std())
    theirs = sk.SGDRegressor(**kw).fit(X, y / y.std())
    _assert_sklearns_model(ours, theirs)
    assert (theirs.coef_ == 0).sum() >= 2


@pytest.mark.parametrize("fmt", FORMATS)
def test_l1_across_partial_fit_calls_matches_sklearn(fmt):
    # Each partial_fit starts the cumulative penalty anew, as scikit-learn's does.
    X, y = make_regression(200, 10, n_informative=3, noise=5.0, random_state=2)
    X = FORMATS[fmt](_sparse_rows(StandardScaler().fit_transform(X), 2))
    kw = dict(penalty="l1", alpha=0.02, learning_rate="constant", eta0=0.02, shuffle=False,
              fit_intercept=fmt == "dense")  # fmt: skip
    ours, theirs = SGDRegressor(**kw), sk.SGDRegressor(**kw)
    for _ in range(3):
        ours.partial_fit(X, y / y.std())
        theirs.partial_fit(X, y / y.std())
    _assert_sklearns_model(ours, theirs)


def test_l1_on_many_threads_matches_sklearn():
    # d large enough for a per-sample dense step to be split over threads (the general path).
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 14000))
    y = (X[:, :10].sum(1) > 0).astype(int)
    kw = dict(penalty="l1", alpha=0.05, max_iter=2, tol=None, shuffle=False)
    ours = SGDClassifier(n_jobs=2, **kw).fit(X, y)
    theirs = sk.SGDClassifier(**kw).fit(X, y)
    _assert_sklearns_model(ours, theirs)
    assert (theirs.coef_ == 0).mean() > 0.3


def test_l1_with_batches_keeps_the_proximal_step():
    # batch_size > 1 is not scikit-learn's algorithm: the exact proximal step of ops.sgd_epoch.
    X, y = make_regression(64, 6, noise=1.0, random_state=4)
    est = SGDRegressor(batch_size=8, penalty="l1", alpha=0.05, learning_rate="constant",
                       eta0=0.01, max_iter=1, tol=None, shuffle=False).fit(X, y)  # fmt: skip
    w, b, _ = reference.sgd_epoch(X, y, np.zeros(6), 0.0, np.full(8, 0.01), batch_size=8,
                                  loss="squared_error", penalty="l1", alpha=0.05, l1_ratio=0.15,
                                  epsilon=0.1)  # fmt: skip
    assert_close(est.coef_, w, np.float64)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("penalty", ["l1", "elasticnet"])
def test_ops_cumulative_follows_the_reference(penalty, fmt):
    rng = np.random.default_rng(5)
    X = _sparse_rows(rng.standard_normal((80, 9)), 5)
    y = X @ rng.standard_normal(9) + 0.1 * rng.standard_normal(80)
    order = rng.permutation(80)
    # Some steps with lr·l2 ≥ 1 (clamped, and on CSR applied densely) between lazy ones.
    lrs = np.where(np.arange(80) % 11 == 5, 2.0, 0.05)
    kw = dict(loss="squared_error", penalty=penalty, alpha=0.6, l1_ratio=0.3, epsilon=0.1)
    coef, intercept = np.full(9, 0.1), np.array([0.2])
    ops.sgd_epoch(FORMATS[fmt](X), y, coef, intercept, lrs, batch_size=1, order=order,
                  l1_method="cumulative", **kw)  # fmt: skip
    w, b, _ = reference.sgd_epoch(X, y, np.full(9, 0.1), 0.2, lrs, batch_size=1, order=order,
                                  l1_method="cumulative",
                                  stored=None if fmt == "dense" else X != 0, **kw)  # fmt: skip
    assert_close(coef, w, np.float64)
    assert_close(intercept, [b], np.float64, scale=np.abs(w).max())
    np.testing.assert_array_equal(coef == 0, w == 0)


def test_ops_cumulative_needs_per_sample_plain_sgd():
    X, y, w, b = np.ones((4, 2)), np.ones(4), np.zeros(2), np.zeros(1)
    for kw in (dict(batch_size=2), dict(batch_size=1, optimizer="adam")):
        with pytest.raises(ValueError, match="l1_method='cumulative' needs batch_size=1"):
            ops.sgd_epoch(X, y, w, b, np.ones(4), penalty="l1", l1_method="cumulative", **kw)
    with pytest.raises(ValueError, match="l1_method"):
        ops.sgd_epoch(X, y, w, b, np.ones(4), batch_size=1, l1_method="truncated")
    np.testing.assert_array_equal(w, 0.0)  # no work was done


# ---------------------------------------------------------------------------------------------
# 2. A very strong L2 penalty: the decay factor max(0, 1 − lr·α(1−ρ)), as scikit-learn's
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("penalty", ["l2", "elasticnet"])
def test_strong_l2_is_clamped_as_sklearn(penalty, fmt):
    X, y = load_iris(return_X_y=True)
    kw = dict(alpha=1e5, penalty=penalty, learning_rate="constant", eta0=0.1, tol=None,
              max_iter=6, shuffle=False, fit_intercept=fmt == "dense")  # fmt: skip
    ours = SGDClassifier(multi_class="ovr", **kw).fit(FORMATS[fmt](X), y)
    theirs = sk.SGDClassifier(**kw).fit(FORMATS[fmt](X), y)
    np.testing.assert_array_equal(ours.coef_, theirs.coef_)  # zeros, both
    assert_close(ours.intercept_, theirs.intercept_, np.float64)


@pytest.mark.parametrize("fmt", FORMATS)
def test_strong_l2_on_shuffled_rows_matches_sklearn(fmt):
    # The last step's gradient survives its clamp: non-zero coefficients, as scikit-learn's.
    X, y = make_regression(50, 4, noise=1.0, random_state=6)
    kw = dict(alpha=50.0, learning_rate="constant", eta0=0.05, tol=None, max_iter=3,
              shuffle=False, fit_intercept=False)  # fmt: skip
    ours = SGDRegressor(**kw).fit(FORMATS[fmt](X), y / y.std())
    theirs = sk.SGDRegressor(**kw).fit(FORMATS[fmt](X), y / y.std())
    assert np.abs(theirs.coef_).max() > 0
    assert_close(ours.coef_, theirs.coef_, np.float64)


@pytest.mark.parametrize("batch_size", [1, 3, 20])
@pytest.mark.parametrize("fmt", FORMATS)
def test_ops_clamps_the_decay_at_any_batch_size(fmt, batch_size):
    rng = np.random.default_rng(7)
    X = _sparse_rows(rng.standard_normal((60, 8)), 7)
    y = X @ rng.standard_normal(8)
    n_steps = ops.n_steps(60, batch_size)
    lrs = np.where(np.arange(n_steps) % 4 == 1, 3.0, 0.05)  # lr·l2 = 3 on some steps
    kw = dict(loss="squared_error", penalty="elasticnet", alpha=1.0, l1_ratio=0.2, epsilon=0.1)
    coef, intercept = np.full(8, 0.5), np.array([0.1])
    ops.sgd_epoch(FORMATS[fmt](X), y, coef, intercept, lrs, batch_size=batch_size, **kw)
    w, b, _ = reference.sgd_epoch(X, y, np.full(8, 0.5), 0.1, lrs, batch_size=batch_size, **kw)
    assert_close(coef, w, np.float64)
    assert_close(intercept, [b], np.float64, scale=np.abs(w).max())


@pytest.mark.parametrize("fmt", FORMATS)
def test_softmax_clamps_the_decay(fmt):
    # The softmax's epochs (the general CSR epoch on sparse X) clamp as the linear models do.
    rng = np.random.default_rng(11)
    X = _sparse_rows(rng.standard_normal((40, 6)), 11)
    y = rng.integers(0, 3, 40)
    lrs = np.where(np.arange(10) % 3 == 1, 2.5, 0.1)  # lr·l2 = 2.5 on some steps
    kw = dict(penalty="elasticnet", alpha=1.0, l1_ratio=0.1)
    W, b = np.full((3, 6), 0.3), np.zeros(3)
    ops.sgd_epoch(FORMATS[fmt](X), y, W, b, lrs, batch_size=4, loss="multinomial", **kw)
    W_ref, b_ref, _ = reference.softmax_epoch(X, y, np.full((3, 6), 0.3), np.zeros(3), lrs,
                                              batch_size=4, **kw)  # fmt: skip
    assert_close(W, W_ref, np.float64)
    assert_close(b, b_ref, np.float64, scale=np.abs(W_ref).max())


# ---------------------------------------------------------------------------------------------
# 3. scikit-learn 1.9's parameters: the same values accepted and refused
# ---------------------------------------------------------------------------------------------

PAIRS = {
    "classifier": (SGDClassifier, sk.SGDClassifier),
    "regressor": (SGDRegressor, sk.SGDRegressor),
}


def _probes(constraints):
    """Values to try: a valid and an invalid one per scikit-learn domain, and the usual suspects
    (bounds, wrong kinds, non-finite numbers, NumPy scalars, option names)."""
    values = [None, True, False, 0, 1, -1, 2, 0.0, 0.5, 1.0, 1.5, -0.5, 2**32, np.inf, -np.inf]
    values += [np.nan, np.int64(3), np.float32(0.5), np.bool_(True), "l2", "none", "hinge"]
    values += ["balanced", "auto", "pa1", "perceptron", {}, {0: 1.0}, [1], np.random.RandomState(0)]
    values.append(lambda steps: 0.01 + 0 * steps)
    for c in map(make_constraint, constraints):
        values.append(generate_valid_param(c))
        try:
            values.append(generate_invalid_param_val(c))
        except NotImplementedError:  # no value outside this domain
            pass
    return values


def _deliberate(name, value, constraints):
    """fastgd's answer where it deliberately differs from scikit-learn's, with the reason."""
    if isinstance(value, (bool, np.bool_)) and not any(isinstance(c, Boolean) for c in constraints):
        return False, "a bool is not a number here (alpha=True is a mistake, not alpha=1)"
    if name == "penalty" and isinstance(value, str) and value == "none":
        return True, "'none' is also accepted: it is what fastgd.ops calls no penalty"
    if name == "learning_rate" and callable(value):
        return True, "fastgd takes schedule objects and callables of step indices"
    if name == "learning_rate" and isinstance(value, str) and value == "auto":
        return True, "learning_rate='auto' takes the rate from the data (docs/learning_rate.md)"
    if name == "learning_rate" and isinstance(value, str) and value in ("pa1", "pa2"):
        return False, "passive-aggressive steps (scikit-learn 1.8) are not implemented"
    if name == "loss" and isinstance(value, str) and value == "perceptron":
        return False, "the perceptron loss is not one of fastgd's kernels"
    if isinstance(value, float) and np.isinf(value):
        return (
            False,
            "fastgd's real parameters are finite (inf has no use, and the kernels need it)",
        )
    if name == "n_jobs" and isinstance(value, int) and value == 0:
        return (
            False,
            "n_jobs=0 names no thread count (joblib refuses it where scikit-learn uses it)",
        )
    return None


def _sklearn_accepts(name, value, constraints):
    try:
        validate_parameter_constraints({name: constraints}, {name: value}, caller_name="probe")
    except (TypeError, ValueError):
        return False
    return True


def _fastgd_accepts(name, value, constraints):
    try:
        check_param(value, name, constraints)
    except (TypeError, ValueError):
        return False
    return True


def _shared(kind):
    ours, theirs = PAIRS[kind]
    return sorted(set(ours._parameter_constraints) & set(theirs._parameter_constraints))


@pytest.mark.parametrize("kind, name", [(kind, name) for kind in PAIRS for name in _shared(kind)])
def test_parameter_domains_match_sklearn(kind, name):
    ours, theirs = PAIRS[kind]
    sk_constraints = theirs._parameter_constraints[name]
    constraints = ours._parameter_constraints[name]
    differ = []
    for value in _probes(sk_constraints):
        accepted = _fastgd_accepts(name, value, constraints)
        deliberate = _deliberate(name, value, constraints)
        if deliberate is not None:
            assert accepted == deliberate[0], (value, deliberate[1])
        elif accepted != _sklearn_accepts(name, value, sk_constraints):
            differ.append((value, accepted))
    assert not differ, f"{name}: (value, fastgd accepts) where scikit-learn answers otherwise"


@pytest.mark.parametrize("kind", PAIRS)
def test_defaults_match_sklearn(kind):
    ours, theirs = PAIRS[kind]
    mine, sks = ours().get_params(), theirs().get_params()
    assert {k: mine[k] for k in _shared(kind)} == {k: sks[k] for k in _shared(kind)}


@pytest.mark.parametrize("kind", PAIRS)
def test_l1_ratio_none(kind):
    ours, theirs = PAIRS[kind]
    X, y = make_classification(60, 5, random_state=8)
    kw = dict(max_iter=3, tol=None, shuffle=False)
    for penalty in ("l1", "l2", None):  # ignored: the same model as with any l1_ratio
        a = ours(penalty=penalty, l1_ratio=None, **kw).fit(X, y)
        b = ours(penalty=penalty, l1_ratio=0.7, **kw).fit(X, y)
        np.testing.assert_array_equal(a.coef_, b.coef_)
    message = "l1_ratio must be set when penalty is 'elasticnet'"
    with pytest.raises(ValueError, match=message):
        theirs(penalty="elasticnet", l1_ratio=None).fit(X, y)
    with pytest.raises(ValueError, match=message):
        ours(penalty="elasticnet", l1_ratio=None).fit(X, y)


@pytest.mark.parametrize("kind", PAIRS)
def test_negative_power_t_warns_as_sklearn(kind):
    ours, theirs = PAIRS[kind]
    X, y = make_classification(60, 5, random_state=9)
    kw = dict(power_t=-0.5, learning_rate="invscaling", eta0=1e-3, max_iter=2, tol=None,
              shuffle=False)  # fmt: skip
    message = "Negative values for `power_t` are deprecated"
    with pytest.warns(FutureWarning, match=message):
        theirs_model = theirs(**kw).fit(X, y)
    with pytest.warns(FutureWarning, match=message):
        ours_model = ours(**kw).fit(X, y)
    assert_close(ours_model.coef_, theirs_model.coef_, np.float64)  # the rate grows, as theirs


# ---------------------------------------------------------------------------------------------
# 4. What both refuse, refused with scikit-learn's key phrase in fastgd's message
# ---------------------------------------------------------------------------------------------

_X = np.random.default_rng(10).standard_normal((30, 4))
_Y3 = np.arange(30) % 3

REFUSALS = [
    # (id, a call on an estimator class, scikit-learn's phrase): run on both classes
    ("coef_init-binary", lambda E: E().fit(_X, _Y3 % 2, coef_init=np.zeros(3)),
     "Provided coef_init does not match dataset"),
    ("coef_init-ovr", lambda E: E().fit(_X, _Y3, coef_init=np.zeros((3, 3))),
     "does not match dataset"),
    ("intercept_init", lambda E: E().fit(_X, _Y3, intercept_init=np.zeros(2)),
     "Provided intercept_init does not match dataset"),
    ("balanced-partial_fit",
     lambda E: E(class_weight="balanced").partial_fit(_X, _Y3, classes=[0, 1, 2]),
     "class_weight 'balanced' is not supported for partial_fit"),
    ("early_stopping-partial_fit",
     lambda E: E(early_stopping=True).partial_fit(_X, _Y3, classes=[0, 1, 2]),
     "early_stopping should be False with partial_fit"),
]  # fmt: skip


@pytest.mark.parametrize("call, phrase", [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_refusals_carry_sklearns_phrase(call, phrase):
    with pytest.raises(ValueError, match=phrase):
        call(sk.SGDClassifier)
    with pytest.raises(ValueError, match=phrase):
        call(SGDClassifier)


@pytest.mark.parametrize(
    "call, phrase",
    [
        (lambda E: E().fit(_X, _X[:, 0], coef_init=np.zeros(3)), "Provided coef_init does not"),
        (lambda E: E().fit(_X, _X[:, 0], intercept_init=np.zeros(2)), "Provided intercept_init"),
        (lambda E: E(early_stopping=True).partial_fit(_X, _X[:, 0]), "early_stopping should be"),
    ],
    ids=["coef_init", "intercept_init", "early_stopping-partial_fit"],
)
def test_regressor_refusals_carry_sklearns_phrase(call, phrase):
    with pytest.raises(ValueError, match=phrase):
        call(sk.SGDRegressor)
    with pytest.raises(ValueError, match=phrase):
        call(SGDRegressor)
