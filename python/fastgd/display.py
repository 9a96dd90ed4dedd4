"""Plots as display objects, in the style of scikit-learn's ``RocCurveDisplay``.

Each display holds the data it plots; ``from_estimator`` (or ``from_schedule``, ``from_result``,
``from_path``) builds it and draws it, ``plot(ax=None)`` draws it (again) on ``ax`` or on a new
figure's axes, and the drawing's artists stay as attributes (``ax_``, ``figure_``, ``line_``,
...) for the caller to restyle. matplotlib (``pip install fastgd[plot]``) is imported when a plot
is drawn, never when fastgd is imported.

- :class:`LossCurveDisplay`: the training loss per epoch, and the validation score early
  stopping watched.
- :class:`ScheduleDisplay`: a learning-rate schedule's rates over the steps.
- :class:`CoefficientDisplay`: the coefficients by feature name
  (:func:`fastgd.inspection.coefficients`).
- :class:`LRFinderDisplay`: the learning-rate range test of :func:`fastgd.lr_find`.
- :class:`RegularizationPathDisplay`: the coefficients along :func:`fastgd.path`'s α grid.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "CoefficientDisplay",
    "LRFinderDisplay",
    "LossCurveDisplay",
    "RegularizationPathDisplay",
    "ScheduleDisplay",
]


def axes(ax: Any, what: str) -> Any:
    """``ax``, or the axes of a new figure; matplotlib is imported here, with a clear error
    naming ``what`` is being drawn when it is missing."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise ImportError(
            f"{what} needs matplotlib (pip install matplotlib, or fastgd[plot]); the data it "
            "plots is available without it"
        ) from e
    if ax is None:
        _, ax = plt.subplots()
    return ax


class _Display:
    """What every display keeps after ``plot``: the axes and their figure."""

    ax_: Any = None
    figure_: Any = None

    def _drawn_on(self, ax: Any) -> None:
        self.ax_, self.figure_ = ax, ax.figure


class LossCurveDisplay(_Display):
    """The training loss per epoch (``loss_curve_``) and, when the fit used early stopping, the
    validation score it watched (``validation_scores_``, on a second y axis).

    Attributes after ``plot``: ``line_`` (the loss), ``validation_line_`` (or None),
    ``validation_ax_`` (the second axes, or None), ``ax_``, ``figure_``.
    """

    def __init__(self, loss_curve: Any, validation_scores: Any = None, *, name: str | None = None):
        self.loss_curve = np.asarray(loss_curve, dtype=np.float64)
        self.validation_scores = (
            None if validation_scores is None else np.asarray(validation_scores, dtype=np.float64)
        )
        self.name = name

    @classmethod
    def from_estimator(cls, estimator: Any, *, ax: Any = None) -> LossCurveDisplay:
        """The curves a fitted fastgd estimator recorded, drawn on ``ax``."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(estimator, "loss_curve_")
        scores = getattr(estimator, "validation_scores_", None)
        return cls(estimator.loss_curve_, scores, name=type(estimator).__name__).plot(ax=ax)

    def plot(self, ax: Any = None) -> LossCurveDisplay:
        """Loss against epoch (1, 2, ...); the validation score on a twin axis."""
        ax = axes(ax, "LossCurveDisplay")
        epochs = np.arange(1, len(self.loss_curve) + 1)
        label = "training loss" if self.name is None else f"{self.name}: training loss"
        (self.line_,) = ax.plot(epochs, self.loss_curve, label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel("mean loss of the epoch")
        self.validation_line_ = self.validation_ax_ = None
        if self.validation_scores is not None:
            self.validation_ax_ = ax.twinx()
            (self.validation_line_,) = self.validation_ax_.plot(
                np.arange(1, len(self.validation_scores) + 1),
                self.validation_scores,
                color="C1",
                label="validation score",
            )
            self.validation_ax_.set_ylabel("validation score")
        handles = [self.line_]
        if self.validation_line_ is not None:
            handles.append(self.validation_line_)
        ax.legend(handles=handles)
        self._drawn_on(ax)
        return self


class ScheduleDisplay(_Display):
    """A schedule's learning rates over global steps ``start ... start + n_steps - 1``, as the
    training loop asks for them (:func:`fastgd.schedules.rates`).

    Attributes after ``plot``: ``line_``, ``ax_``, ``figure_``.
    """

    def __init__(self, steps: Any, rates: Any, *, name: str | None = None):
        self.steps = np.asarray(steps)
        self.rates = np.asarray(rates, dtype=np.float64)
        self.name = name

    @classmethod
    def from_schedule(
        cls, schedule: Any, n_steps: int, *, start: int = 0, ax: Any = None, log: bool = False
    ) -> ScheduleDisplay:
        """The rates of ``schedule`` (a :mod:`fastgd.schedules` object or a vectorized callable
        of step indices) over ``n_steps`` steps from ``start``; ``log``: a log-scale rate axis.
        A stateful schedule (``Adaptive``) shows its current rate: its decay reacts to losses
        only a fit produces."""
        from .schedules import rates

        values = rates(schedule, start, n_steps)
        steps = np.arange(start, start + len(values))
        name = getattr(schedule, "__name__", None) or type(schedule).__name__
        return cls(steps, values, name=name).plot(ax=ax, log=log)

    def plot(self, ax: Any = None, *, log: bool = False) -> ScheduleDisplay:
        """Rate against step."""
        ax = axes(ax, "ScheduleDisplay")
        (self.line_,) = ax.plot(self.steps, self.rates, label=self.name)
        if log:
            ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("learning rate")
        if self.name:
            ax.legend()
        self._drawn_on(ax)
        return self


class CoefficientDisplay(_Display):
    """A horizontal bar per feature: its coefficient (one bar per output for a multi-class
    model), the ``max_features`` largest by magnitude, largest at the top.

    Attributes after ``plot``: ``bars_`` (one BarContainer per output), ``ax_``, ``figure_``;
    ``coefficients`` (the :class:`fastgd.inspection.Coefficients` table plotted).
    """

    def __init__(self, coefficients: Any, *, max_features: int | None = 20):
        self.coefficients = coefficients.largest(max_features)

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        X: Any = None,
        *,
        standardized: bool = False,
        max_features: int | None = 20,
        ax: Any = None,
    ) -> CoefficientDisplay:
        """The coefficients of a fitted linear model (or a Pipeline ending with one), by name;
        ``standardized``, ``X``: as :func:`fastgd.inspection.coefficients`."""
        from .inspection import coefficients

        table = coefficients(estimator, X, standardized=standardized)
        return cls(table, max_features=max_features).plot(ax=ax)

    def plot(self, ax: Any = None) -> CoefficientDisplay:
        """Bars of the coefficients; features on the y axis."""
        ax = axes(ax, "CoefficientDisplay")
        table = self.coefficients
        values = np.atleast_2d(table.values)  # (K, d)
        k, d = values.shape
        height = 0.8 / k
        position = np.arange(d)[::-1]  # the largest at the top
        self.bars_ = [
            ax.barh(
                position + (k - 1 - i - (k - 1) / 2) * height,
                values[i],
                height=height,
                label=str(table.outputs[i]),
            )
            for i in range(k)
        ]
        ax.set_yticks(position, [str(n) for n in table.names])
        ax.axvline(0.0, color="black", linewidth=0.8)
        ax.set_xlabel(
            "coefficient × feature std (standardized)" if table.standardized else "coefficient"
        )
        if k > 1:
            ax.legend(title="class")
        self._drawn_on(ax)
        return self


class LRFinderDisplay(_Display):
    """The learning-rate range test: the smoothed loss against the rate (log scale), the
    suggested rate marked.

    Attributes after ``plot``: ``line_``, ``suggestion_line_`` (or None when there is no
    suggestion), ``ax_``, ``figure_``.
    """

    def __init__(self, lrs: Any, losses: Any, suggestion: float = math.nan):
        self.lrs = np.asarray(lrs, dtype=np.float64)
        self.losses = np.asarray(losses, dtype=np.float64)
        self.suggestion = float(suggestion)

    @classmethod
    def from_result(cls, result: Any, *, ax: Any = None) -> LRFinderDisplay:
        """The display of a :func:`fastgd.lr_find` result."""
        return cls(result.lrs, result.losses, result.suggestion).plot(ax=ax)

    @classmethod
    def from_estimator(cls, estimator: Any, X: Any, y: Any, *, ax: Any = None, **kwargs: Any):
        """Run :func:`fastgd.lr_find` on (X, y) (``kwargs``: its options) and draw it."""
        from ._lr_find import lr_find

        return cls.from_result(lr_find(estimator, X, y, **kwargs), ax=ax)

    def plot(self, ax: Any = None) -> LRFinderDisplay:
        """Smoothed loss against rate."""
        ax = axes(ax, "LRFinderDisplay")
        (self.line_,) = ax.plot(self.lrs, self.losses, label="smoothed loss")
        self.suggestion_line_ = None
        if math.isfinite(self.suggestion):
            self.suggestion_line_ = ax.axvline(
                self.suggestion, linestyle="--", color="gray", label="suggestion"
            )
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        ax.legend()
        self._drawn_on(ax)
        return self


class RegularizationPathDisplay(_Display):
    """Each feature's coefficient against α (log scale, decreasing to the right, as the path
    runs), labelled by feature name; a classifier's path shows one output (``output``).

    Attributes after ``plot``: ``lines_`` (one per feature, in the features' order), ``ax_``,
    ``figure_``.
    """

    def __init__(self, alphas: Any, coefs: Any, feature_names: Any = None):
        self.alphas = np.asarray(alphas, dtype=np.float64)
        self.coefs = np.asarray(coefs, dtype=np.float64)  # (n_features, n_alphas)
        if feature_names is None:
            feature_names = [f"x{j}" for j in range(self.coefs.shape[0])]
        self.feature_names = [str(n) for n in feature_names]

    @classmethod
    def from_path(cls, path: Any, *, output: int = 0, ax: Any = None) -> RegularizationPathDisplay:
        """The display of a :func:`fastgd.path` result (``output``: the class row of a
        classifier's coefficients)."""
        coefs = path.coefs if path.coefs.ndim == 2 else path.coefs[output]
        return cls(path.alphas, coefs, path.feature_names).plot(ax=ax)

    def plot(self, ax: Any = None) -> RegularizationPathDisplay:
        """Coefficient against α."""
        ax = axes(ax, "RegularizationPathDisplay")
        self.lines_ = [
            ax.plot(self.alphas, self.coefs[j], label=name)[0]
            for j, name in enumerate(self.feature_names)
        ]
        ax.set_xscale("log")
        if self.alphas[0] > self.alphas[-1]:
            ax.set_xlim(self.alphas[0], self.alphas[-1])  # the path's direction: α decreasing
        ax.set_xlabel("α (regularization strength)")
        ax.set_ylabel("coefficient")
        if len(self.lines_) <= 20:
            ax.legend(fontsize="small")
        self._drawn_on(ax)
        return self
