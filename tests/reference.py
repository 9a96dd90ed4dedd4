"""Plain float64 NumPy references of the kernels' math, written from DESIGN.md's formulas.

Deliberately simple: vectorized formulas per loss, a Python loop over minibatch steps, no
cleverness, so that a disagreement points at the kernel.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit


def loss_and_derivative(loss, p, y, epsilon=0.1):
    p = np.asarray(p, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    r = p - y
    z = y * p
    if loss == "squared_error":
        return 0.5 * r**2, r
    if loss == "huber":
        inside = np.abs(r) <= epsilon
        value = np.where(inside, 0.5 * r**2, epsilon * np.abs(r) - 0.5 * epsilon**2)
        return value, np.where(inside, r, epsilon * np.sign(r))
    if loss == "epsilon_insensitive":
        value = np.maximum(0.0, np.abs(r) - epsilon)
        return value, np.where(np.abs(r) > epsilon, np.sign(r), 0.0)
    if loss == "squared_epsilon_insensitive":
        excess = np.maximum(0.0, np.abs(r) - epsilon)
        return excess**2, 2.0 * excess * np.sign(r)
    if loss == "log_loss":
        return np.logaddexp(0.0, -z), -y * expit(-z)
    if loss == "hinge":
        return np.maximum(0.0, 1.0 - z), np.where(z <= 1.0, -y, 0.0)
    if loss == "squared_hinge":
        m = np.maximum(0.0, 1.0 - z)
        return m**2, -2.0 * y * m
    if loss == "modified_huber":
        value = np.where(z >= 1.0, 0.0, np.where(z >= -1.0, (1.0 - z) ** 2, -4.0 * z))
        deriv = np.where(z >= 1.0, 0.0, np.where(z >= -1.0, -2.0 * y * (1.0 - z), -4.0 * y))
        return value, deriv
    raise ValueError(loss)


def penalty_weights(penalty, alpha, l1_ratio):
    """(l2, l1) coefficients: α(1−ρ) and αρ."""
    rho = {"none": 0.0, "l2": 0.0, "l1": 1.0, "elasticnet": l1_ratio}[penalty]
    a = 0.0 if penalty == "none" else alpha
    return a * (1.0 - rho), a * rho


def objective_and_grad(X, y, w, b, *, loss, penalty, alpha, l1_ratio, epsilon, sample_weight=None):
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    n = X.shape[0]
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    value, deriv = loss_and_derivative(loss, X @ w + b, y, epsilon)
    l2, l1 = penalty_weights(penalty, alpha, l1_ratio)
    objective = (s @ value) / n + 0.5 * l2 * (w @ w) + l1 * np.abs(w).sum()
    grad = X.T @ (s * deriv) / n + l2 * w + l1 * np.sign(w)
    return objective, grad, (s @ deriv) / n


def sgd_epoch(
    X,
    y,
    w,
    b,
    lrs,
    *,
    batch_size,
    order=None,
    loss,
    penalty,
    alpha,
    l1_ratio,
    epsilon,
    sample_weight=None,
    fit_intercept=True,
    l1_method="proximal",
    stored=None,
):
    """Returns (w, b, progressive loss) after one epoch; inputs are not modified.

    ``l1_method="cumulative"`` (batch_size 1): scikit-learn's cumulative L1 penalty, u and q
    starting at 0, clipping after each step the columns of ``stored[i]`` (row i's stored entries
    of a sparse X; None: every column, as on dense X)."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.array(w, dtype=np.float64)
    b = float(b)
    n = X.shape[0]
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    order = np.arange(n) if order is None else np.asarray(order)
    l2, l1 = penalty_weights(penalty, alpha, l1_ratio)
    u, q = 0.0, np.zeros_like(w)
    total = 0.0
    for step, start in enumerate(range(0, len(order), batch_size)):
        rows = order[start : start + batch_size]
        lr = lrs[step]
        value, deriv = loss_and_derivative(loss, X[rows] @ w + b, y[rows], epsilon)
        total += s[rows] @ value
        g = X[rows].T @ (s[rows] * deriv) / len(rows)
        g_b = (s[rows] @ deriv) / len(rows)
        if 1 - lr * l2 <= 0:  # the decay factor clamped at 0 (scikit-learn's rule)
            w = np.zeros_like(w)
        w = w - lr * (g + l2 * w)
        if fit_intercept:
            b = b - lr * g_b
        if l1_method == "proximal":
            w = np.sign(w) * np.maximum(np.abs(w) - lr * l1, 0.0)
            continue
        u += lr * l1
        for j in np.flatnonzero(stored[rows[0]]) if stored is not None else range(len(w)):
            old = w[j]
            if old > 0:
                w[j] = max(0.0, old - (u + q[j]))
            elif old < 0:
                w[j] = min(0.0, old + (u - q[j]))
            q[j] += w[j] - old
    return w, b, total


def torch_params(opt):
    """Every hyper-parameter optimizer_direction reads: the optimizer's, else torch's default."""
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


def initial_state(opt, w_shape, b_shape):
    """optimizer_direction's state for the coefficients and the intercepts, as torch starts it."""
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
    return ({k: np.full(w_shape, init) for k in names}, {k: np.full(b_shape, init) for k in names})


def optimizer_direction(name, g, state, t, p):
    """PyTorch's update direction for one step (state: dict of arrays, updated in place); returns
    (direction, lr factor). t counts steps from 1."""
    if name == "sgd":
        return g, 1.0
    if name in ("momentum", "nesterov"):
        buf = g.copy() if t == 1 else p["momentum"] * state["buf"] + (1 - p["dampening"]) * g
        state["buf"] = buf
        return (g + p["momentum"] * buf if name == "nesterov" else buf), 1.0
    if name == "adagrad":
        state["sum"] = state["sum"] + g * g
        return g / (np.sqrt(state["sum"]) + p["eps"]), 1.0 / (1 + (t - 1) * p["lr_decay"])
    if name == "rmsprop":
        state["v"] = p["alpha"] * state["v"] + (1 - p["alpha"]) * g * g
        return g / (np.sqrt(state["v"]) + p["eps"]), 1.0
    if name in ("adam", "adamw"):
        state["m"] = p["beta1"] * state["m"] + (1 - p["beta1"]) * g
        state["v"] = p["beta2"] * state["v"] + (1 - p["beta2"]) * g * g
        m_hat = state["m"] / (1 - p["beta1"] ** t)
        return m_hat / (np.sqrt(state["v"]) / np.sqrt(1 - p["beta2"] ** t) + p["eps"]), 1.0
    raise ValueError(name)


def optimizer_epoch(
    X,
    y,
    w,
    b,
    lrs,
    *,
    batch_size,
    loss,
    penalty,
    alpha,
    l1_ratio,
    epsilon,
    optimizer,
    params,
    state_w,
    state_b,
    t0,
    order=None,
):
    """One epoch with a PyTorch optimizer: g += l2·w, torch's step, then the L1 step; the
    intercept has its own state, no penalty, no decay. Returns (w, b, t) after the epoch."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.array(w, dtype=np.float64)
    b = np.array([b], dtype=np.float64)
    order = np.arange(X.shape[0]) if order is None else order
    l2, l1 = penalty_weights(penalty, alpha, l1_ratio)
    t = t0
    for step, start in enumerate(range(0, len(order), batch_size)):
        t += 1
        rows = order[start : start + batch_size]
        lr = lrs[step]
        _, deriv = loss_and_derivative(loss, X[rows] @ w + b[0], y[rows], epsilon)
        g = X[rows].T @ deriv / len(rows)
        g_b = np.array([deriv.sum() / len(rows)])
        if optimizer == "adamw":
            w = w * (1 - lr * params["weight_decay"])
        dw, f = optimizer_direction(optimizer, g + l2 * w, state_w, t, params)
        db, _ = optimizer_direction(
            "adam" if optimizer == "adamw" else optimizer, g_b, state_b, t, params
        )
        w = w - lr * f * dw
        b = b - lr * f * db
        w = np.sign(w) * np.maximum(np.abs(w) - lr * f * l1, 0.0)
    return w, b[0], t


def softmax_targets(y, K, smoothing=0.0):
    """Target distributions: one-hot for class indices, or the given probabilities; smoothed."""
    y = np.asarray(y)
    t = np.eye(K)[y] if y.ndim == 1 else y.astype(np.float64)
    return (1 - smoothing) * t + smoothing / K


def softmax_objective_and_grad(
    X, y, W, b, *, penalty, alpha, l1_ratio, sample_weight=None, label_smoothing=0.0
):
    """(1/n) Σ s_i·CE(softmax(W x_i + b), t_i) + α·R(W), its gradient (K, d) and intercept grad."""
    X = np.asarray(X, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    n, K = X.shape[0], W.shape[0]
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    t = softmax_targets(y, K, label_smoothing)
    P = X @ W.T + np.asarray(b, dtype=np.float64)
    logq = P - np.logaddexp.reduce(P, axis=1, keepdims=True)
    l2, l1 = penalty_weights(penalty, alpha, l1_ratio)
    objective = -(s @ (t * logq).sum(1)) / n + 0.5 * l2 * (W * W).sum() + l1 * np.abs(W).sum()
    G = s[:, None] * (np.exp(logq) - t)
    return objective, G.T @ X / n + l2 * W + l1 * np.sign(W), G.sum(0) / n


def softmax_epoch(
    X,
    y,
    W,
    b,
    lrs,
    *,
    batch_size,
    order=None,
    penalty,
    alpha,
    l1_ratio,
    sample_weight=None,
    label_smoothing=0.0,
    fit_intercept=True,
):
    """One epoch of the softmax model's minibatch SGD; returns (W, b, progressive loss)."""
    X = np.asarray(X, dtype=np.float64)
    W = np.array(W, dtype=np.float64)
    b = np.array(b, dtype=np.float64)
    n, K = X.shape[0], W.shape[0]
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    t = softmax_targets(y, K, label_smoothing)
    order = np.arange(n) if order is None else np.asarray(order)
    l2, l1 = penalty_weights(penalty, alpha, l1_ratio)
    total = 0.0
    for step, start in enumerate(range(0, len(order), batch_size)):
        rows = order[start : start + batch_size]
        lr = lrs[step]
        P = X[rows] @ W.T + b
        logq = P - np.logaddexp.reduce(P, axis=1, keepdims=True)
        total += -(s[rows] @ (t[rows] * logq).sum(1))
        G = s[rows, None] * (np.exp(logq) - t[rows])
        if 1 - lr * l2 <= 0:  # the decay factor clamped at 0, as sgd_epoch
            W = np.zeros_like(W)
        W = W - lr * (G.T @ X[rows] / len(rows) + l2 * W)
        if fit_intercept:
            b = b - lr * G.sum(0) / len(rows)
        W = np.sign(W) * np.maximum(np.abs(W) - lr * l1, 0.0)
    return W, b, total


def lazy_epoch(
    X,
    y,
    W,
    b,
    lrs,
    *,
    batch_size,
    loss,
    penalty,
    alpha,
    l1_ratio,
    epsilon,
    optimizer,
    params,
    state_w,
    state_b,
    t0,
    order=None,
    sample_weight=None,
    label_smoothing=0.0,
):
    """One epoch of the lazy semantics on CSR X (``sparse_updates="lazy"``): each step updates
    only the coefficients of the columns its rows store (with PyTorch's step: g += l2·w, the
    optimizer's direction, the L1 step), and their state; every other coefficient, and its
    state, stays as it is. W is (K, d) for loss="multinomial", else (d,); state_w holds arrays
    of W's shape, state_b arrays of b's, both updated. Returns (W, b, progressive loss)."""
    Xd = X.toarray().astype(np.float64)
    n = Xd.shape[0]
    softmax = loss == "multinomial"
    W = np.array(W, dtype=np.float64, ndmin=2)
    b = np.array(b, dtype=np.float64).reshape(-1)
    K = W.shape[0]
    state = {k: np.array(v, dtype=np.float64, ndmin=2) for k, v in state_w.items()}
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    t_soft = softmax_targets(y, K, label_smoothing) if softmax else None
    order = np.arange(n) if order is None else np.asarray(order)
    l2, l1 = penalty_weights(penalty, alpha, l1_ratio)
    t, total = t0, 0.0
    for step, start in enumerate(range(0, len(order), batch_size)):
        t += 1
        rows = order[start : start + batch_size]
        lr = lrs[step]
        P = Xd[rows] @ W.T + b
        if softmax:
            logq = P - np.logaddexp.reduce(P, axis=1, keepdims=True)
            total += -(s[rows] @ (t_soft[rows] * logq).sum(1))
            G = s[rows, None] * (np.exp(logq) - t_soft[rows])
        else:
            values, deriv = loss_and_derivative(loss, P[:, 0], np.asarray(y)[rows], epsilon)
            total += s[rows] @ values
            G = (s[rows] * deriv)[:, None]
        g = G.T @ Xd[rows] / len(rows)
        cols = np.unique(X[rows].indices)
        Wc = W[:, cols]
        st = {k: v[:, cols] for k, v in state.items()}
        if optimizer == "adamw":
            Wc = Wc * (1 - lr * params["weight_decay"])
        dw, f = optimizer_direction(optimizer, g[:, cols] + l2 * Wc, st, t, params)
        Wc = Wc - lr * f * dw
        W[:, cols] = np.sign(Wc) * np.maximum(np.abs(Wc) - lr * f * l1, 0.0)
        for k, v in st.items():
            state[k][:, cols] = v
        db, f_b = optimizer_direction(
            "adam" if optimizer == "adamw" else optimizer, G.sum(0) / len(rows), state_b, t, params
        )
        b = b - lr * f_b * db
    for k, v in state.items():  # the caller's state carries over to the next epoch
        state_w[k] = v.reshape(np.shape(state_w[k]))
    return (W if softmax else W[0]), b, total


# ---------------------------------------------------------------------------------------------
# DP-SGD (fastgd/private_sgd.hpp), its random draws replayed with numpy.random.Philox
# ---------------------------------------------------------------------------------------------

NOISE_STREAM, SAMPLING_STREAM = 1, 2


def philox_block(key, c0, c1, c2, c3):
    """Philox-4x64-10's block at counter (c0, c1, c2, c3): NumPy's generator, whose first
    block is at its counter + 1."""
    counter = c0 + (c1 << 64) + (c2 << 128) + (c3 << 192)
    key = np.asarray(key, dtype=np.uint64)
    return np.random.Philox(key=key, counter=counter - 1).random_raw(4).astype(np.uint64)


def _open_low(x):
    return ((x >> np.uint64(11)) + np.uint64(1)).astype(np.float64) * 2.0**-53


def _open_high(x):
    return (x >> np.uint64(11)).astype(np.float64) * 2.0**-53


def box_muller4(block):
    out = np.empty(4)
    for pair in range(2):
        r = np.sqrt(-2.0 * np.log(_open_low(block[2 * pair])))
        a = 2.0 * np.pi * _open_high(block[2 * pair + 1])
        out[2 * pair], out[2 * pair + 1] = r * np.cos(a), r * np.sin(a)
    return out


def private_noise(key, step, n_coords, draws=1):
    """The step's standard normal noise of coordinates 0 .. n_coords − 1 (sum of `draws`
    normals over √draws)."""
    blocks = -(-n_coords // 4)
    z = np.zeros(4 * blocks)
    for b in range(blocks):
        for r in range(draws):
            z[4 * b : 4 * b + 4] += box_muller4(philox_block(key, b, step, NOISE_STREAM, r))
    return z[:n_coords] / np.sqrt(draws)


def poisson_rows(key, step, n, q):
    """The rows of a step: geometric gaps from the sampling stream's uniforms."""
    if q >= 1:
        return np.arange(n)
    rows, i, b = [], -1, 0
    log_keep = np.log1p(-q)
    while True:
        block = philox_block(key, b, step, SAMPLING_STREAM, 0)
        b += 1
        for word in block:
            gap = np.floor(np.log(_open_low(word)) / log_keep)
            if not gap < n - 1 - i:
                return np.array(rows, dtype=np.int64)
            i += 1 + int(gap)
            rows.append(i)


def per_example_gradients(X, y, W, b, loss, K, *, fit_intercept=True, epsilon=0.1):
    """(G, Gb): each row's gradient of its loss, (n, K, d) and (n, K); y as the kernel takes it
    (values for K = 1 pointwise, class indices otherwise: one-vs-rest ±1, or the softmax)."""
    X = np.asarray(X.todense() if hasattr(X, "todense") else X, dtype=np.float64)
    P = X @ np.asarray(W, dtype=np.float64).T + np.asarray(b, dtype=np.float64)
    if loss == "multinomial":
        Q = np.exp(P - P.max(1, keepdims=True))
        Q /= Q.sum(1, keepdims=True)
        D = Q - np.eye(K)[y]
    elif K == 1:
        D = loss_and_derivative(loss, P[:, 0], y, epsilon)[1][:, None]
    else:
        labels = np.where(np.eye(K)[y] > 0, 1.0, -1.0)
        D = loss_and_derivative(loss, P, labels, epsilon)[1]
    G = D[:, :, None] * X[:, None, :]
    Gb = D if fit_intercept else np.zeros_like(D)
    return G, Gb


def clipped(G, Gb, C):
    """Each row's gradient scaled by min(1, C / its norm)."""
    norms = np.sqrt((G**2).sum((1, 2)) + (Gb**2).sum(1))
    scale = np.where(norms > C, C / np.where(norms > 0, norms, 1.0), 1.0)
    return G * scale[:, None, None], Gb * scale[:, None]


def private_sgd(
    X, y, W, b, lrs, *, key, q, C, sigma, loss, alpha=0.0, fit_intercept=True, draws=1, epsilon=0.1
):
    """Plain-SGD DP steps 0 .. len(lrs) − 1 with an L2 penalty: the kernel's model, from the
    same draws."""
    W, b = np.array(W, dtype=np.float64), np.array(b, dtype=np.float64)
    K, d = W.shape
    n = X.shape[0]
    for t, lr in enumerate(lrs):
        rows = poisson_rows(key, t, n, q)
        G, Gb = per_example_gradients(
            X[rows], y[rows], W, b, loss, K, fit_intercept=fit_intercept, epsilon=epsilon
        )
        G, Gb = clipped(G, Gb, C)
        z = private_noise(key, t, K * d + K, draws) * sigma * C
        g = (G.sum(0) + z[: K * d].reshape(K, d)) / (q * n)
        gb = (Gb.sum(0) + z[K * d :]) / (q * n)
        W = W - lr * (g + alpha * W)
        if fit_intercept:
            b = b - lr * gb
    return W, b
