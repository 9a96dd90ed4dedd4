"""DP-SGD (fastgd.privacy): the kernel's clipping, sampling and noise against NumPy replays of
the same Philox draws, the noise's distribution, the accounting against dp-accounting itself,
and the estimators."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats

import fastgd
from fastgd import _core

from reference import (
    box_muller4,
    clipped,
    per_example_gradients,
    philox_block,
    poisson_rows,
    private_noise,
    private_sgd,
)

dp_accounting = pytest.importorskip("dp_accounting")
pytest.importorskip("sklearn")

from fastgd.privacy import (  # noqa: E402
    DPSGDClassifier,
    DPSGDRegressor,
    epsilon,
    noise_multiplier,
    steps_per_epoch,
)

KEY = np.array([0x0123456789ABCDEF, 0xFEDCBA9876543210], dtype=np.uint64)
POINTWISE = [name for name in _core.Loss.__members__ if name != "multinomial"]
CLASSIFICATION = [
    n for n in POINTWISE if _core.loss_targets(_core.Loss.__members__[n]) != _core.Targets.real
]


def run_steps(X, y, coef, intercept, lrs, *, loss, q=1.0, C=1.0, sigma=0.0, key=KEY, **kw):
    return _core.private_sgd_steps(
        X,
        y,
        coef,
        intercept,
        np.asarray(lrs, dtype=np.float64),
        loss=_core.Loss.__members__[loss],
        sampling_rate=q,
        clip_norm=C,
        noise_multiplier=sigma,
        key=key,
        **kw,
    )


def problem(loss, K, n=40, d=7, seed=0, dtype=np.float64):
    """X with rows of very different norms (so that some are clipped), targets in the kernel's
    form for `loss` with K outputs, and a random model."""
    rng = np.random.default_rng(seed)
    X = (rng.normal(size=(n, d)) * rng.choice([0.1, 1.0, 10.0], size=(n, 1))).astype(dtype)
    if K == 1 and loss in CLASSIFICATION:
        y = rng.choice([-1.0, 1.0], size=n).astype(dtype)
    elif K == 1:
        y = rng.normal(size=n).astype(dtype) * 3
    else:
        y = rng.integers(0, K, size=n).astype(np.int64)
    W = rng.normal(size=(K, d)) * 0.3
    b = rng.normal(size=K) * 0.3
    return X, y, W, b


MODELS = (
    [(loss, 1) for loss in POINTWISE]
    + [(loss, 3) for loss in CLASSIFICATION]
    + [("multinomial", 3)]
)


# ---------------------------------------------------------------------------------- generator


def test_philox_is_numpys():
    for counter in [(0, 0, 1, 0), (5, 17, 2, 3), (2**64 - 1, 2**40, 1, 0)]:
        assert np.array_equal(_core.philox4x64(KEY, *counter), philox_block(KEY, *counter))


def test_poisson_rows_replay_and_rate():
    n, q = 5000, 0.03
    counts = []
    for step in range(40):
        rows = _core.poisson_rows(KEY, step, n, q)
        assert np.array_equal(rows, poisson_rows(KEY, step, n, q))
        assert np.all(np.diff(rows) > 0) and rows.min() >= 0 and rows.max() < n
        counts.append(len(rows))
    # 40 steps: the total is Binomial(40 n, q); 5 standard deviations
    total, mean = sum(counts), 40 * n * q
    assert abs(total - mean) < 5 * np.sqrt(mean * (1 - q))
    assert np.array_equal(_core.poisson_rows(KEY, 0, 7, 1.0), np.arange(7))


def test_poisson_rows_each_row_equally_likely():
    n, q, steps = 50, 0.2, 4000
    hits = np.zeros(n)
    for step in range(steps):
        hits[_core.poisson_rows(KEY, step, n, q)] += 1
    # each row is in Binomial(steps, q) steps
    assert stats.chisquare(hits).pvalue > 1e-3
    assert abs(hits.mean() - steps * q) < 5 * np.sqrt(steps * q * (1 - q) / n)


# ---------------------------------------------------------------------------------- clipping


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no-intercept"])
@pytest.mark.parametrize(("loss", "K"), MODELS, ids=[f"{name}-K{k}" for name, k in MODELS])
def test_each_rows_contribution_is_clipped_to_C(loss, K, fit_intercept, sparse):
    """One row, every row sampled, no noise: the step moves the model by exactly the row's
    clipped gradient (lr = 1, no penalty), whose norm is at most C; and a step over all rows
    sums the NumPy per-example clipped gradients."""
    X, y, W, b = problem(loss, K)
    C = 0.7
    for i in range(X.shape[0]):
        Xi = sp.csr_matrix(X[i : i + 1]) if sparse else X[i : i + 1]
        coef, intercept = W.copy(), b.copy()
        run_steps(
            Xi,
            y[i : i + 1],
            coef,
            intercept,
            [1.0],
            loss=loss,
            C=C,
            penalty=_core.Penalty.none,
            fit_intercept=fit_intercept,
        )
        G, Gb = per_example_gradients(
            X[i : i + 1], y[i : i + 1], W, b, loss, K, fit_intercept=fit_intercept
        )
        G, Gb = clipped(G, Gb, C)
        step = np.concatenate([(W - coef).ravel(), b - intercept])
        assert np.linalg.norm(step) <= C * (1 + 1e-12)
        np.testing.assert_allclose(W - coef, G[0], rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(b - intercept, Gb[0], rtol=1e-10, atol=1e-13)
    # all rows at once: the mean of the clipped gradients
    coef, intercept = W.copy(), b.copy()
    Xs = sp.csr_matrix(X) if sparse else X
    run_steps(
        Xs,
        y,
        coef,
        intercept,
        [1.0],
        loss=loss,
        C=C,
        penalty=_core.Penalty.none,
        fit_intercept=fit_intercept,
    )
    G, Gb = clipped(*per_example_gradients(X, y, W, b, loss, K, fit_intercept=fit_intercept), C)
    np.testing.assert_allclose(W - coef, G.mean(0), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(b - intercept, Gb.mean(0), rtol=1e-10, atol=1e-13)


# ---------------------------------------------------------------------------------- replay


@pytest.mark.parametrize("draws", [1, 4], ids=["plain", "secure"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize(
    ("loss", "K"), [("log_loss", 1), ("huber", 1), ("hinge", 3), ("multinomial", 4)]
)
def test_noise_replayed_in_numpy_gives_the_same_model(loss, K, sparse, draws):
    X, y, W, b = problem(loss, K, n=60, d=9, seed=3)
    lrs = np.linspace(0.2, 0.05, 12)
    coef, intercept = W.copy(), b.copy()
    run_steps(
        sp.csr_matrix(X) if sparse else X,
        y,
        coef,
        intercept,
        lrs,
        loss=loss,
        q=0.25,
        C=1.5,
        sigma=0.8,
        alpha=1e-3,
        penalty=_core.Penalty.l2,
        secure=draws == 4,
    )
    W_ref, b_ref = private_sgd(
        X, y, W, b, lrs, key=KEY, q=0.25, C=1.5, sigma=0.8, loss=loss, alpha=1e-3, draws=draws
    )
    np.testing.assert_allclose(coef, W_ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(intercept, b_ref, rtol=0, atol=1e-12)


def test_chunks_continue_the_same_run():
    X, y, W, b = problem("log_loss", 1, n=50, seed=4)
    lrs = np.full(10, 0.1)
    one = (W.copy(), b.copy())
    run_steps(X, y, *one, lrs, loss="log_loss", q=0.3, sigma=1.0)
    two = (W.copy(), b.copy())
    run_steps(X, y, *two, lrs[:4], loss="log_loss", q=0.3, sigma=1.0)
    run_steps(X, y, *two, lrs[4:], loss="log_loss", q=0.3, sigma=1.0, first_step=4)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])


@pytest.mark.parametrize("secure", [False, True], ids=["plain", "secure"])
def test_noise_is_gaussian_with_sd_sigma_C(secure):
    """Zero gradients (squared error at y = p = 0): one step moves each coordinate by
    −lr·N(0, (σC)²)/(q·n) alone."""
    n, d, sigma, C, q = 20, 3000, 1.3, 0.4, 0.5
    X = np.random.default_rng(0).normal(size=(n, d))
    coef, intercept = np.zeros((1, d)), np.zeros(1)
    run_steps(
        X,
        np.zeros(n),
        coef,
        intercept,
        [1.0],
        loss="squared_error",
        q=q,
        C=C,
        sigma=sigma,
        penalty=_core.Penalty.none,
        secure=secure,
    )
    noise = -np.concatenate([coef[0], intercept]) * q * n
    assert stats.kstest(noise, stats.norm(scale=sigma * C).cdf).pvalue > 1e-3
    # and it is the replayed noise
    np.testing.assert_allclose(
        noise, private_noise(KEY, 0, d + 1, 4 if secure else 1) * sigma * C, rtol=0, atol=1e-12
    )


def test_box_muller_normals_pass_ks():
    z = np.concatenate([box_muller4(philox_block(KEY, b, 0, 1, 0)) for b in range(1000)])
    assert stats.kstest(z, "norm").pvalue > 1e-3


# ---------------------------------------------------------------------------------- accounting


def _reference_epsilon(q, sigma, steps, delta):
    from dp_accounting import pld, rdp

    event = dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma)), steps
    )
    r = rdp.RdpAccountant()
    r.compose(event)
    p = pld.PLDAccountant(value_discretization_interval=1e-3)
    p.compose(event)
    return r.get_epsilon(delta), p.get_epsilon(delta)


@pytest.mark.parametrize(("n", "batch", "epochs", "sigma"), [(1000, 50, 3, 1.1), (455, 64, 5, 2.0)])
def test_epsilon_is_dp_accountings(n, batch, epochs, sigma):
    steps = epochs * -(-n // batch)
    assert steps_per_epoch(n, batch) * epochs == steps
    e_rdp, e_pld = _reference_epsilon(batch / n, sigma, steps, 1e-5)
    assert epsilon(n, batch, epochs, sigma, 1e-5) == pytest.approx(min(e_rdp, e_pld), rel=1e-12)


@pytest.mark.parametrize("target", [1.0, 4.0])
def test_calibrated_sigma_spends_at_most_epsilon_and_not_much_less(target):
    n, batch, epochs, delta = 1000, 50, 3, 1e-5
    sigma = noise_multiplier(n, batch, epochs, target, delta)
    assert epsilon(n, batch, epochs, sigma, delta) <= target
    assert epsilon(n, batch, epochs, sigma * 0.99, delta) > target


def test_accounting_bad_input():
    with pytest.raises(ValueError, match="batch_size"):
        epsilon(10, 20, 1, 1.0, 1e-5)
    with pytest.raises(ValueError, match="delta"):
        epsilon(10, 2, 1, 1.0, 0.0)
    with pytest.raises(TypeError, match="epochs"):
        noise_multiplier(10, 2, 1.5, 1.0, 1e-5)
    with pytest.raises(ValueError, match="epsilon"):
        noise_multiplier(10, 2, 1, -1.0, 1e-5)
    assert epsilon(10, 2, 1, 0.0, 1e-5) == np.inf


# ---------------------------------------------------------------------------------- estimators


def _blobs(n=600, d=5, K=2, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(K, d)) * 3
    y = rng.integers(0, K, size=n)
    X = centers[y] + rng.normal(size=(n, d))
    X /= np.linalg.norm(X, axis=1).max()  # rows of norm <= 1: a public bound, not a statistic
    return X.astype(dtype), y


@pytest.mark.parametrize("loss", CLASSIFICATION)
@pytest.mark.parametrize("K", [2, 3])
def test_classifier_learns_with_a_loose_budget(loss, K):
    X, y = _blobs(K=K)
    clf = DPSGDClassifier(loss, epsilon=50.0, batch_size=60, max_iter=20, random_state=0, eta0=2.0)
    clf.fit(X, y)
    assert clf.score(X, y) > 0.9
    assert clf.epsilon_ <= 50.0
    assert clf.n_steps_ == 20 * 10
    assert clf.delta_ == pytest.approx(1 / 6000)
    assert clf.coef_.shape == ((1, 5) if K == 2 else (K, 5))
    assert clf.multi_class_ == ("multinomial" if K > 2 and loss == "log_loss" else "ovr")


def test_regressor_learns_and_float32_stays():
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(800, 4)).astype(np.float32) / 2
    y = (X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.3).astype(np.float32)
    reg = DPSGDRegressor(
        "huber",
        loss_epsilon=1.0,
        epsilon=20.0,
        batch_size=80,
        max_iter=30,
        random_state=0,
        eta0=0.5,
        clip_norm=2.0,
    )
    reg.fit(X, y)
    assert reg.coef_.dtype == np.float32 and reg.coef_.shape == (4,)
    assert reg.score(X, y) > 0.8


def test_same_random_state_same_model_and_csr_equals_dense():
    X, y = _blobs(K=3)
    a = DPSGDClassifier(epsilon=2.0, batch_size=50, max_iter=3, random_state=7).fit(X, y)
    b = DPSGDClassifier(epsilon=2.0, batch_size=50, max_iter=3, random_state=7).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    c = DPSGDClassifier(epsilon=2.0, batch_size=50, max_iter=3, random_state=8).fit(X, y)
    assert not np.allclose(a.coef_, c.coef_)
    s = DPSGDClassifier(epsilon=2.0, batch_size=50, max_iter=3, random_state=7)
    s.fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(s.coef_, a.coef_, rtol=1e-9, atol=1e-12)


def test_a_batch_above_n_samples_every_row():
    X, y = _blobs(n=100)
    clf = DPSGDClassifier(epsilon=5.0, batch_size=500, max_iter=3, random_state=0).fit(X, y)
    assert clf.n_steps_ == 3 and clf.n_rows_sampled_ == 300
    assert clf.noise_multiplier_ == noise_multiplier(100, 100, 3, 5.0, 1e-3)


def test_secure_gives_a_new_model_each_fit():
    X, y = _blobs()
    clf = DPSGDClassifier(epsilon=2.0, batch_size=50, max_iter=2, secure=True)
    first = clf.fit(X, y).coef_.copy()
    assert not np.array_equal(first, clf.fit(X, y).coef_)


@pytest.mark.parametrize(
    ("optimizer", "eta0"), [("momentum", 0.1), ("adam", 0.05), ("adagrad", 0.5)]
)
def test_optimizers_act_on_the_noisy_gradient(optimizer, eta0):
    X, y = _blobs()
    clf = DPSGDClassifier(
        epsilon=20.0, batch_size=60, max_iter=10, random_state=0, optimizer=optimizer, eta0=eta0
    )
    assert clf.fit(X, y).score(X, y) > 0.9


def test_the_calibrated_sigma_is_the_accountants():
    X, y = _blobs(n=500)
    clf = DPSGDClassifier(epsilon=3.0, batch_size=50, max_iter=4, random_state=0).fit(X, y)
    assert clf.noise_multiplier_ == noise_multiplier(500, 50, 4, 3.0, 1 / 5000)
    assert clf.epsilon_ == pytest.approx(epsilon(500, 50, 4, clf.noise_multiplier_, 1 / 5000))
    assert clf.epsilon_ <= 3.0


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"learning_rate": "auto"}, "learning_rate='auto'"),
        ({"learning_rate": "adaptive"}, "learning_rate='adaptive'"),
        ({"early_stopping": True}, "early_stopping"),
        ({"class_weight": "balanced"}, "class_weight"),
        ({"secure": True, "random_state": 0}, "random_state must be None"),
        ({"delta": 0.01}, "delta"),
        ({"batch_size": 0}, "batch_size"),
        ({"epsilon": 0.0}, "epsilon"),
        ({"clip_norm": -1.0}, "clip_norm"),
        ({"loss": "squared_error"}, "loss"),
    ],
)
def test_refused_parameters(params, match):
    X, y = _blobs(n=400)
    clf = DPSGDClassifier(**params)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)


def test_refused_schedule_and_sample_weight_and_failed_fit_keeps_model():
    X, y = _blobs(n=200)
    clf = DPSGDClassifier(epsilon=5.0, batch_size=20, max_iter=1, random_state=0).fit(X, y)
    coef = clf.coef_.copy()
    with pytest.raises(TypeError, match="sample_weight"):
        clf.fit(X, y, sample_weight=np.ones(200))
    np.testing.assert_array_equal(clf.coef_, coef)
    clf.set_params(learning_rate=fastgd.schedules.Adaptive(0.1))
    with pytest.raises(ValueError, match="training loss"):
        clf.fit(X, y)
    np.testing.assert_array_equal(clf.coef_, coef)


def test_kernel_bad_input():
    X, y, W, b = problem("log_loss", 1, n=10)
    coef, intercept = W.copy(), b.copy()
    with pytest.raises(ValueError, match="sampling_rate"):
        run_steps(X, y, coef, intercept, [0.1], loss="log_loss", q=0.0)
    with pytest.raises(ValueError, match="clip_norm"):
        run_steps(X, y, coef, intercept, [0.1], loss="log_loss", C=0.0)
    with pytest.raises(TypeError, match="key"):
        run_steps(X, y, coef, intercept, [0.1], loss="log_loss", key=KEY.astype(np.int64))
    with pytest.raises(ValueError, match="labels -1 or \\+1"):
        run_steps(X, y * 2, coef, intercept, [0.1], loss="log_loss")
    with pytest.raises(ValueError, match="class indices"):
        run_steps(
            X,
            np.full(10, 3, dtype=np.int64),
            np.zeros((3, 7)),
            np.zeros(3),
            [0.1],
            loss="multinomial",
        )
    with pytest.raises(ValueError, match="lrs"):
        run_steps(X, y, coef, intercept, [np.nan], loss="log_loss")
    with pytest.raises(TypeError, match="coef"):
        run_steps(X, y, coef.astype(np.float32), intercept, [0.1], loss="log_loss")
    np.testing.assert_array_equal(coef, W)  # nothing ran


def test_import_fastgd_loads_neither_the_accountant_nor_the_estimators():
    import subprocess
    import sys

    code = (
        "import sys, fastgd; assert 'fastgd.privacy' not in sys.modules; "
        "p = fastgd.privacy; assert 'dp_accounting' not in sys.modules; "
        "assert 'fastgd.privacy._estimators' not in sys.modules; p.DPSGDClassifier"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
