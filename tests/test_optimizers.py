"""Optimizers fused into the kernel, against a float64 NumPy reference of PyTorch's formulas
(tests/reference.py) and, when it is installed, torch.optim itself; and averaged SGD."""

from __future__ import annotations

import numpy as np
import pytest

from fastgd import ops, optimizers

import reference
from conftest import assert_close, make_problem

OPTIMIZERS = [
    optimizers.SGD(),
    optimizers.Momentum(0.8, dampening=0.1),
    optimizers.Nesterov(0.7),
    optimizers.Adagrad(eps=1e-8, lr_decay=0.01, initial_accumulator_value=0.1),
    optimizers.RMSprop(alpha=0.9, eps=1e-6),
    optimizers.Adam(beta1=0.8, beta2=0.99, eps=1e-6),
    optimizers.AdamW(weight_decay=0.05),
]


@pytest.mark.parametrize("penalty", ["l2", "elasticnet"])
@pytest.mark.parametrize("batch", [1, 16, 100])
@pytest.mark.parametrize("opt", OPTIMIZERS, ids=lambda o: o.kind)
def test_optimizer_matches_pytorch_formulas(opt, batch, penalty, dtype):
    X, y = make_problem(100, 6, dtype, "log_loss", seed=21)
    opt.reset()
    n_steps = ops.n_steps(100, batch)
    w, b = np.zeros(6, dtype), np.zeros(1, dtype)
    ref_w, ref_b, t = np.zeros(6), 0.0, 0
    state_w, state_b = reference.initial_state(opt, (6,), (1,))
    rng = np.random.default_rng(0)
    kw = dict(
        batch_size=batch, loss="log_loss", penalty=penalty, alpha=0.01, l1_ratio=0.3, epsilon=0.1
    )
    for epoch in range(3):  # state carries over between epochs
        order = rng.permutation(100)
        lrs = 0.05 * 0.9 ** np.arange(epoch * n_steps, (epoch + 1) * n_steps)
        ops.sgd_epoch(X, y, w, b, lrs, order=order, optimizer=opt, **kw)
        ref_w, ref_b, t = reference.optimizer_epoch(
            X,
            y,
            ref_w,
            ref_b,
            lrs,
            order=order,
            optimizer=opt.kind,
            params=reference.torch_params(opt),
            state_w=state_w,
            state_b=state_b,
            t0=t,
            **kw,
        )
    assert_close(w, ref_w, dtype)
    assert_close(b[0], ref_b, dtype, scale=max(abs(ref_b), np.abs(ref_w).max()))
    if opt.kind != "sgd":
        assert opt.state_.t == t == 3 * n_steps


def test_plain_sgd_optimizer_is_the_default_update():
    X, y = make_problem(50, 4, np.float64, "squared_error")
    lrs = np.full(5, 0.05)
    w1, b1, w2, b2 = np.zeros(4), np.zeros(1), np.zeros(4), np.zeros(1)
    ops.sgd_epoch(X, y, w1, b1, lrs, batch_size=10, penalty="elasticnet")
    ops.sgd_epoch(X, y, w2, b2, lrs, batch_size=10, penalty="elasticnet", optimizer="sgd")
    np.testing.assert_array_equal(w1, w2)


@pytest.mark.parametrize("threads", [1, 2])
def test_optimizer_state_is_consistent_across_threads(threads):
    X, y = make_problem(4096, 64, np.float64, "squared_error", seed=3)
    lrs = np.full(ops.n_steps(4096, 1024), 0.01)
    results = []
    for n_threads in (1, threads):
        opt = optimizers.Adam()
        w, b = np.zeros(64), np.zeros(1)
        for _ in range(2):
            ops.sgd_epoch(X, y, w, b, lrs, batch_size=1024, optimizer=opt, n_threads=n_threads)
        results.append((w, opt.state_.coef.copy()))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-12, atol=1e-15)


TORCH_CASES = [
    (
        "momentum",
        lambda p, torch: torch.optim.SGD(p, lr=1.0, momentum=0.8, dampening=0.1),
        optimizers.Momentum(0.8, 0.1),
    ),
    (
        "nesterov",
        lambda p, torch: torch.optim.SGD(p, lr=1.0, momentum=0.7, nesterov=True),
        optimizers.Nesterov(0.7),
    ),
    (
        "adagrad",
        lambda p, torch: torch.optim.Adagrad(p, lr=1.0, lr_decay=0.01, eps=1e-8),
        optimizers.Adagrad(eps=1e-8, lr_decay=0.01),
    ),
    (
        "rmsprop",
        lambda p, torch: torch.optim.RMSprop(p, lr=1.0, alpha=0.9, eps=1e-6),
        optimizers.RMSprop(0.9, 1e-6),
    ),
    (
        "adam",
        lambda p, torch: torch.optim.Adam(p, lr=1.0, betas=(0.8, 0.99), eps=1e-6),
        optimizers.Adam(0.8, 0.99, 1e-6),
    ),
    (
        "adamw",
        lambda p, torch: torch.optim.AdamW(p, lr=1.0, weight_decay=0.05),
        optimizers.AdamW(weight_decay=0.05),
    ),
]


@pytest.mark.parametrize(
    "make_torch, opt", [c[1:] for c in TORCH_CASES], ids=[c[0] for c in TORCH_CASES]
)
def test_optimizer_matches_torch_optim(make_torch, opt):
    torch = pytest.importorskip("torch")
    X, y = make_problem(60, 5, np.float64, "squared_error", seed=4)
    lrs = 0.02 * np.ones(ops.n_steps(60, 12) * 3)
    # torch's AdamW would decay an intercept too; fastgd never decays the intercept: compare
    # AdamW without one.
    with_intercept = opt.kind != "adamw"
    w, b = np.zeros(5), np.zeros(1)
    opt.reset()
    for epoch in range(3):
        ops.sgd_epoch(
            X,
            y,
            w,
            b,
            lrs[epoch * 5 : (epoch + 1) * 5],
            batch_size=12,
            penalty="none",
            optimizer=opt,
            fit_intercept=with_intercept,
        )
    tw = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    tb = torch.zeros(1, dtype=torch.float64, requires_grad=with_intercept)
    topt = make_torch([tw, tb] if with_intercept else [tw], torch)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    for step in range(15):
        rows = slice((step % 5) * 12, (step % 5) * 12 + 12)
        for group in topt.param_groups:
            group["lr"] = float(lrs[step])
        topt.zero_grad()
        loss = 0.5 * ((Xt[rows] @ tw + tb - yt[rows]) ** 2).mean()
        loss.backward()
        topt.step()
    np.testing.assert_allclose(w, tw.detach().numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(b, tb.detach().numpy(), rtol=1e-10, atol=1e-13)


def test_average_matches_the_running_mean_of_the_weights(dtype):
    X, y = make_problem(80, 5, dtype, "squared_error", seed=6)
    avg = optimizers.Average(start=3)
    w, b = np.zeros(5, dtype), np.zeros(1, dtype)
    history = []
    for _ in range(2):  # 2 epochs of 8 steps (batch 10), w recorded after each step
        for step in range(8):
            rows = np.arange(step * 10, step * 10 + 10)
            ops.sgd_epoch(X, y, w, b, [0.05], batch_size=10, order=rows, average=avg)
            history.append((w.astype(np.float64).copy(), float(b[0])))
    mean_w = np.mean([h[0] for h in history[2:]], axis=0)  # steps t >= 3
    mean_b = np.mean([h[1] for h in history[2:]])
    assert_close(avg.coef_, mean_w, dtype)
    assert avg.intercept_[0] == pytest.approx(mean_b, rel=1e-4 if dtype == np.float32 else 1e-12)
    assert avg.step_[0] == 16


def test_optimizer_errors():
    X, y = make_problem(20, 3, np.float64, "squared_error")
    w, b = np.zeros(3), np.zeros(1)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        ops.sgd_epoch(X, y, w, b, [0.1], batch_size=20, optimizer="lbfgs")
    opt = optimizers.Adam()
    ops.sgd_epoch(X, y, w, b, [0.1], batch_size=20, optimizer=opt)
    with pytest.raises(ValueError, match="one optimizer object per model"):
        ops.sgd_epoch(X[:, :2], y, np.zeros(2), b, [0.1], batch_size=20, optimizer=opt)
    with pytest.raises(ValueError, match="beta1"):
        optimizers.Adam(beta1=1.0)
    with pytest.raises(TypeError, match="average must be"):
        ops.sgd_epoch(X, y, w, b, [0.1], batch_size=20, average=True)
    assert repr(optimizers.AdamW()) == "AdamW(beta1=0.9, beta2=0.999, eps=1e-08, weight_decay=0.01)"


# ---------------------------------------------------------------------------------------------
# In the estimators; and what adaptive rates are for
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("average", [True, 10, 500])
def test_estimator_average_matches_sklearn(average):
    from sklearn import linear_model as sk

    from fastgd import SGDClassifier, SGDRegressor

    X, y = make_problem(300, 6, np.float64, "squared_error", seed=7)
    kw = dict(
        max_iter=5,
        tol=None,
        shuffle=False,
        alpha=0.01,
        average=average,
        learning_rate="constant",
        eta0=0.01,
    )
    ours, theirs = SGDRegressor(**kw).fit(X, y), sk.SGDRegressor(**kw).fit(X, y)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-9, atol=1e-12)
    labels = np.digitize(y, np.quantile(y, [0.33, 0.66]))
    kw.update(loss="log_loss", learning_rate="invscaling", eta0=0.05)
    ours = SGDClassifier(multi_class="ovr", **kw).fit(X, labels)
    theirs = sk.SGDClassifier(**kw).fit(X, labels)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-9, atol=1e-12)


def test_estimator_optimizer_state_persists_across_partial_fit():
    from fastgd import SGDRegressor

    X, y = make_problem(200, 5, np.float64, "squared_error", seed=8)
    kw = dict(
        optimizer=optimizers.Adam(),
        learning_rate="constant",
        eta0=0.01,
        batch_size=20,
        shuffle=False,
    )
    fitted = SGDRegressor(max_iter=3, tol=None, **kw).fit(X, y)
    est = SGDRegressor(**kw)
    for _ in range(3):
        est.partial_fit(X, y)
    np.testing.assert_allclose(est.coef_, fitted.coef_, rtol=1e-12)
    assert kw["optimizer"].__dict__.get("state_") is None  # the parameter is never modified


def _ill_conditioned(seed=0, n=2000, d=10):
    rng = np.random.default_rng(seed)
    scales = np.logspace(-2, 2, d)  # feature scales spanning 10^4
    X = rng.standard_normal((n, d)) * scales
    y = X @ (rng.standard_normal(d) / scales) + 0.1 * rng.standard_normal(n)
    Xc, yc = X - X.mean(0), y - y.mean()
    w = np.linalg.solve(Xc.T @ Xc / n + 1e-4 * np.eye(d), Xc.T @ yc / n)
    best = ops.loss_and_grad(X, y, w, y.mean() - X.mean(0) @ w, alpha=1e-4)[0]
    return X, y, best


def _epochs_to_1_percent(X, y, best, optimizer, lr, max_epochs):
    w, b = np.zeros(X.shape[1]), np.zeros(1)
    order_rng = np.random.default_rng(1)
    steps = ops.n_steps(len(X), 32)
    for epoch in range(max_epochs):
        ops.sgd_epoch(
            X,
            y,
            w,
            b,
            np.full(steps, lr),
            batch_size=32,
            alpha=1e-4,
            order=order_rng.permutation(len(X)),
            optimizer=optimizer,
        )
        if not np.isfinite(w).all():
            return np.inf
        if ops.loss_and_grad(X, y, w, b[0], alpha=1e-4)[0] <= 1.01 * best:
            return epoch + 1
    return np.inf


def test_adaptive_rates_beat_plain_sgd_on_ill_conditioned_data():
    X, y, best = _ill_conditioned()
    lrs = np.logspace(-6, 0, 7)
    adaptive = min(
        _epochs_to_1_percent(X, y, best, make(), lr, 200)
        for make in (optimizers.Adagrad, optimizers.Adam)
        for lr in lrs
    )
    assert adaptive < 200
    # Plain SGD at each constant rate of the grid must not get there in 5× as many epochs.
    for lr in lrs:
        assert _epochs_to_1_percent(X, y, best, "sgd", lr, 5 * adaptive) == np.inf
