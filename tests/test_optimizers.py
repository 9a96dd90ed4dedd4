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


def _reference_state(opt, d):
    init = getattr(opt, "initial_accumulator_value", 0.0)
    names = {
        "momentum": ["buf"],
        "nesterov": ["buf"],
        "adagrad": ["sum"],
        "rmsprop": ["v"],
        "adam": ["m", "v"],
        "adamw": ["m", "v"],
        "sgd": [],
    }[opt.kind]
    return ({k: np.full(d, init) for k in names}, {k: np.full(1, init) for k in names})


def _params(opt):
    p = dict(
        momentum=0.9,
        dampening=0.0,
        alpha=0.99,
        beta1=0.9,
        beta2=0.999,
        eps=1e-8,
        lr_decay=0.0,
        weight_decay=0.0,
    )
    p.update(opt.kernel_params())
    return p


@pytest.mark.parametrize("penalty", ["l2", "elasticnet"])
@pytest.mark.parametrize("batch", [1, 16, 100])
@pytest.mark.parametrize("opt", OPTIMIZERS, ids=lambda o: o.kind)
def test_optimizer_matches_pytorch_formulas(opt, batch, penalty, dtype):
    X, y = make_problem(100, 6, dtype, "log_loss", seed=21)
    opt.reset()
    n_steps = ops.n_steps(100, batch)
    w, b = np.zeros(6, dtype), np.zeros(1, dtype)
    ref_w, ref_b, t = np.zeros(6), 0.0, 0
    state_w, state_b = _reference_state(opt, 6)
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
            params=_params(opt),
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
