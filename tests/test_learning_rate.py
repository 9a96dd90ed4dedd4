"""Choosing the learning rate: the smoothness behind learning_rate="auto" (power iterations
against numpy.linalg.eigvalsh, Gower et al.'s L_B), the schedule, the estimators with "auto"
(scikit-learn's checks, unscaled data, digits) and the range test fastgd.lr_find."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import fastgd
from fastgd import SGDClassifier, SGDRegressor, _auto_rate, _core, schedules

from conftest import CLASSIFICATION_LOSSES, REGRESSION_LOSSES


def gram_reference(X, sw=None, c=1.0):
    """λ_max of X̃ᵀSX̃/n and max_i s_i‖x̃_i‖², float64 (X̃ = [X, c·1])."""
    X = X.toarray() if sp.issparse(X) else np.asarray(X)
    X = X.astype(np.float64)
    n = X.shape[0]
    Xt = np.hstack([X, np.full((n, 1), c)])
    s = np.ones(n) if sw is None else np.asarray(sw, dtype=np.float64)
    A = (Xt * s[:, None]).T @ Xt / n
    return np.linalg.eigvalsh(A)[-1], float(np.max(s * (Xt**2).sum(1)))


def unscaled(n, d, seed=0, dtype=np.float64):
    """Features of mean 100 and scale 1e3: what breaks a fixed rate."""
    rng = np.random.default_rng(seed)
    X = 100.0 + 1e3 * rng.standard_normal((n, d)) * rng.uniform(0.1, 1.0, d)
    return X.astype(dtype), rng


# ---------------------------------------------------------------------------------------------
# Power iterations and row norms (the compiled core)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["dense", "csr", "csr64"])
@pytest.mark.parametrize("weights", [False, True])
@pytest.mark.parametrize("c", [0.0, 1.0, 0.1])
def test_gram_bounds_match_eigvalsh(kind, weights, c, dtype):
    rng = np.random.default_rng(1)
    n, d = 300, 40
    X = rng.standard_normal((n, d)) * rng.uniform(0.1, 3.0, d) + rng.uniform(-2, 2, d)
    X[rng.random((n, d)) < (0.7 if kind != "dense" else 0.0)] = 0.0
    X = X.astype(dtype)
    sw = rng.uniform(0.0, 3.0, n).astype(dtype) if weights else None
    data = X
    if kind != "dense":
        data = sp.csr_matrix(X)
        if kind == "csr64":
            data.indices = data.indices.astype(np.int64)
            data.indptr = data.indptr.astype(np.int64)
    u = rng.uniform(0.0, 2.0, n).astype(dtype)
    lam, max_row, noise, it = _core.gram_bounds(
        data, sw, noise_weight=u, intercept_scale=c, n_threads=2, max_iter=500, rtol=1e-9
    )
    ref_lam, ref_max = gram_reference(X, sw, c)
    X64 = X.astype(np.float64)
    ref_noise = np.mean(u.astype(np.float64) * ((X64**2).sum(1) + c * c))
    rtol = 1e-6 if dtype == np.float64 else 1e-4
    assert lam <= ref_lam * (1 + rtol)  # ‖Av‖ from below
    np.testing.assert_allclose(lam, ref_lam, rtol=rtol)
    np.testing.assert_allclose(max_row, ref_max, rtol=rtol)
    np.testing.assert_allclose(noise, ref_noise, rtol=rtol)
    assert 1 <= it <= 500


def test_gram_bounds_default_tolerance_close_and_cheap():
    # Unscaled and correlated: the defaults (≤ 10 passes, rtol 1e-2) land within 2% of λ_max.
    X, _ = unscaled(2000, 30)
    lam, _, _, it = _core.gram_bounds(X, None, intercept_scale=1.0, max_iter=10, rtol=1e-2)
    ref_lam, _ = gram_reference(X)
    assert 0.98 * ref_lam <= lam <= ref_lam * (1 + 1e-9)
    assert it <= 10


@pytest.mark.parametrize("n", [500, 120_000])  # passes of one part only, and of two
def test_gram_bounds_same_bits_for_a_thread_count_and_csr_equals_dense(n):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((n, 20))
    u = rng.uniform(0.0, 1.0, n)
    a = _core.gram_bounds(X, noise_weight=u, n_threads=2, max_iter=5, rtol=0.0)
    assert a == _core.gram_bounds(X, noise_weight=u, n_threads=2, max_iter=5, rtol=0.0)
    b = _core.gram_bounds(sp.csr_matrix(X), noise_weight=u, n_threads=1, max_iter=5, rtol=0.0)
    np.testing.assert_allclose(a[:3], b[:3], rtol=1e-12)


def test_gram_bounds_without_power_iterations_only_the_row_norms():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((400, 6))
    u = rng.uniform(0.0, 1.0, 400)
    lam, max_row, noise, it = _core.gram_bounds(X, noise_weight=u, max_iter=0)
    assert (lam, it) == (0.0, 0)
    _, ref_max, ref_noise, _ = _core.gram_bounds(X, noise_weight=u, max_iter=3)
    assert (max_row, noise) == (ref_max, ref_noise)


@pytest.mark.parametrize("sparse", [False, True])
def test_gram_bounds_row_step_reads_a_strided_sample(sparse):
    # λ_max from every 7th row (the power iterations' sample); the row norms from all rows.
    rng = np.random.default_rng(5)
    X = rng.standard_normal((1000, 8)) * rng.uniform(0.5, 2.0, 8) + 1.0
    sw = rng.uniform(0.5, 2.0, 1000)
    data = sp.csr_matrix(X) if sparse else X
    lam, max_row, _, _ = _core.gram_bounds(data, sw, row_step=7, max_iter=300, rtol=0)
    np.testing.assert_allclose(lam, gram_reference(X[::7], sw[::7])[0], rtol=1e-9)
    np.testing.assert_allclose(max_row, gram_reference(X, sw)[1], rtol=1e-12)
    # The sample's estimate is close to the whole data's for rows drawn alike.
    assert lam == pytest.approx(gram_reference(X, sw)[0], rel=0.1)


def test_gram_bounds_repeated_csr_indices_add_up():
    # Row 0 stores column 1 twice (1 + 2 = 3): its norm is 3² + 1, not 1² + 2² + 1.
    X = sp.csr_matrix(
        (np.array([1.0, 2.0, 1.0]), np.array([1, 1, 0]), np.array([0, 2, 3])), shape=(2, 2)
    )
    _, max_row, _, _ = _core.gram_bounds(X, intercept_scale=1.0)
    assert max_row == pytest.approx(10.0)
    lam, _, _, _ = _core.gram_bounds(X, intercept_scale=1.0, max_iter=200, rtol=0)
    assert lam == pytest.approx(gram_reference(X.toarray())[0], rel=1e-9)


def test_gram_bounds_zero_data():
    lam, max_row, _, _ = _core.gram_bounds(np.zeros((5, 3)), intercept_scale=0.0)
    assert lam == 0.0 and max_row == 0.0


@pytest.mark.parametrize(
    "kwargs, exc, name",
    [
        (dict(intercept_scale=-1.0), ValueError, "intercept_scale"),
        (dict(n_threads=0), ValueError, "n_threads"),
        (dict(max_iter=-1), ValueError, "max_iter"),
        (dict(row_step=0), ValueError, "row_step"),
        (dict(rtol=float("nan")), ValueError, "rtol"),
    ],
)
def test_gram_bounds_bad_arguments(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        _core.gram_bounds(np.ones((3, 2)), **kwargs)


def test_gram_bounds_bad_inputs():
    with pytest.raises(ValueError, match="sample_weight"):
        _core.gram_bounds(np.ones((3, 2)), np.array([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="sample_weight"):
        _core.gram_bounds(np.ones((3, 2)), np.ones(2))
    with pytest.raises(TypeError, match="sample_weight"):
        _core.gram_bounds(np.ones((3, 2)), np.ones(3, dtype=np.float32))  # X's dtype, no copy
    with pytest.raises(ValueError, match="NaN"):
        _core.gram_bounds(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="noise_weight"):
        _core.gram_bounds(np.ones((3, 2)), noise_weight=np.array([1.0, np.inf, 1.0]))


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_gram_bounds_pass_refuses_non_finite_values_in_any_row(sparse, dtype, bad):
    # The row norms' pass checks X's values (a fit with learning_rate="auto" scans X only
    # there): the first bad row is named, on a zero-weight row too, on every part of X.
    X = np.random.default_rng(3).standard_normal((5000, 4)).astype(dtype)
    for row in (0, 2500, 4999):
        Y = X.copy()
        Y[row, 1] = bad
        sw = np.ones(5000, dtype)
        sw[row] = 0.0
        data = sp.csr_matrix(Y) if sparse else Y
        word = "NaN" if np.isnan(bad) else "infinity"
        where = rf"X.data\[{row * 4 + 1}\]" if sparse else rf"first in row {row}"
        with pytest.raises(ValueError, match=rf"Input X contains {word} \({where}\)"):
            _core.gram_bounds(data, sw, n_threads=2, max_iter=0)
        # Not asked to check: no error, and a non-finite norm.
        _core.gram_bounds(data, sw, n_threads=2, max_iter=0, check_finite=False)


def test_gram_bounds_overflowing_squares_are_finite_values():
    # A square that overflows (|x| > 1.3e154 in float64) is not a non-finite value: no X error,
    # and learning_rate="auto" names the overflow.
    X = np.full((10, 2), 1e200)
    _, max_row, _, _ = _core.gram_bounds(X, max_iter=0)
    assert max_row == math.inf
    with pytest.raises(ValueError, match="overflow"):
        _auto_rate.smoothness(X, loss="squared_error", batch_size=1)


def test_auto_fit_scans_x_once(monkeypatch):
    # With "auto", the smoothness' pass checks X, and the fit's prepared problem does not scan
    # it again; with a given rate, the prepared problem scans it.
    from fastgd import _solver

    seen = []
    real = _solver.prepare_problem

    def spy(*args, **kwargs):
        seen.append(kwargs["check_input"])
        return real(*args, **kwargs)

    monkeypatch.setattr(_solver, "prepare_problem", spy)
    X = np.random.default_rng(4).standard_normal((60, 3))
    y = X @ [1.0, 2.0, 3.0]
    est = SGDRegressor(learning_rate="auto", max_iter=2, tol=None).fit(X, y)
    SGDRegressor(max_iter=2, tol=None).fit(X, y)
    est.partial_fit(X, y)  # continues the schedule: no smoothness pass, so the problem scans
    assert seen == [False, True, True]
    bad = X.copy()
    bad[7, 2] = np.nan
    coef = est.coef_.copy()
    with pytest.raises(ValueError, match=r"Input X contains NaN \(first in row 7\)"):
        est.fit(bad, y)
    np.testing.assert_array_equal(est.coef_, coef)


# ---------------------------------------------------------------------------------------------
# L, L_max and L_B
# ---------------------------------------------------------------------------------------------


def test_loss_curvatures_from_the_kinds_table():
    expected = {
        "squared_error": 1.0,
        "huber": 1.0,
        "epsilon_insensitive": 1.0,
        "squared_epsilon_insensitive": 2.0,
        "log_loss": 0.25,
        "hinge": 1.0,
        "squared_hinge": 2.0,
        "modified_huber": 2.0,
        "multinomial": 0.5,
    }
    assert {k: _core.loss_curvature(v) for k, v in _core.Loss.__members__.items()} == expected
    # Smooth losses: the bound is the supremum of the finite-difference second derivative.
    p = np.linspace(-4, 4, 4001)
    for loss in ("squared_error", "huber", "log_loss", "squared_hinge", "modified_huber"):
        _, g = fastgd.ops.loss_and_derivative(p, np.ones_like(p), loss=loss, epsilon=1.0)
        assert np.max(np.abs(np.diff(g) / np.diff(p))) <= expected[loss] * (1 + 1e-6)
        assert np.max(np.abs(np.diff(g) / np.diff(p))) >= expected[loss] * 0.99


@pytest.mark.parametrize("n, B", [(100, 1), (100, 10), (100, 100), (100, 500), (7, 3)])
def test_expected_smoothness_is_gowers_formula(n, B):
    L, L_max = 2.0, 30.0
    got = _auto_rate.expected_smoothness(L, L_max, n, B)
    b = min(B, n)
    expected = n * (b - 1) / (b * (n - 1)) * L + (n - b) / (b * (n - 1)) * L_max
    assert got == pytest.approx(expected, rel=1e-14)
    assert L <= got <= L_max
    assert _auto_rate.expected_smoothness(L, L_max, n, 1) == pytest.approx(L_max)
    assert _auto_rate.expected_smoothness(L, L_max, n, n) == pytest.approx(L)


@pytest.mark.parametrize("B", [1, 3, 10, 40])
def test_expected_smoothness_bounds_the_batch_gradients_of_a_quadratic(B):
    # For f_i = ½θᵀH_iθ, Gower et al.'s expected smoothness asks E‖H_B e‖² ≤ L_B·eᵀAe for all e:
    # λ_max(A⁻¹E[H_B²]) ≤ L_B, with E[H_B²] exact for batches drawn without replacement.
    rng = np.random.default_rng(3)
    n, d = 40, 5
    X = rng.standard_normal((n, d)) * [5, 1, 1, 1, 1] + 0.5
    H = np.einsum("ni,nj->nij", X, X)
    A = H.mean(0)
    S2 = np.einsum("nij,njk->ik", H, H)
    M = S2 / (n * B) + (B - 1) / B * (n * n * A @ A - S2) / (n * (n - 1))
    needed = np.max(np.linalg.eigvals(np.linalg.solve(A, M)).real)
    L = np.linalg.eigvalsh(A)[-1]
    L_max = max(np.linalg.eigvalsh(h)[-1] for h in H)
    L_B = _auto_rate.expected_smoothness(L, L_max, n, B)
    assert needed <= L_B * (1 + 1e-9)
    if B == n:
        assert needed == pytest.approx(L_B, rel=1e-9)  # full batch: the bound is tight


def test_smoothness_of_a_problem_against_reference(dtype):
    rng = np.random.default_rng(4)
    n, d = 500, 12
    X = (rng.standard_normal((n, d)) * 3 + 1).astype(dtype)
    sw = rng.uniform(0.5, 2.0, n).astype(dtype)
    s = _auto_rate.smoothness(
        X,
        loss="log_loss",
        batch_size=16,
        alpha=0.01,
        penalty="elasticnet",
        l1_ratio=0.5,
        sample_weight=sw,
    )
    lam, max_row = gram_reference(X, sw, 1.0)
    L = 0.25 * lam + 0.005
    L_max = 0.25 * max_row + 0.005
    np.testing.assert_allclose(s.L, L, rtol=0.02)
    np.testing.assert_allclose(s.L_max, L_max, rtol=1e-5)
    B = 16
    np.testing.assert_allclose(
        s.L_B, n * (B - 1) / (B * (n - 1)) * L + (n - B) / (B * (n - 1)) * L_max, rtol=0.02
    )


# ---------------------------------------------------------------------------------------------
# The schedule
# ---------------------------------------------------------------------------------------------


def test_schedule_auto_starts_at_one_over_L_B_and_halves_on_plateaus():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((200, 6)) * 4
    sched = schedules.auto(X, loss="squared_error", batch_size=1, alpha=0.0, patience=2, tol=0.0)
    _, max_row = gram_reference(X)
    assert isinstance(sched, schedules.Adaptive)
    assert sched(0) == pytest.approx(1.0 / max_row, rel=1e-9)  # B = 1: 1/L_max
    lr0 = float(sched(0))
    for loss in (1.0, 2.0, 3.0):  # two epochs in a row without improvement
        sched.update(loss)
    assert sched(10) == pytest.approx(lr0 / 2)
    sched.reset()
    assert sched(0) == lr0
    assert sched.min_lr == pytest.approx(lr0 * schedules.AUTO_MIN_FRACTION)
    full = schedules.auto(X, batch_size=None, alpha=0.0)  # full batch: about 1/L, below 2/L
    assert 1.0 / gram_reference(X)[0] <= full(0) <= 1.5 / gram_reference(X)[0]


def test_schedule_auto_optimizers():
    X = np.random.default_rng(6).standard_normal((100, 4))
    plain = float(schedules.auto(X)(0))
    assert float(schedules.auto(X, optimizer="momentum")(0)) == pytest.approx(0.1 * plain)
    mom = fastgd.optimizers.Nesterov(momentum=0.5)
    assert float(schedules.auto(X, optimizer=mom)(0)) == pytest.approx(0.5 * plain)
    assert float(schedules.auto(X, optimizer="adam", grad_rms=3.0)(0)) == pytest.approx(3 * plain)
    with pytest.raises(ValueError, match="grad_rms"):
        schedules.auto(X, optimizer="adam")


def test_schedule_auto_trains_ops_loop_to_the_optimum():
    # An ops user's loop with the schedule reaches the ridge optimum on unscaled data.
    X, rng = unscaled(400, 5)
    y = X @ rng.standard_normal(5) / 1e3 + 0.1 * rng.standard_normal(400)
    alpha = 1e-3
    sched = schedules.auto(X, loss="squared_error", batch_size=8, alpha=alpha)
    coef, b = np.zeros(5), np.zeros(1)
    t = 0
    for _ in range(300):
        lrs = schedules.rates(sched, t, fastgd.ops.n_steps(400, 8))
        total = fastgd.ops.sgd_epoch(
            X, y, coef, b, lrs, batch_size=8, order=rng.permutation(400), alpha=alpha
        )
        t += len(lrs)
        sched.update(total / 400 + alpha / 2 * coef @ coef)
    Xt = np.hstack([X, np.ones((400, 1))])
    P = np.diag([alpha] * 5 + [0.0])
    theta = np.linalg.solve(Xt.T @ Xt / 400 + P, Xt.T @ y / 400)
    f = lambda w, c: 0.5 * np.mean((X @ w + c - y) ** 2) + alpha / 2 * w @ w  # noqa: E731
    assert f(coef, b[0]) <= f(theta[:5], theta[5]) * 1.01


def test_schedule_auto_bad_inputs():
    X = np.ones((4, 2))
    with pytest.raises(ValueError, match="loss"):
        schedules.auto(X, loss="nope")
    with pytest.raises(ValueError, match="batch_size"):
        schedules.auto(X, batch_size=0)
    with pytest.raises(ValueError, match="alpha"):
        schedules.auto(X, alpha=-1.0)
    with pytest.raises(TypeError, match="X"):
        schedules.auto([[1.0, 2.0]])
    with pytest.raises(ValueError, match="intercept_decay"):
        schedules.auto(X, intercept_decay=2.0)
    with pytest.raises(ValueError, match="learning_rate='auto'"):
        schedules.auto(np.zeros((4, 2)), fit_intercept=False, alpha=0.0)


# ---------------------------------------------------------------------------------------------
# The estimators with learning_rate="auto"
# ---------------------------------------------------------------------------------------------


def _sample_weight_checks(estimator):
    # scikit-learn's reason for its own SGD estimators (instance_generator.py).
    reason = "sample_weight is not equivalent to removing/repeating samples."
    return {
        "check_sample_weight_equivalence_on_dense_data": reason,
        "check_sample_weight_equivalence_on_sparse_data": reason,
    }


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
@parametrize_with_checks(
    [SGDRegressor(learning_rate="auto"), SGDClassifier(learning_rate="auto")],
    expected_failed_checks=_sample_weight_checks,
)
def test_sklearn_estimator_checks_auto(estimator, check):
    # The three checks that diverge at the default rate (tests/test_estimators.py, DIVERGES)
    # pass here: "auto" fits their unscaled features.
    check(estimator)


def test_default_rate_diverges_on_unscaled_data():
    # What "auto" fixes (the premise): scikit-learn's default rate on mean-100 features.
    X, rng = unscaled(500, 8, seed=7)
    y = X @ (rng.standard_normal(8) / 1e3) + 0.1 * rng.standard_normal(500)
    with pytest.raises(ValueError, match="diverged"):
        SGDRegressor(random_state=0).fit(X, y)


@pytest.mark.parametrize("loss", REGRESSION_LOSSES)
@pytest.mark.parametrize("batch_size", [1, 32, None])
def test_regressor_auto_no_divergence_on_unscaled_data(loss, batch_size):
    X, rng = unscaled(500, 8, seed=7)
    y = X @ (rng.standard_normal(8) / 1e3) + 0.1 * rng.standard_normal(500)
    est = SGDRegressor(
        loss=loss, learning_rate="auto", batch_size=batch_size, random_state=0, max_iter=200
    ).fit(X, y)
    assert np.isfinite(est.coef_).all()
    Xt = np.hstack([X, np.ones((500, 1))])
    theta = np.linalg.lstsq(Xt, y, rcond=None)[0]
    r2_ref = 1 - np.mean((Xt @ theta - y) ** 2) / np.var(y)
    assert est.score(X, y) > r2_ref - 0.03


@pytest.mark.parametrize("loss", CLASSIFICATION_LOSSES)
@pytest.mark.parametrize("batch_size", [1, 16])
def test_classifier_auto_no_divergence_on_unscaled_data(loss, batch_size):
    X, rng = unscaled(600, 6, seed=8)
    y = (X[:, 0] - 100 + 0.3 * X[:, 1] > 0).astype(int)
    est = SGDClassifier(
        loss=loss, learning_rate="auto", batch_size=batch_size, random_state=0, max_iter=100
    ).fit(X, y)
    assert np.isfinite(est.coef_).all()
    assert est.score(X, y) > 0.8


@pytest.mark.parametrize(
    "optimizer", ["momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"]
)
def test_auto_with_optimizers_on_unscaled_data(optimizer):
    X, rng = unscaled(400, 5, seed=9)
    y = X @ (rng.standard_normal(5) / 1e3) + 0.1 * rng.standard_normal(400)
    est = SGDRegressor(
        learning_rate="auto", optimizer=optimizer, batch_size=16, random_state=0, max_iter=300
    ).fit(X, y)
    ref = np.linalg.lstsq(np.hstack([X, np.ones((400, 1))]), y, rcond=None)[0]
    r2_ref = 1 - np.mean((np.hstack([X, np.ones((400, 1))]) @ ref - y) ** 2) / np.var(y)
    assert est.score(X, y) > r2_ref - 0.05


def test_auto_multinomial_sparse_float32_and_weights():
    rng = np.random.default_rng(10)
    X = sp.random(600, 50, density=0.1, random_state=0, format="csr", dtype=np.float32) * 50
    w = rng.standard_normal((50, 3))
    y = np.asarray((X @ w).argmax(1)).ravel()
    sw = rng.uniform(0.5, 2.0, 600)
    est = SGDClassifier(loss="log_loss", learning_rate="auto", batch_size=8, random_state=0)
    est.fit(X, y, sample_weight=sw)
    assert est.coef_.dtype == np.float32 and np.isfinite(est.coef_).all()
    ref = LogisticRegression(C=1e4, max_iter=5000).fit(X, y, sample_weight=sw)
    assert est.score(X, y) >= ref.score(X, y) - 0.05


def test_auto_schedule_matches_the_data_smoothness():
    # What fit uses is schedules.auto's rate for the same problem (dense, l2, B = 4).
    rng = np.random.default_rng(11)
    X = rng.standard_normal((300, 7)) * 10
    y = X @ rng.standard_normal(7)
    est = SGDRegressor(learning_rate="auto", batch_size=4, max_iter=1, tol=None, random_state=0)
    est.fit(X, y)
    state = est._task_states[0].schedule
    expected = schedules.auto(X, y, loss="squared_error", batch_size=4, alpha=est.alpha)
    assert state.lr == pytest.approx(expected.lr)
    assert state.decay_from == pytest.approx(expected.decay_from)
    assert state.decay_steps == expected.decay_steps == 128  # an epoch is 75 steps
    assert state.smoothness_.L_B == pytest.approx(expected.smoothness_.L_B)


@pytest.mark.parametrize("loss", ["squared_error", "log_loss", "multinomial"])
def test_noise_rate_against_reference(loss):
    # η = 4·NOISE_SHARE·F(0)/tr Σ_B(0), tr Σ_1(0) = mean_i s_i·|∂L(0, y_i)/∂p|²·‖x̃_i‖².
    rng = np.random.default_rng(14)
    n, d, B = 3000, 5, 64
    X = rng.standard_normal((n, d)) * 2
    sw = rng.uniform(0.5, 1.5, n)
    if loss == "squared_error":
        y = X @ rng.standard_normal(d) + 3.0
        g2, f0 = y**2, 0.5 * y**2
    elif loss == "log_loss":
        y = np.where(rng.random(n) < 0.5, -1.0, 1.0)
        g2, f0 = np.full(n, 0.25), np.full(n, np.log(2))
    else:
        y = rng.integers(0, 4, n)
        g2, f0 = np.full(n, 0.75**2 + 3 / 16), np.full(n, np.log(4))  # ‖1/K − e_y‖², log K
    sched = schedules.auto(X, y, loss=loss, batch_size=B, alpha=0.0, sample_weight=sw)
    trace = np.mean(sw * g2 * ((X**2).sum(1) + 1.0))
    expected = 4 * _auto_rate.NOISE_SHARE * np.mean(sw * f0) / ((n - B) / (B * (n - 1)) * trace)
    assert sched.smoothness_.noise_step == pytest.approx(expected, rel=1e-9)
    # From 1/L_B down to the noise's rate, geometrically over max(an epoch, 128) steps.
    start, end = 1 / sched.smoothness_.L_B, min(expected, 1 / sched.smoothness_.L_B)
    assert sched.decay_steps == max(-(-n // B), _auto_rate.DECAY_MIN_STEPS) == 128
    rates = sched(np.array([0, 64, 128, 500]))
    np.testing.assert_allclose(rates, [start, math.sqrt(start * end), end, end], rtol=1e-12)
    # Full batch has no sampling noise: no decay.
    assert schedules.auto(X, y, loss=loss, batch_size=None).smoothness_.noise_step == math.inf


def test_auto_default_paths_untouched():
    # "auto" is opt-in: the defaults are scikit-learn's.
    assert SGDRegressor().learning_rate == "invscaling"
    assert SGDClassifier().learning_rate == "optimal"


def test_auto_failed_fit_keeps_the_model():
    X = np.random.default_rng(12).standard_normal((50, 3))
    y = X @ [1.0, 2.0, 3.0]
    est = SGDRegressor(learning_rate="auto", random_state=0).fit(X, y)
    coef = est.coef_.copy()
    with pytest.raises(ValueError, match="learning_rate='auto'"):
        est.set_params(fit_intercept=False, alpha=0.0).fit(np.zeros((50, 3)), y)
    np.testing.assert_array_equal(est.coef_, coef)


def _digits_accuracy(seed):
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=seed)
    scaler = StandardScaler().fit(Xtr)
    Xtr, Xte = scaler.transform(Xtr), scaler.transform(Xte)
    ours = SGDClassifier(loss="log_loss", learning_rate="auto", random_state=seed).fit(Xtr, ytr)
    ref = LogisticRegression(max_iter=5000).fit(Xtr, ytr)
    return ours.score(Xte, yte), ref.score(Xte, yte)


def test_digits_auto_within_half_a_point_of_logistic_regression():
    scores = np.array([_digits_accuracy(seed) for seed in range(5)])
    assert np.median(scores[:, 0]) >= np.median(scores[:, 1]) - 0.005


# ---------------------------------------------------------------------------------------------
# lr_find
# ---------------------------------------------------------------------------------------------


def _ridge(n=2000, d=10, seed=13):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * rng.uniform(0.5, 3, d)
    return X, X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n)


def test_lr_find_does_not_modify_the_estimator():
    X, y = _ridge()
    est = SGDRegressor(batch_size=8, random_state=0).fit(X, y)
    params = est.get_params()
    coef, state = est.coef_.copy(), dict(est.__dict__)
    fastgd.lr_find(est, X, y)
    assert est.get_params() == params
    np.testing.assert_array_equal(est.coef_, coef)
    assert set(est.__dict__) == set(state)
    unfitted = SGDClassifier(loss="log_loss")
    fastgd.lr_find(unfitted, X, y > 0)
    assert not hasattr(unfitted, "coef_")


def test_lr_find_suggestion_is_near_the_stable_step_and_stops_on_divergence():
    X, y = _ridge()
    est = SGDRegressor(batch_size=8, random_state=0)
    found = fastgd.lr_find(est, X, y, start=1e-5, stop=10.0, n_steps=100)
    s = _auto_rate.smoothness(X, loss="squared_error", batch_size=8, alpha=est.alpha)
    assert found.diverged  # 10 is far beyond 2/L_B: the test stops before the end
    assert len(found.lrs) < 100 and found.lrs[-1] > s.step
    assert np.isfinite(found.losses).all()
    np.testing.assert_allclose(found.lrs, np.geomspace(1e-5, 10.0, 100)[: len(found.lrs)])
    # The steepest descent lies below the divergence, and within 3× of the constant rate of a
    # grid that gives the lowest objective after 8 epochs.
    assert math.isfinite(found.suggestion)
    assert found.suggestion <= min(2.0 * s.step, found.lrs[-1])
    Xt = np.hstack([X, np.ones((len(X), 1))])

    def objective(rate):
        fit = clone(est).set_params(learning_rate="constant", eta0=rate, max_iter=8, tol=None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                fit.fit(X, y)
            except ValueError:  # diverged
                return math.inf
        r = Xt @ np.append(fit.coef_, fit.intercept_) - y
        return 0.5 * r @ r / len(y) + est.alpha / 2 * fit.coef_ @ fit.coef_

    grid = np.geomspace(1e-3, 1.0, 13)
    best = grid[int(np.argmin([objective(rate) for rate in grid]))]
    assert best / 3 <= found.suggestion <= 3 * best
    # The raw losses are the objective on the probe rows; the smoothed ones their debiased
    # moving average.
    assert found.raw_losses[0] == pytest.approx(0.5 * np.mean(y[:1024] ** 2), rel=0.5)
    beta = fastgd._lr_find.SMOOTHING
    avg = 0.0
    for k, raw in enumerate(found.raw_losses):
        avg = beta * avg + (1 - beta) * raw
        assert found.losses[k] == pytest.approx(avg / (1 - beta ** (k + 1)))


def test_lr_find_classifier_softmax_and_same_result_twice():
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    est = SGDClassifier(loss="log_loss", batch_size=32, random_state=1)
    a = fastgd.lr_find(est, X, y, n_steps=60)
    b = fastgd.lr_find(est, X, y, n_steps=60)
    np.testing.assert_array_equal(a.losses, b.losses)
    assert a.losses[0] == pytest.approx(math.log(10), rel=0.05)  # a fresh softmax: log K
    assert np.min(a.losses) < 0.7 * a.losses[0]


def test_lr_find_plot_or_clear_import_error():
    X, y = _ridge(n=300)
    found = fastgd.lr_find(SGDRegressor(batch_size=8, random_state=0), X, y, n_steps=30)
    try:
        import matplotlib
    except ImportError:
        with pytest.raises(ImportError, match="matplotlib"):
            found.plot()
        return
    matplotlib.use("Agg")
    found.plot()
    np.testing.assert_array_equal(found.line_.get_xdata(), found.lrs)


@pytest.mark.parametrize(
    "kwargs, exc, name",
    [
        (dict(start=0.0), ValueError, "start"),
        (dict(start=1.0, stop=0.5), ValueError, "stop"),
        (dict(stop=float("inf")), ValueError, "stop"),
        (dict(n_steps=1), ValueError, "n_steps"),
        (dict(n_steps=2.5), TypeError, "n_steps"),
    ],
)
def test_lr_find_bad_arguments(kwargs, exc, name):
    X, y = _ridge(n=50)
    with pytest.raises(exc, match=name):
        fastgd.lr_find(SGDRegressor(), X, y, **kwargs)


def test_lr_find_refuses_other_estimators():
    from sklearn.linear_model import SGDRegressor as SkSGD

    with pytest.raises(TypeError, match="estimator"):
        fastgd.lr_find(SkSGD(), np.ones((3, 2)), np.ones(3))


def test_lr_find_bad_data_names_the_argument():
    X, y = _ridge(n=50)
    X[0, 0] = np.nan
    est = SGDRegressor()
    with pytest.raises(ValueError, match="NaN"):
        fastgd.lr_find(est, X, y)
    assert est.get_params() == clone(est).get_params()


@pytest.mark.parametrize(
    "batch, steps_left, rates_left, descending, expected",
    [
        (1, 10**6, 100, True, 64),  # per-sample steps: 64 of them per rate
        (256, 10**6, 100, True, 4),
        (4096, 10**6, 100, True, 1),
        (1, 2000, 100, True, 20),  # an equal share of what is left of about one epoch
        (256, 150, 100, True, 1),
        (1, 10**6, 100, False, 1),  # before the loss descends: one step per rate
        (1, 0, 5, True, 1),  # the budget spent: still one step per rate
    ],
)
def test_lr_find_holds_each_rate_for_steps_that_shrink_with_the_batch(
    batch, steps_left, rates_left, descending, expected
):
    from fastgd import _lr_find

    assert _lr_find.steps_for_rate(batch, steps_left, rates_left, descending) == expected


def test_lr_find_spends_its_steps_where_the_loss_descends():
    # One step per rate until the smoothed loss has fallen 1% below its first value; then 64
    # per-sample steps per rate, which take a visible share off the loss at once; about one
    # epoch in all.
    X, y = _ridge(n=20_000)
    found = fastgd.lr_find(SGDRegressor(batch_size=1, random_state=0), X, y, n_steps=100)
    descending = found.losses < 0.99 * found.losses[0]
    first = int(np.argmax(descending))
    assert 0 < first < len(found.lrs)
    assert (found.steps[: first + 1] == 1).all()
    assert found.steps[first + 1] == 64
    assert found.raw_losses[first + 1] < 0.9 * found.raw_losses[first]
    assert len(found.steps) == len(found.lrs) and found.steps.sum() <= 20_000 + 100
