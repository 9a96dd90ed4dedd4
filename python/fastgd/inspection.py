"""Reading a fitted linear model: its coefficients by feature name, in the data's units or in
standardized units.

:func:`coefficients` returns a :class:`Coefficients` table: NumPy arrays with a readable
``repr`` and ``to_string``, and ``to_frame()`` for a pandas DataFrame. A NumPy record rather than
a DataFrame, because fastgd depends on NumPy alone: the table works (and prints) without pandas,
and pandas users are one call away from theirs.

The regularization path (:func:`fastgd.path`) and the plots (:mod:`fastgd.display`) build on
these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import is_sparse

__all__ = ["Coefficients", "coefficients", "feature_names"]


@dataclass(frozen=True)
class Coefficients:
    """A linear model's coefficients by feature.

    ``names`` (d,) the feature names; ``values`` (d,) for one output (a regressor, a binary
    classifier) or (K, d), one row per class; ``outputs`` the label of each row of values (K,)
    (``"coefficient"`` for a regressor, the positive class for a binary classifier);
    ``intercept`` (K,); ``scale`` (d,) the features' standard deviations the values were
    multiplied by (None: the data's units); ``standardized`` whether they were.
    """

    names: np.ndarray
    values: np.ndarray
    outputs: np.ndarray
    intercept: np.ndarray
    scale: np.ndarray | None = None

    @property
    def standardized(self) -> bool:
        """True when the values are in standardized units (coefficient × the feature's std)."""
        return self.scale is not None

    def _table(self) -> np.ndarray:
        return np.atleast_2d(self.values)  # (K, d)

    def magnitude(self) -> np.ndarray:
        """Each feature's largest absolute coefficient over the outputs (d,)."""
        return np.abs(self._table()).max(axis=0)

    def largest(self, n: int | None = None) -> Coefficients:
        """The ``n`` features of largest magnitude (all: None), largest first (ties in the
        model's order)."""
        order = np.argsort(-self.magnitude(), kind="stable")[:n]
        values = self.values[..., order]
        scale = None if self.scale is None else self.scale[order]
        return Coefficients(self.names[order], values, self.outputs, self.intercept, scale)

    def to_dict(self) -> dict[str, Any]:
        """{feature name: coefficient} (one output) or {feature name: {output: coefficient}}."""
        table = self._table()
        if len(self.outputs) == 1:
            return {str(n): float(v) for n, v in zip(self.names, table[0])}
        return {
            str(n): {str(o): float(v) for o, v in zip(self.outputs, table[:, j])}
            for j, n in enumerate(self.names)
        }

    def to_frame(self) -> Any:
        """A pandas DataFrame: one row per feature (index: the names), one column per output."""
        import pandas as pd

        return pd.DataFrame(
            self._table().T,
            index=pd.Index([str(n) for n in self.names], name="feature"),
            columns=[str(o) for o in self.outputs],
        )

    def to_string(self, max_rows: int | None = None) -> str:
        """The table as text, features by magnitude, largest first (the first ``max_rows``)."""
        shown = self.largest(max_rows)
        table = shown._table()
        head = ["feature", *(str(o) for o in self.outputs)]
        rows = [[str(n), *(f"{v:.6g}" for v in table[:, j])] for j, n in enumerate(shown.names)]
        rows.append(["(intercept)", *(f"{b:.6g}" for b in np.ravel(self.intercept))])
        widths = [max(len(r[c]) for r in [head, *rows]) for c in range(len(head))]
        lines = [
            "  ".join(
                cell.ljust(w) if c == 0 else cell.rjust(w)
                for c, (cell, w) in enumerate(zip(row, widths))
            )
            for row in [head, *rows]
        ]
        units = "standardized: coefficient × feature std" if self.standardized else "data units"
        hidden = len(self.names) - len(shown.names)
        more = [f"... {hidden} more feature(s)"] if hidden else []
        return "\n".join([f"Coefficients ({units}), largest first:", *lines[:-1], *more, lines[-1]])

    def __repr__(self) -> str:
        return self.to_string(max_rows=20)


def feature_names(estimator: Any) -> np.ndarray:
    """The names of the features the model's coefficients apply to: ``feature_names_in_`` (set
    by a fit on a DataFrame) or the transformed names of a Pipeline's steps before the model,
    else scikit-learn's default ``x0, x1, ...``."""
    model, before = _split(estimator)
    if before is not None:
        try:
            return np.asarray(before.get_feature_names_out(), dtype=object)
        except (AttributeError, ValueError, TypeError):  # a step without names out
            pass
    names = getattr(model, "feature_names_in_", None)
    if names is not None and before is None:
        return np.asarray(names, dtype=object)
    return np.array([f"x{j}" for j in range(np.shape(model.coef_)[-1])], dtype=object)


def coefficients(estimator: Any, X: Any = None, *, standardized: bool = False) -> Coefficients:
    """The coefficients of a fitted linear model (``coef_``, ``intercept_``: fastgd's or
    scikit-learn's, or a Pipeline ending with one) by feature name.

    ``standardized=True`` multiplies each coefficient by its feature's standard deviation: the
    change of the model's output for one standard deviation of the feature, comparable across
    features of different units. The standard deviations are those of ``X`` (as the model sees
    it: through a Pipeline's steps before the model; dense or sparse), or, without ``X``, those
    a Pipeline's StandardScaler leaves right before the model (1 for every feature that varies:
    such a model is already in standardized units). Raises ValueError when neither is there.
    """
    from sklearn.utils.validation import check_is_fitted

    model, before = _split(estimator)
    check_is_fitted(model, "coef_")
    coef = np.asarray(model.coef_, dtype=np.float64)
    intercept = np.atleast_1d(np.asarray(getattr(model, "intercept_", 0.0), dtype=np.float64))
    classes = getattr(model, "classes_", None)
    if coef.ndim == 1:
        outputs = np.array(["coefficient"], dtype=object)
    elif coef.shape[0] == 1:
        label = classes[1] if classes is not None and len(classes) == 2 else "coefficient"
        outputs, coef = np.array([label], dtype=object), coef[0]
    else:
        outputs = np.asarray(classes if classes is not None else np.arange(coef.shape[0]))
    names = feature_names(estimator)
    scale = None
    if standardized:
        scale = _feature_std(model, before, X)
        if scale.shape != (coef.shape[-1],):
            raise ValueError(
                f"X has {scale.shape[0]} features as the model sees them; the model has "
                f"{coef.shape[-1]}"
            )
        coef = coef * scale
    return Coefficients(names, coef, outputs, intercept, scale)


def _split(estimator: Any) -> tuple[Any, Any]:
    """(the linear model, the Pipeline's steps before it or None)."""
    steps = getattr(estimator, "steps", None)
    if steps is not None and hasattr(estimator, "__getitem__"):
        return estimator[-1], (estimator[:-1] if len(steps) > 1 else None)
    if not hasattr(estimator, "coef_") and not hasattr(estimator, "fit"):
        raise TypeError(
            f"estimator must be a fitted linear model or a Pipeline ending with one, got "
            f"{type(estimator).__name__}"
        )
    return estimator, None


def _feature_std(model: Any, before: Any, X: Any) -> np.ndarray:
    """The standard deviation of each feature the model sees (see :func:`coefficients`)."""
    if X is not None:
        Xt = before.transform(X) if before is not None else X
        return _column_std(Xt)
    last = None if before is None else before[-1]
    if getattr(last, "scale_", None) is not None and getattr(last, "var_", None) is not None:
        return np.where(np.asarray(last.var_) > 0, 1.0, 0.0)  # a fitted StandardScaler
    raise ValueError(
        "standardized=True needs X (the data whose feature standard deviations scale the "
        "coefficients), or a Pipeline with a fitted StandardScaler right before the model"
    )


def _column_std(X: Any) -> np.ndarray:
    """Population standard deviation of each column (float64), without densifying sparse X."""
    if is_sparse(X):
        X = X.tocsr() if hasattr(X, "tocsr") else X
        mean = np.asarray(X.mean(axis=0), dtype=np.float64).ravel()
        mean_sq = np.asarray(X.multiply(X).mean(axis=0), dtype=np.float64).ravel()
        return np.sqrt(np.maximum(mean_sq - mean**2, 0.0))
    return np.asarray(X, dtype=np.float64).std(axis=0)
