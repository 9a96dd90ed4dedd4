"""fastgd.path against scikit-learn's enet_path (coordinate descent) and LogisticRegression, the
α_max rule for every kind of loss, and the warm start."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

sklearn = pytest.importorskip("sklearn")
from scipy.optimize import minimize  # noqa: E402
from scipy.special import expit  # noqa: E402
from sklearn.linear_model import enet_path  # noqa: E402

import fastgd  # noqa: E402
from fastgd import _path  # noqa: E402


def _regression(n=300, d=12, rho=0.7, seed=0):
    """Standardized features with correlation rho^|i−j| (an ill-conditioned design, where the
    warm start matters), up to three informative ones (0, 3, 7), centered y."""
    rng = np.random.default_rng(seed)
    cov = rho ** np.abs(np.subtract.outer(np.arange(d), np.arange(d)))
    X = rng.standard_normal((n, d)) @ np.linalg.cholesky(cov).T
    w = np.zeros(d)
    for j, value in ((0, 1.5), (3, -2.0), (7, 1.0)):
        if j < d:
            w[j] = value
    y = X @ w + rng.standard_normal(n)
    return (X - X.mean(0)) / X.std(0), y - y.mean()


def _sklearn_path(X, y, l1_ratio, n_alphas):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # n_alphas's deprecation in 1.9
        alphas, coefs, _ = enet_path(
            X, y, l1_ratio=l1_ratio, n_alphas=n_alphas, eps=1e-3, tol=1e-14, max_iter=10**6
        )
    return alphas, coefs


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_matches_enet_path(l1_ratio, sparse):
    """The same α grid (scikit-learn's _alpha_grid, to rounding), and the same optima: both
    solve one convex problem per α, coordinate descent to 1e-14 and full-batch proximal
    gradient descent until 5 epochs improve the objective by less than tol·F₀ = 1e-10 × the
    zero model's objective (about 3 here) — which
    leaves |w − w*| ≈ √(2·tol/μ) ≈ 1e-5 in the flattest direction (μ: the smallest curvature),
    hence atol=1e-4. The proximal step gives exact zeros: the supports agree wherever no
    coefficient is within that error of entering (all but at most 10% of the alphas)."""
    X, y = _regression()
    alphas, coefs = _sklearn_path(X, y, l1_ratio, 30)
    res = fastgd.path(
        sp.csr_matrix(X) if sparse else X, y, l1_ratio=l1_ratio, n_alphas=30, tol=1e-10
    )
    np.testing.assert_allclose(res.alphas, alphas, rtol=1e-12)
    assert res.coefs.shape == coefs.shape == (12, 30)
    np.testing.assert_allclose(res.coefs, coefs, atol=1e-4)
    np.testing.assert_allclose(res.intercepts, 0.0, atol=1e-6)  # centered y
    same_support = ((res.coefs != 0) == (coefs != 0)).all(axis=0)
    assert same_support.mean() >= 0.9
    a, c = res  # unpacks as enet_path's first two results
    assert a is res.alphas and c is res.coefs


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_alpha_max_is_sklearns_with_an_intercept(weighted):
    """Uncentered X and y: α_max = max|X_cᵀ y_c| / (n·ρ), the intercept absorbing the means; with
    sample weights s, max|Σ s_i·x_i·(y_i − ȳ_s)| / (n·ρ), ȳ_s the weighted mean (the objective
    is (1/n) Σ s_i·L_i)."""
    X, y = _regression(n=200, d=6)
    X, y = X * [1, 2, 3, 4, 5, 6] + 3.0, y + 10.0
    sw = np.random.default_rng(3).uniform(0.2, 3.0, len(y)) if weighted else np.ones(len(y))
    expected = np.abs(X.T @ (sw * (y - np.average(y, weights=sw)))).max() / (len(y) * 0.25)
    res = fastgd.path(
        X, y, l1_ratio=0.25, n_alphas=3, eps=0.5, tol=1e-3, sample_weight=sw if weighted else None
    )
    np.testing.assert_allclose(res.alphas[0], expected, rtol=1e-12)
    np.testing.assert_allclose(res.intercepts[0], np.average(y, weights=sw), rtol=1e-14)


@pytest.mark.parametrize(
    "loss, n_classes",
    [("log_loss", 2), ("log_loss", 3), ("squared_hinge", 3), ("modified_huber", 2), ("huber", 0)],
)
def test_alpha_max_is_where_the_first_feature_enters(loss, n_classes):
    """At α_max every coefficient is zero; 3% below it, one is not — for the differentiable
    losses whose best intercept has a closed form (the softmax) and those where it is found by
    bisection. (For hinge and epsilon_insensitive, α_max takes the kernel's derivative at the
    kink, one subgradient of several: an estimate.)"""
    X, y = _regression(n=240, d=5, seed=1)
    if n_classes:
        y = np.digitize(y, np.quantile(y, np.linspace(0, 1, n_classes + 1)[1:-1]))
    res = fastgd.path(X, y, loss=loss, alphas=None, n_alphas=2, eps=0.97, tol=1e-9)
    first, second = np.moveaxis(res.coefs, -1, 0)
    assert not first.any()
    assert second.any()
    if n_classes:
        assert res.coefs.shape == ((1 if n_classes == 2 else n_classes), 5, 2)


def _l1_logistic(X, y, alpha):
    """argmin (1/n) Σ log(1 + exp(−t_i(x_i·w + b))) + α‖w‖₁, t = ±1: L-BFGS-B with w = u − v,
    u, v ≥ 0, which makes the L1 term smooth (α·Σ(u + v)) and holds the zeros by its bounds."""
    n, d = X.shape
    t = np.where(y > 0, 1.0, -1.0)

    def f(z):
        w, b = z[:d] - z[d : 2 * d], z[-1]
        m = t * (X @ w + b)
        g = -t * expit(-m) / n
        value = np.logaddexp(0.0, -m).mean() + alpha * z[: 2 * d].sum()
        gw = X.T @ g
        return value, np.concatenate([gw + alpha, -gw + alpha, [g.sum()]])

    bounds = [(0.0, None)] * (2 * d) + [(None, None)]
    z = minimize(
        f,
        np.zeros(2 * d + 1),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"ftol": 0.0, "gtol": 1e-12, "maxiter": 10**5},
    ).x
    return z[:d] - z[d : 2 * d], z[-1]


def test_logistic_path_matches_a_reference():
    """L1 logistic regression: the optimum of each α, as L-BFGS-B finds it; coefficients within
    the stopping rule's error at tol=1e-11 (see test_matches_enet_path)."""
    X, y = _regression(n=200, d=6, seed=2)
    y = (y > 0).astype(int)
    res = fastgd.path(X, y, loss="log_loss", n_alphas=5, eps=0.05, tol=1e-11, max_iter=20000)
    for k, a in enumerate(res.alphas):
        w, b = _l1_logistic(X, y, a)
        np.testing.assert_allclose(res.coefs[0, :, k], w, atol=2e-4)
        np.testing.assert_allclose(res.intercepts[0, k], b, atol=2e-4)


def test_warm_start_saves_epochs():
    """Each fit starts from the previous α's coefficients: fewer epochs than the same fits from
    zero (n_iter_ of each, at the default tol), and no less accurate (against enet_path)."""
    X, y = _regression()
    _, reference = _sklearn_path(X, y, 1.0, 20)
    res = fastgd.path(X, y, n_alphas=20)
    lasso = fastgd.SGDRegressor(penalty="elasticnet", l1_ratio=1.0, **_path.PATH_DEFAULTS)
    start = _path.probe(lasso, X, y)
    assert not start.zero.coef_.any()
    assert start.zero.intercept_[0] == pytest.approx(y.mean(), abs=1e-15)
    assert start.zero_objective == pytest.approx(0.5 * np.mean((y - y.mean()) ** 2), rel=1e-12)
    assert start.alpha_max == res.alphas[0]
    params = dict(
        _path.PATH_DEFAULTS,
        tol=1e-7 * start.zero_objective,  # path()'s default tol, relative to F₀
        learning_rate="constant",
        eta0=1 / start.smoothness.L_B,
    )
    cold = [
        fastgd.SGDRegressor(penalty="elasticnet", l1_ratio=1.0, alpha=a, **params).fit(X, y)
        for a in res.alphas
    ]
    assert res.n_iter.sum() < 0.8 * sum(est.n_iter_ for est in cold)
    cold_error = np.abs(np.array([e.coef_ for e in cold]).T - reference).max()
    assert np.abs(res.coefs - reference).max() <= cold_error


def test_entry_alphas_and_names():
    pd = pytest.importorskip("pandas")
    X, y = _regression(d=8)
    names = [f"f{j}" for j in range(8)]
    res = fastgd.path(pd.DataFrame(X, columns=names), y, n_alphas=15)
    assert list(res.feature_names) == names
    entry = res.entry_alphas
    for j in range(8):
        nonzero = np.flatnonzero(res.coefs[j])
        if nonzero.size:
            assert entry[j] == res.alphas[nonzero[0]]
        else:
            assert np.isnan(entry[j])
    order = res.entry_order()
    assert order[0][0] == names[np.argmax(np.abs(X.T @ y))]  # the most correlated first
    assert [a for _, a in order] == sorted((a for _, a in order), reverse=True)
    assert "f3" in repr(res)


def test_given_alphas_are_sorted_down():
    X, y = _regression(n=100, d=4)
    res = fastgd.path(X, y, alphas=[0.01, 0.1, 0.05])
    np.testing.assert_array_equal(res.alphas, [0.1, 0.05, 0.01])
    assert res.coefs.shape == (4, 3)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(l1_ratio=0.0), ValueError, "l1_ratio"),
        (dict(l1_ratio=1.5), ValueError, "l1_ratio"),
        (dict(n_alphas=0), ValueError, "n_alphas"),
        (dict(eps=0.0), ValueError, "eps"),
        (dict(alphas=[]), ValueError, "alphas"),
        (dict(alphas=[0.1, -1.0]), ValueError, "alphas"),
        (dict(loss="nope"), ValueError, "loss"),
        (dict(alpha=0.1), TypeError, "alpha"),
        (dict(penalty="l2"), TypeError, "penalty"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    X, y = _regression(n=50, d=3)
    with pytest.raises(error, match=match):
        fastgd.path(X, y, **kwargs)


def test_one_convergence_warning_for_the_path():
    from sklearn.exceptions import ConvergenceWarning

    X, y = _regression(n=100, d=4)
    with pytest.warns(ConvergenceWarning, match="of the path's 5 fits reached max_iter=2") as got:
        fastgd.path(X, y, n_alphas=5, max_iter=2)
    assert len(got) == 1
