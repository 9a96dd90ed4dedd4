"""The step of ``learning_rate="auto"``, from the smoothness of the objective.

For F(w, b) = (1/n) Σ_i s_i·L(x̃_i·θ, y_i) + α(1−ρ)/2·‖w‖² (+ the L1 part, applied by a proximal
step, which does not limit the step), with x̃_i = (x_i, c) and θ = (w, b):

- L = κ·λ_max(X̃ᵀSX̃/n) + α(1−ρ), the smoothness of F (κ: the loss's curvature bound, from the
  kernels' table of loss kinds, ``_core.loss_curvature``);
- L_max = κ·max_i s_i·‖x̃_i‖² + α(1−ρ), the largest smoothness of one sample's term;
- L_B = n(B−1)/(B(n−1))·L + (n−B)/(B(n−1))·L_max, the expected smoothness of a batch of B rows
  drawn without replacement (Gower et al., "SGD: General Analysis and Improved Rates", ICML
  2019): L_max at B = 1, L at B = n;
- the step 1/L_B: full-batch gradient descent is stable below 2/L, and per-sample SGD at 1/L_max
  never overshoots any one sample's minimum (scikit-learn's SAG takes the same step,
  ``get_auto_step_size``).

c is the intercept's column: 0 without an intercept, 1 on dense X, and √decay where the
intercept's updates are scaled by ``intercept_decay`` (the estimators' 0.01 on sparse X), since a
coordinate updated at rate decay·η is one of scale √decay in the rescaled problem.

1/L_B is the largest step that makes steady progress; with noisy gradients a rate also sets a
noise floor, the excess loss where constant-rate SGD stops improving: about η/4·tr Σ_B for a rate
η, Σ_B the covariance of a batch's gradient at the optimum (the stationary variance of SGD on a
quadratic). So with targets, the schedule starts at 1/L_B and decays geometrically, over the first
epoch (and at least DECAY_MIN_STEPS steps), to the rate whose floor is NOISE_SHARE of the loss:
η = 4·NOISE_SHARE·F(0)/tr Σ_B(0), the gradient noise measured at the zero model (tr Σ_1(0) =
(1/n) Σ_i s_i·L'(0, y_i)²·‖x̃_i‖², the second moment, in the power iterations' first pass) and
scaled by the loss, as it is for these losses (tr Σ_1 ∝ F for squared error with independent
residuals; on the bench's logistic problems the ratio at the optimum is 0.85–0.88 of the zero
model's). The large first steps remove the bias of the start at the best speed the smoothness
allows, and the last ones leave the model near the floor the noise allows; the halvings on
plateaus take the rate lower from there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _core, optimizers
from ._backend import default_threads
from ._params import check_param, check_threads
from ._validation import as_csr, as_vector, check_data_matrix, check_option, is_sparse

# Power iterations: each costs a pass over a sample of X's rows (below) and they stop when ‖Av‖
# changes by less than 3%; ‖Av‖ approaches λ_max from below, fast from the warm start (the
# columns' scales) on unscaled or correlated data, and slowly on a flat spectrum (standardized
# features), where it may stop some 20% under λ_max: a gradient step is stable up to 2/L, and
# the sample errs the other way.
POWER_MAX_ITER = 10
POWER_RTOL = 3e-2
# The power iterations read every k-th row, so that they see about POWER_ROWS_PER_COLUMN rows per
# column that a row stores (its non-zeros on CSR) and at least POWER_MIN_ROWS: the sample's Gram
# matrix estimates λ_max within some 40% (a random matrix's top eigenvalue is off by about
# 2·√(columns/rows)), and from above on average, which errs on the safe side. The largest row
# norm and the noise still see every row: one pass over all of X.
POWER_ROWS_PER_COLUMN = 32
POWER_MIN_ROWS = 8192
# The optimizers whose step is normalized per coordinate (torch's Adagrad, RMSprop, Adam): their
# rate is a distance in weight units, not a multiple of the gradient.
NORMALIZED = ("adagrad", "rmsprop", "adam", "adamw")
# The noise floor of the rate the first decay ends at, as a share of the starting loss (see above).
NOISE_SHARE = 0.005
# The first decay lasts an epoch and at least this many steps: on a few large batches an epoch
# is too few steps for the large rates to remove the start's bias (bench/MEASUREMENTS.md).
DECAY_MIN_STEPS = 128


@dataclass(frozen=True)
class Smoothness:
    """The smoothness constants of one problem (see the module's docstring)."""

    L: float  # of F (NaN at batch_size=1: L_B = L_max, and no power iteration runs)
    L_max: float  # of one sample's term, at most
    L_B: float  # expected, of a batch of B rows
    lambda_max: float  # of X̃ᵀSX̃/n (NaN where L is)
    iterations: int  # power iterations run
    noise_step: float = math.inf  # the rate whose noise floor is NOISE_SHARE of the loss

    @property
    def start_step(self) -> float:
        """1/L_B: the plain SGD step ``learning_rate="auto"`` starts at."""
        return 1.0 / self.L_B

    @property
    def step(self) -> float:
        """min(1/L_B, noise_step): the plain SGD step its first decay ends at."""
        return min(self.start_step, self.noise_step)


def decay_steps(n: int, batch_size: int | None) -> int:
    """The steps of the first decay: an epoch of ``n`` rows, at least DECAY_MIN_STEPS."""
    per_epoch = 1 if batch_size is None else -(-int(n) // int(batch_size))
    return max(per_epoch, DECAY_MIN_STEPS)


def expected_smoothness(L: float, L_max: float, n: int, batch_size: int) -> float:
    """Gower et al.'s L_B of a batch of B of n rows drawn without replacement (B ≥ n: L)."""
    B = min(int(batch_size), int(n))
    if n <= 1 or B >= n:
        return float(L)
    return (n * (B - 1) * L + (n - B) * L_max) / (B * (n - 1))


def l2_strength(penalty: Any, alpha: Any, l1_ratio: Any) -> float:
    """α(1−ρ): the smooth part of the penalty (0 for 'none' and 'l1')."""
    kind = check_option("none" if penalty is None else penalty, "penalty", _core.Penalty)
    alpha = check_param(alpha, "alpha")
    if kind == _core.Penalty.none or kind == _core.Penalty.l1:
        return 0.0
    if kind == _core.Penalty.l2:
        return alpha
    return alpha * (1.0 - check_param(l1_ratio, "l1_ratio"))


def smoothness(
    X: Any,
    *,
    loss: Any,
    batch_size: Any,
    alpha: Any = 1e-4,
    penalty: Any = "l2",
    l1_ratio: Any = 0.15,
    fit_intercept: bool = True,
    intercept_decay: float = 1.0,
    sample_weight: Any = None,
    n_samples: int | None = None,
    n_threads: Any = None,
    start_noise: tuple[np.ndarray, float] | None = None,
) -> Smoothness:
    """L, L_max and L_B of the problem; ``batch_size=None`` is full batch. ``n_samples``: the
    rows an epoch draws from (a training split), when not all of X's. ``start_noise``: (u, F(0))
    from :func:`noise_at_zero`, for the rate the noise allows. X's values are checked (NaN/inf
    refused) in the row norms' pass, at no extra cost: a fit that uses these bounds need not scan
    X again."""
    kind = check_option(loss, "loss", _core.Loss)
    batch = None if batch_size is None else check_param(batch_size, "batch_size")
    l2 = l2_strength(penalty, alpha, l1_ratio)
    if not isinstance(fit_intercept, (bool, np.bool_)):
        raise TypeError(f"fit_intercept must be a bool, got {fit_intercept!r}")
    X = as_csr(X) if is_sparse(X) else check_data_matrix(X)
    sw = None if sample_weight is None else as_vector(sample_weight, "sample_weight", X.dtype)
    u = None if start_noise is None else as_vector(start_noise[0], "noise_weight", X.dtype)
    n_rows, n_cols = X.shape
    n = n_rows if n_samples is None else int(n_samples)
    B = n if batch is None else batch
    per_sample = B == 1 < n  # L_B = L_max: λ_max is not needed
    stored = n_cols if not is_sparse(X) else X.nnz / max(n_rows, 1)
    sample = max(POWER_MIN_ROWS, int(POWER_ROWS_PER_COLUMN * (stored + 1)))
    lam, max_row, noise, iterations = _core.gram_bounds(
        X,
        sw,
        noise_weight=u,
        intercept_scale=math.sqrt(intercept_decay) if fit_intercept else 0.0,
        n_threads=check_threads(n_threads, default_threads()),
        max_iter=0 if per_sample else POWER_MAX_ITER,
        rtol=POWER_RTOL,
        row_step=max(1, n_rows // sample),
        check_finite=True,
    )
    curvature = _core.loss_curvature(kind)
    L_max = curvature * max_row + l2
    if per_sample:
        L, lam, L_B = math.nan, math.nan, L_max
    else:
        L = curvature * lam + l2
        L_max = max(L_max, L)  # L ≤ L_max always; rounding must not invert it
        L_B = expected_smoothness(L, L_max, n, B)
    if not (L_B > 0 and math.isfinite(L_B)):
        raise ValueError(
            "learning_rate='auto' needs a non-zero, finite smoothness: X (with its intercept "
            "column) is all zeros and there is no L2 penalty, or its values overflow; set a rate"
        )
    noise_step = math.inf
    if start_noise is not None and B < n:
        batch_noise = (n - B) / (B * (n - 1)) * noise  # without replacement
        if batch_noise > 0 and start_noise[1] > 0:
            noise_step = 4.0 * NOISE_SHARE * start_noise[1] / batch_noise
    return Smoothness(
        L=L, L_max=L_max, L_B=L_B, lambda_max=lam, iterations=iterations, noise_step=noise_step
    )


def noise_at_zero(
    y: Any,
    sample_weight: Any = None,
    *,
    loss: Any,
    epsilon: float = 0.1,
    label_smoothing: float = 0.0,
    n_classes: int | None = None,
) -> tuple[np.ndarray, float]:
    """(u, F(0)) at the zero model: u_i = s_i·‖∂L(0, y_i)/∂p‖² and the mean loss F(0). The
    softmax's y: class indices (K = ``n_classes`` or max + 1) or (n, K) probabilities."""
    kind = check_option(loss, "loss", _core.Loss)
    y = np.asarray(y)
    s = 1.0 if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if _core.loss_targets(kind) == _core.Targets.classes:
        if y.ndim == 2:
            t = y.astype(np.float64)
        else:
            K = int(n_classes) if n_classes is not None else int(y.max()) + 1
            t = np.zeros((len(y), K))
            t[np.arange(len(y)), y.astype(np.int64)] = 1.0
        K = t.shape[1]
        t = (1.0 - label_smoothing) * t + label_smoothing / K
        g2 = ((1.0 / K - t) ** 2).sum(axis=1)  # softmax(0) = 1/K: the gradient is 1/K − t
        return s * g2, float(np.mean(s * np.log(K) * t.sum(axis=1)))
    values, derivs = _core.loss_and_derivative(
        kind, np.zeros(len(y)), np.ascontiguousarray(y, dtype=np.float64), float(epsilon)
    )
    return s * derivs**2, float(np.mean(s * values))


def optimizer_rate(step: float, optimizer: Any, grad_rms: float | None = None) -> float:
    """The rate that gives ``optimizer`` the plain step ``step``.

    Momentum and Nesterov (torch's form, v ← μv + (1−τ)g, w ← w − ηv) move by η(1−τ)/(1−μ)·g
    once v has built up, so η = (1−μ)·step keeps their step (dampening τ only shortens it). The
    normalized optimizers (Adagrad, RMSprop, Adam, AdamW) move each coordinate by about η per
    step whatever the gradient's scale, so smoothness alone cannot give their rate: they take the
    root mean square of the first plain step, step·‖∇F(0)‖/√(coefficients) (``grad_rms``: the
    gradient's), so that their first step moves the weights as far as plain SGD's would.
    """
    if optimizer is None:
        return step
    opt = optimizers.get_optimizer(optimizer)
    if opt.kind in ("momentum", "nesterov"):
        if opt.momentum >= 1.0:
            raise ValueError("learning_rate='auto' needs a momentum < 1 (its rate is (1 − μ)/L_B)")
        return (1.0 - opt.momentum) * step
    if opt.kind in NORMALIZED:
        if grad_rms is None:
            raise ValueError(
                f"learning_rate='auto' with optimizer={opt.kind!r} takes its rate from the first "
                "gradient (the estimators compute it); for fastgd.ops, use fastgd.lr_find or "
                "pass grad_rms"
            )
        return step * grad_rms if grad_rms > 0 else step
    return step
