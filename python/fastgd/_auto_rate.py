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

# Power iterations: the step needs λ_max to a few per cent, and each iteration costs a pass over
# X; the warm start (the columns' scales) gets there in a few passes on unscaled or correlated
# data, and ‖Av‖ only ever underestimates λ_max, by less than the last relative change.
POWER_MAX_ITER = 10
POWER_RTOL = 1e-2
# The optimizers whose step is normalized per coordinate (torch's Adagrad, RMSprop, Adam): their
# rate is a distance in weight units, not a multiple of the gradient.
NORMALIZED = ("adagrad", "rmsprop", "adam", "adamw")


@dataclass(frozen=True)
class Smoothness:
    """The smoothness constants of one problem (see the module's docstring)."""

    L: float  # of F
    L_max: float  # of one sample's term, at most
    L_B: float  # expected, of a batch of B rows
    lambda_max: float  # of X̃ᵀSX̃/n
    iterations: int  # power iterations run

    @property
    def step(self) -> float:
        """1/L_B: the plain SGD step of ``learning_rate="auto"``."""
        return 1.0 / self.L_B


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
    check_input: bool = True,
) -> Smoothness:
    """L, L_max and L_B of the problem; ``batch_size=None`` is full batch. ``n_samples``: the
    rows an epoch draws from (a training split), when not all of X's."""
    kind = check_option(loss, "loss", _core.Loss)
    batch = None if batch_size is None else check_param(batch_size, "batch_size")
    l2 = l2_strength(penalty, alpha, l1_ratio)
    if not isinstance(fit_intercept, (bool, np.bool_)):
        raise TypeError(f"fit_intercept must be a bool, got {fit_intercept!r}")
    X = as_csr(X) if is_sparse(X) else check_data_matrix(X)
    sw = None if sample_weight is None else as_vector(sample_weight, "sample_weight", X.dtype)
    lam, max_row, iterations = _core.gram_bounds(
        X,
        sw,
        intercept_scale=math.sqrt(intercept_decay) if fit_intercept else 0.0,
        n_threads=check_threads(n_threads, default_threads()),
        max_iter=POWER_MAX_ITER,
        rtol=POWER_RTOL,
        check_finite=bool(check_input),
    )
    if not (math.isfinite(lam) and math.isfinite(max_row)) and not check_input:
        # X was not scanned here (its fit's prepared problem does that): name what is wrong.
        _core.gram_bounds(X, sw, max_iter=1, check_finite=True)
    curvature = _core.loss_curvature(kind)
    L = curvature * lam + l2
    L_max = max(curvature * max_row + l2, L)  # L ≤ L_max always; rounding must not invert it
    n = X.shape[0] if n_samples is None else int(n_samples)
    B = n if batch is None else batch
    L_B = expected_smoothness(L, L_max, n, B)
    if not (L_B > 0 and math.isfinite(L_B)):
        raise ValueError(
            "learning_rate='auto' needs a non-zero, finite smoothness: X (with its intercept "
            "column) is all zeros and there is no L2 penalty, or its values overflow; set a rate"
        )
    return Smoothness(L=L, L_max=L_max, L_B=L_B, lambda_max=lam, iterations=iterations)


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
