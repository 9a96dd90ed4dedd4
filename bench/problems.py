"""The benchmark problems, their objectives and optima, and one epoch of each tool on them.

Every tool minimizes the same objective (DESIGN.md, "Exact semantics")::

    F(w, b) = (1/n) Σ_i L(x_i·w + b, y_i) + α·R(w)

and every result is judged by :func:`objective`, a plain float64 NumPy computation independent of
fastgd's kernels, against the optimum of a direct solver (:func:`optimum`), so that a fast but
wrong kernel cannot win a benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fastgd import ops, optimizers, schedules

try:  # PyTorch is optional: its cases skip without it
    import torch
except ImportError:  # pragma: no cover - depends on the environment
    torch = None

CHUNK = 8_192  # rows per chunk of the float64 NumPy passes (bounds their temporary memory)


@dataclass(frozen=True)
class Problem:
    """A dense problem: n × d data of `dtype`, a loss, a penalty, and the SGD settings."""

    name: str
    n: int
    d: int
    dtype: type
    loss: str  # "squared_error" or "log_loss"
    penalty: str  # "l2" or "l1"
    alpha: float
    lr: float  # constant learning rate of the minibatch tools (fastgd, NumPy, PyTorch)
    batch_size: int = 256
    nonzeros: int | None = None  # true non-zero coefficients (None: all)
    seed: int = 0


def problems(scale: float = 1.0) -> dict[str, Problem]:
    """The four dense problems (ridge float32 and float64, L2 logistic, L1 regression), with n
    multiplied by `scale` (at least 2,000 rows)."""

    def n(rows: int) -> int:
        return max(2_000, int(rows * scale))

    return {
        "ridge-float32": Problem(
            "ridge-float32", n(1_000_000), 100, np.float32, "squared_error", "l2", 1e-4, 0.01
        ),
        "ridge-float64": Problem(
            "ridge-float64", n(1_000_000), 100, np.float64, "squared_error", "l2", 1e-4, 0.01
        ),
        "logistic-float64": Problem(
            "logistic-float64", n(500_000), 200, np.float64, "log_loss", "l2", 1e-4, 0.05
        ),
        "lasso-float64": Problem(
            "lasso-float64",
            n(200_000),
            500,
            np.float64,
            "squared_error",
            "l1",
            0.01,
            0.005,
            nonzeros=20,
        ),
    }


def make_data(p: Problem) -> tuple[np.ndarray, np.ndarray]:
    """Standard-normal X (generated in its dtype: no float64 temporary), y from a linear model
    with noise (labels ±1 for log_loss)."""
    rng = np.random.default_rng(p.seed)
    X = rng.standard_normal((p.n, p.d), dtype=np.float32).astype(p.dtype, copy=False)
    w = rng.standard_normal(p.d) / np.sqrt(p.nonzeros or p.d)
    if p.nonzeros is not None:
        w[p.nonzeros :] = 0.0
    t = np.empty(p.n)
    for lo in range(0, p.n, CHUNK):
        t[lo : lo + CHUNK] = X[lo : lo + CHUNK] @ w + 0.5
    if p.loss == "log_loss":
        y = np.where(t + 0.5 * rng.standard_normal(p.n) > 0, 1.0, -1.0)
    else:
        y = t + rng.standard_normal(p.n)
    return X, y.astype(p.dtype)


def _margin_terms(p: Problem, X, y, w, b):
    """Per-chunk (loss sum, gradient of the data term) in float64."""
    w = np.asarray(w, dtype=np.float64)
    total, grad, grad_b = 0.0, np.zeros_like(w), 0.0
    for lo in range(0, X.shape[0], CHUNK):
        x = X[lo : lo + CHUNK].astype(np.float64)
        t = y[lo : lo + CHUNK].astype(np.float64)
        z = x @ w + b
        if p.loss == "squared_error":
            r = z - t
            total += 0.5 * float(r @ r)
            dz = r
        else:
            m = t * z
            total += float(np.logaddexp(0.0, -m).sum())
            dz = -t / (1.0 + np.exp(m))
        grad += x.T @ dz
        grad_b += float(dz.sum())
    n = X.shape[0]
    return total / n, grad / n, grad_b / n


def objective(p: Problem, X, y, w, b) -> float:
    """F(w, b) in float64 NumPy, independent of fastgd's kernels."""
    data, _, _ = _margin_terms(p, X, y, w, float(b))
    w = np.asarray(w, dtype=np.float64)
    reg = 0.5 * float(w @ w) if p.penalty == "l2" else float(np.abs(w).sum())
    return data + p.alpha * reg


def optimum(p: Problem, X, y) -> float:
    """min F from a direct solver: the normal equations (ridge), L-BFGS to a tight gradient
    (logistic), coordinate descent (lasso, scikit-learn's Lasso: the same objective)."""
    n, d = X.shape
    if p.loss == "squared_error" and p.penalty == "l2":
        mean_x = np.zeros(d)
        for lo in range(0, n, CHUNK):
            mean_x += X[lo : lo + CHUNK].sum(axis=0, dtype=np.float64)
        mean_x /= n
        mean_y = float(y.mean(dtype=np.float64))
        gram, rhs = np.zeros((d, d)), np.zeros(d)
        for lo in range(0, n, CHUNK):
            xc = X[lo : lo + CHUNK].astype(np.float64) - mean_x
            gram += xc.T @ xc
            rhs += xc.T @ (y[lo : lo + CHUNK].astype(np.float64) - mean_y)
        w = np.linalg.solve(gram / n + p.alpha * np.eye(d), rhs / n)
        return objective(p, X, y, w, mean_y - mean_x @ w)
    if p.loss == "log_loss":
        from scipy.optimize import minimize

        def f(v):
            data, g, gb = _margin_terms(p, X, y, v[:-1], v[-1])
            w = v[:-1]
            return data + 0.5 * p.alpha * float(w @ w), np.append(g + p.alpha * w, gb)

        res = minimize(
            f,
            np.zeros(d + 1),
            jac=True,
            method="L-BFGS-B",
            options=dict(maxiter=1000, gtol=1e-10, ftol=1e-15),
        )
        return objective(p, X, y, res.x[:-1], res.x[-1])
    from sklearn.linear_model import Lasso

    model = Lasso(alpha=p.alpha, tol=1e-8, max_iter=10_000).fit(X, y)
    return objective(p, X, y, model.coef_, model.intercept_)


def excess(p: Problem, X, y, w, b, f_star: float) -> float:
    """Relative excess objective (F(w, b) − F*) / F*."""
    return (objective(p, X, y, w, b) - f_star) / abs(f_star)


# ------------------------------------------------------------------------------------------------
# The tools. Each trainer starts from zero weights (reset) and runs one epoch per call; the
# learning-rate schedule continues across epochs.
# ------------------------------------------------------------------------------------------------


class FastgdTrainer:
    """fastgd.ops.sgd_epoch with a fastgd.schedules rate. X is validated once, as a training loop
    does, so the epochs run with check_input=False."""

    name = "fastgd"

    def __init__(self, p: Problem, n_threads=None, batch_size=None, shuffle=False, optimizer=None):
        self.p, self.n_threads, self.optimizer = p, n_threads, optimizer
        self.batch_size = batch_size or p.batch_size
        self.order = np.random.default_rng(1).permutation(p.n) if shuffle else None
        self.reset()

    def reset(self):
        self.coef = np.zeros(self.p.d, dtype=self.p.dtype)
        self.intercept = np.zeros(1, dtype=self.p.dtype)
        self.step = 0
        self.opt = None if self.optimizer is None else optimizers.get_optimizer(self.optimizer)
        if self.opt is not None:
            self.opt.reset()

    def epoch(self, X, y):
        p = self.p
        n_steps = ops.n_steps(len(X), self.batch_size)
        lrs = schedules.rates(schedules.Constant(p.lr), self.step, n_steps)
        ops.sgd_epoch(
            X,
            y,
            self.coef,
            self.intercept,
            lrs,
            batch_size=self.batch_size,
            order=self.order,
            loss=p.loss,
            penalty=p.penalty,
            alpha=p.alpha,
            n_threads=self.n_threads,
            check_input=False,
            optimizer=self.opt,
        )
        self.step += n_steps

    def params(self):
        return self.coef, float(self.intercept[0])


class NumpyTrainer:
    """The textbook NumPy minibatch loop: per batch, X_b @ w, the loss derivative, X_b.T @ g."""

    name = "numpy"

    def __init__(self, p: Problem):
        self.p = p
        self.reset()

    def reset(self):
        self.w, self.b = np.zeros(self.p.d, dtype=self.p.dtype), self.p.dtype(0)

    def epoch(self, X, y):
        p, w, b = self.p, self.w, self.b
        lr, alpha, B = p.dtype(p.lr), p.dtype(p.alpha), p.batch_size
        for lo in range(0, len(X), B):
            xb, yb = X[lo : lo + B], y[lo : lo + B]
            z = xb @ w + b
            g = z - yb if p.loss == "squared_error" else -yb / (1 + np.exp(yb * z))
            w -= lr * (xb.T @ g / len(xb) + (alpha * w if p.penalty == "l2" else 0))
            b -= lr * g.mean()
            if p.penalty == "l1":
                w[:] = np.sign(w) * np.maximum(np.abs(w) - lr * alpha, 0)
        self.b = b

    def params(self):
        return self.w, float(self.b)


class SklearnTrainer:
    """scikit-learn's SGDRegressor / SGDClassifier at its documented defaults (per-sample
    updates, its default learning-rate schedule); partial_fit runs one epoch and continues the
    schedule."""

    name = "sklearn"

    def __init__(self, p: Problem):
        self.p = p
        self.reset()

    def reset(self):
        from sklearn.linear_model import SGDClassifier, SGDRegressor

        p = self.p
        common = dict(penalty=p.penalty, alpha=p.alpha, shuffle=False, random_state=0)
        self.model = (
            SGDClassifier(loss="log_loss", **common)
            if p.loss == "log_loss"
            else SGDRegressor(loss="squared_error", **common)
        )

    def epoch(self, X, y):
        if self.p.loss == "log_loss":
            self.model.partial_fit(X, y, classes=np.array([-1.0, 1.0], dtype=self.p.dtype))
        else:
            self.model.partial_fit(X, y)

    def params(self):
        return self.model.coef_.ravel(), float(np.ravel(self.model.intercept_)[0])


class TorchTrainer:
    """nn.Linear + optim.SGD with the same batch size and rate; weight decay (L2) on the weight
    only, an explicit α‖w‖₁ term for L1."""

    name = "torch"

    def __init__(self, p: Problem, n_threads=None):
        self.p = p
        if n_threads:
            torch.set_num_threads(n_threads)
        self.reset()

    def reset(self):
        p = self.p
        self.model = torch.nn.Linear(
            p.d, 1, dtype=torch.float32 if p.dtype == np.float32 else torch.float64
        )
        torch.nn.init.zeros_(self.model.weight)
        torch.nn.init.zeros_(self.model.bias)
        decay = p.alpha if p.penalty == "l2" else 0.0
        self.opt = torch.optim.SGD(
            [
                dict(params=[self.model.weight], weight_decay=decay),
                dict(params=[self.model.bias], weight_decay=0.0),
            ],
            lr=p.lr,
        )

    def epoch(self, X, y):
        p, model, opt = self.p, self.model, self.opt
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        for lo in range(0, len(X), p.batch_size):
            z = model(Xt[lo : lo + p.batch_size]).squeeze(1)
            t = yt[lo : lo + p.batch_size]
            if p.loss == "squared_error":
                loss = 0.5 * ((z - t) ** 2).mean()
            else:
                loss = torch.nn.functional.softplus(-t * z).mean()
            if p.penalty == "l1":
                loss = loss + p.alpha * model.weight.abs().sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    def params(self):
        with torch.no_grad():
            return self.model.weight.numpy().ravel().copy(), float(self.model.bias.item())


def epochs_to_reach(
    trainer, p: Problem, X, y, f_star: float, f_zero: float, tol: float, max_epochs: int
) -> int | None:
    """Epochs (from zero weights) until the suboptimality F − F* falls to `tol` times its start
    F(0) − F*; None if not within max_epochs."""
    trainer.reset()
    for k in range(1, max_epochs + 1):
        trainer.epoch(X, y)
        w, b = trainer.params()
        if objective(p, X, y, w, b) - f_star <= tol * (f_zero - f_star):
            return k
    return None
