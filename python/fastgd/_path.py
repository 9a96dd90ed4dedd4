"""The L1 / elastic-net regularization path: :func:`path` and its :class:`RegularizationPath`.

As scikit-learn's ``enet_path``: α runs down a log grid from α_max, the smallest α whose model
is all zeros, and each fit starts from the previous α's coefficients (a warm start), so that the
whole path costs a few cold fits. α_max is where w = 0 satisfies the optimality condition
|∇_w loss(0, b*)|_j ≤ α·ρ for every feature j, b* being the best intercept of the zero model:
α_max = ‖∇_w loss(0, b*)‖_∞ / ρ. For the squared error this is scikit-learn's
``_alpha_grid``, max_j |X_cᵀ y_c|_j / (n·ρ) with X and y centered (the intercept), and the same
rule serves every loss of the estimators (for the non-differentiable hinge and
epsilon_insensitive, with the kernel's derivative at the kink: one subgradient of several, so
that their α_max is an estimate).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _solver
from ._validation import check_int, check_real

# The settings of each fit on the path unless the caller passes others: full-batch proximal
# gradient descent (the L1 step gives exact zeros, so the support is read off the coefficients)
# at the constant rate 1/L of the data's smoothness (see _rate), each fit run to path()'s tol:
# the path is a sequence of optima, so each fit must reach its own.
PATH_DEFAULTS = dict(batch_size=None, learning_rate="auto", max_iter=1000, shuffle=False)
# Bisection steps for the zero model's best intercept when no closed form is known (a
# bracket of width 2 halved 60 times is below float64's resolution of an intercept).
_BISECTION_STEPS = 60


@dataclass
class Start:
    """What the path starts from (:func:`probe`): ``alpha_max``; the data's ``smoothness`` at
    α = 0 (with ``learning_rate='auto'``, else None); ``zero``, an estimator fitted to the zero
    model w = 0, b = b*, the optimum for every α ≥ α_max; ``zero_objective``, its objective."""

    alpha_max: float
    smoothness: Any
    zero: Any
    zero_objective: float


@dataclass
class RegularizationPath:
    """The coefficients along a regularization path.

    ``alphas`` (n_alphas,) decreasing; ``coefs`` (n_features, n_alphas) for a regressor, or
    (n_outputs, n_features, n_alphas) for a classifier (n_outputs: 1 for two classes, else one
    per class), as ``sklearn.linear_model.enet_path``'s; ``intercepts`` (n_alphas,) or
    (n_outputs, n_alphas); ``n_iter`` (n_alphas,) the epochs of each fit; ``entry_alphas``
    (n_features,) the largest α at which each feature is non-zero (in any output), NaN for a
    feature that never enters; ``feature_names`` (n_features,). Unpacks as
    ``alphas, coefs = fastgd.path(...)``.
    """

    alphas: np.ndarray
    coefs: np.ndarray
    intercepts: np.ndarray
    n_iter: np.ndarray
    feature_names: np.ndarray
    l1_ratio: float

    def __iter__(self):
        return iter((self.alphas, self.coefs))

    @property
    def entry_alphas(self) -> np.ndarray:
        """The largest α at which each feature's coefficient is non-zero (NaN: never)."""
        nonzero = self.coefs != 0
        if nonzero.ndim == 3:
            nonzero = nonzero.any(axis=0)
        first = nonzero.argmax(axis=1)
        return np.where(nonzero.any(axis=1), self.alphas[first], np.nan)

    def entry_order(self) -> list[tuple[str, float]]:
        """(feature name, α of entry) of the features that enter, in the order they enter; those
        entering at the same α of the grid by the size of their coefficient there."""
        entry = self.entry_alphas
        size = np.abs(self.coefs)
        if size.ndim == 3:
            size = size.max(axis=0)
        at_entry = [size[j, np.argmax(size[j] > 0)] for j in range(len(entry))]
        order = np.lexsort((-np.asarray(at_entry), -np.nan_to_num(entry, nan=-np.inf)))
        return [(str(self.feature_names[j]), float(entry[j])) for j in order if entry[j] > -1]

    def plot(self, ax: Any = None, *, output: int = 0) -> Any:
        """Each feature's coefficient against α: a
        :class:`fastgd.display.RegularizationPathDisplay` (needs matplotlib)."""
        from .display import RegularizationPathDisplay

        return RegularizationPathDisplay.from_path(self, output=output, ax=ax)

    def __repr__(self) -> str:
        entered = ", ".join(f"{name} (α={a:.3g})" for name, a in self.entry_order()[:10])
        return (
            f"RegularizationPath({len(self.alphas)} alphas from {self.alphas[0]:.4g} to "
            f"{self.alphas[-1]:.4g}, l1_ratio={self.l1_ratio}; entering: {entered or 'none'})"
        )


def path(
    X: Any,
    y: Any,
    *,
    alphas: Any = None,
    l1_ratio: float = 1.0,
    n_alphas: int = 100,
    eps: float = 1e-3,
    loss: str = "squared_error",
    tol: float = 1e-7,
    sample_weight: Any = None,
    **estimator_params: Any,
) -> RegularizationPath:
    """The elastic-net regularization path of a fastgd linear model on (X, y), dense or sparse.

    Fits ``SGDRegressor`` (a regression ``loss``) or ``SGDClassifier`` (a classification one)
    with ``penalty='elasticnet'`` and ``l1_ratio`` ρ (1: the lasso) at each α of ``alphas``,
    largest first, each fit starting from the previous one's coefficients and intercept.
    Without ``alphas``, ``n_alphas`` values from α_max down to ``eps``·α_max, evenly spaced in
    log scale (scikit-learn's grid; α_max: the module docstring). Each fit stops once
    ``n_iter_no_change`` epochs improve its objective by less than ``tol``·F₀, F₀ the zero
    model's objective (scikit-learn's ``enet_path`` scales its tol by ‖y‖²/n likewise), so that
    tol does not depend on y's units. ``estimator_params`` go to the estimator (defaults:
    ``PATH_DEFAULTS``, full-batch proximal gradient descent at the constant rate 1/L, L the
    smoothness of the largest α's objective); with ``batch_size=1`` and plain SGD the
    estimator's cumulative L1 penalty also gives exact zeros. Features of very different scales
    slow the descent: standardize them (a StandardScaler) first. Fits that reach ``max_iter``
    give one ConvergenceWarning for the path. Returns a :class:`RegularizationPath`
    (``alphas, coefs = path(...)`` unpacks as ``enet_path``'s first two results).
    """
    l1_ratio = check_real(l1_ratio, "l1_ratio", low=0.0, low_open=True, high=1.0)
    tol = check_real(tol, "tol", low=0.0)
    base = _estimator(loss, l1_ratio, estimator_params)
    start = probe(base, X, y, sample_weight)
    grid = _grid(alphas, n_alphas, eps, start.alpha_max)
    base.set_params(tol=tol * start.zero_objective if start.zero_objective > 0 else tol)
    if start.smoothness is not None and base.batch_size is None:
        # Full-batch descent needs no decay of its rate: 1/L of the largest α's objective (the
        # smoothness at α = 0 plus the penalty's L2 part) is stable for every α on the grid.
        lr = 1.0 / (start.smoothness.L_B + grid[0] * (1.0 - l1_ratio))
        base.set_params(learning_rate="constant", eta0=lr)
    models = _fit_down(base, X, y, sample_weight, grid, start)
    last = models[-1]
    names = getattr(last, "feature_names_in_", None)
    if names is None:
        names = np.array([f"x{j}" for j in range(last.n_features_in_)], dtype=object)
    coefs = np.stack([np.array(m.coef_, dtype=np.float64) for m in models], axis=-1)
    intercepts = np.stack([np.array(m.intercept_, dtype=np.float64) for m in models], axis=-1)
    if coefs.ndim == 2 or not hasattr(last, "classes_"):  # a regressor: (d, n_alphas)
        coefs, intercepts = coefs.reshape(coefs.shape[-2:]), intercepts[0]
    return RegularizationPath(
        alphas=grid,
        coefs=coefs,
        intercepts=intercepts,
        n_iter=np.array([m.n_iter_ for m in models]),
        feature_names=np.asarray(names, dtype=object),
        l1_ratio=l1_ratio,
    )


def _estimator(loss: str, l1_ratio: float, params: dict) -> Any:
    """The unfitted estimator of the path's loss, elastic net and parameters."""
    from .linear_model import SGDClassifier, SGDRegressor
    from .linear_model._base import CLASSIFICATION_LOSSES, REGRESSION_LOSSES

    if loss not in CLASSIFICATION_LOSSES + REGRESSION_LOSSES:
        raise ValueError(
            f"loss must be one of {CLASSIFICATION_LOSSES + REGRESSION_LOSSES}, got {loss!r}"
        )
    for name in ("penalty", "alpha", "warm_start", "coef_init", "intercept_init"):
        if name in params:
            raise TypeError(f"path() sets {name} itself; got {name}={params[name]!r}")
    classify = loss in CLASSIFICATION_LOSSES or params.get("multi_class") is not None
    return (SGDClassifier if classify else SGDRegressor)(
        loss=loss, penalty="elasticnet", l1_ratio=l1_ratio, **{**PATH_DEFAULTS, **params}
    )


def _grid(alphas: Any, n_alphas: Any, eps: Any, alpha_max: float) -> np.ndarray:
    """The α of the path, decreasing: the given ones, or scikit-learn's log grid."""
    if alphas is not None:
        grid = np.sort(np.asarray(alphas, dtype=np.float64).ravel())[::-1]
        if grid.size == 0 or not (np.isfinite(grid).all() and (grid >= 0).all()):
            raise ValueError(f"alphas must be finite numbers >= 0, at least one; got {alphas!r}")
        return grid
    n_alphas = check_int(n_alphas, "n_alphas", low=1)
    eps = check_real(eps, "eps", low=0.0, low_open=True, high=1.0)
    if alpha_max == 0:  # the zero model fits y exactly: every α gives it
        return np.full(n_alphas, np.finfo(np.float64).tiny)
    return np.geomspace(alpha_max, alpha_max * eps, n_alphas)


def _fit_down(base: Any, X: Any, y: Any, sample_weight: Any, grid: np.ndarray, start: Start):
    """The fitted model of each α, each fit from the previous one's; one ConvergenceWarning
    for the fits that reached max_iter."""
    from sklearn.base import clone
    from sklearn.exceptions import ConvergenceWarning

    models, unconverged = [], []
    coef_init = intercept_init = None
    for a in grid:
        if a >= start.alpha_max:  # w = 0 is the optimum (α_max's definition): no fit to round it
            est = start.zero
        else:
            est = clone(base).set_params(alpha=float(a))
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                est.fit(
                    X,
                    y,
                    coef_init=coef_init,
                    intercept_init=intercept_init,
                    sample_weight=sample_weight,
                )
            for w in caught:
                if issubclass(w.category, ConvergenceWarning):
                    unconverged.append(a)
                else:
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        coef_init, intercept_init = _as_init(est)
        models.append(est)
    if unconverged:
        warnings.warn(
            f"{len(unconverged)} of the path's {len(grid)} fits reached max_iter={base.max_iter} "
            f"before their tol (α from {max(unconverged):.4g} to {min(unconverged):.4g}): raise "
            "max_iter or tol, or standardize the features",
            ConvergenceWarning,
            stacklevel=3,
        )
    return models


def _as_init(est: Any) -> tuple[np.ndarray, np.ndarray]:
    """The fitted model as the next fit's coef_init and intercept_init. A two-class softmax
    publishes the binary form w₁ − w₀; the symmetric pair ±w/2 has the same probabilities."""
    coef, intercept = est.coef_, est.intercept_
    if getattr(est, "multi_class_", None) == "multinomial" and len(est.classes_) == 2:
        coef = np.concatenate([-coef / 2, coef / 2])
        intercept = np.concatenate([-intercept / 2, intercept / 2])
    return coef, intercept


def probe(estimator: Any, X: Any, y: Any, sample_weight: Any = None) -> Start:
    """Where the path of the estimator's loss and l1_ratio on (X, y) starts (:class:`Start`).

    α_max = ‖∇_w loss(0, b*)‖_∞ / ρ over every model the fit trains (one per class in
    one-vs-rest); the smoothness of the data at α = 0 (``fastgd._auto_rate``) with
    ``learning_rate='auto'``. The estimator is not modified: a clone prepares the fit's own
    targets and weights (classes, ±1 labels, class weights) and hands them here instead of
    training (as :func:`fastgd.lr_find` does)."""
    from sklearn.base import clone

    probe = clone(estimator).set_params(alpha=0.0, max_iter=1, early_stopping=False, tol=None)
    found: list[tuple[float, Any, float]] = []

    def gradient_at_zero(X, tasks, settings, rng, train_rows, orders):
        if orders is not None:
            orders.close()
        _solver._prepare_problems(X, tasks, settings, X.shape[0], settings.n_threads)
        largest = objective = 0.0
        for task in tasks:
            b = _zero_model_intercept(task, task.coef, settings)
            value, g, _ = task.problem.loss_and_grad(task.coef, b)
            largest = max(largest, float(np.max(np.abs(g))))
            objective += float(value)
            task.intercept[...] = b  # the probe publishes the zero model
        smoothness = getattr(tasks[0].schedule, "smoothness_", None)
        found.append((largest / settings.l1_ratio, smoothness, objective))
        return _solver.Result(n_iter=0)

    probe._run = gradient_at_zero
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the probe's fit is not a fit: no ConvergenceWarning
        probe.fit(X, y, sample_weight=sample_weight)
    alpha_max, smoothness, objective = found[0]
    return Start(alpha_max, smoothness, probe, objective)


def _zero_model_intercept(task: Any, coef: np.ndarray, s: Any) -> Any:
    """The intercept b* minimizing the loss of the model w = 0: the weighted mean of y for the
    squared error, the log class frequencies for the softmax, a bisection of ∂loss/∂b (monotone
    in b: the loss is convex) otherwise; 0 without an intercept."""
    if coef.ndim == 2:  # softmax: softmax(b) = the weighted class frequencies
        if not s.fit_intercept:
            return np.zeros(coef.shape[0], dtype=coef.dtype)
        y = task.y
        t = y if y.ndim == 2 else np.eye(coef.shape[0])[y]
        freq = np.average(t, axis=0, weights=task.sample_weight)
        with np.errstate(divide="ignore"):
            return np.log(np.maximum(freq, np.finfo(np.float64).tiny)).astype(coef.dtype)
    if not s.fit_intercept:
        return 0.0
    if s.loss == "squared_error":
        return float(np.average(task.y.astype(np.float64), weights=task.sample_weight))

    def slope(b: float) -> float:
        return float(np.ravel(task.problem.loss_and_grad(coef, b)[2])[0])

    lo, hi = -1.0, 1.0
    while slope(lo) > 0 and lo > -1e300:
        lo *= 2.0
    while slope(hi) < 0 and hi < 1e300:
        hi *= 2.0
    for _ in range(_BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        if slope(mid) < 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
