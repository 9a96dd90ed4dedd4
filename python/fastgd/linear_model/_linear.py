"""What every fastgd linear estimator does once fitted: check X as the fit did, score it, and
(classifiers) turn the scores into classes and probabilities, with scikit-learn's formulas.
Shared by the SGD estimators and the private ones (fastgd.privacy)."""

from __future__ import annotations

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data


class LinearModel(BaseEstimator):
    """X's checks and the scores X·coef_ᵀ + intercept_, for estimators with ``coef_`` (d,),
    (1, d) or (K, d) and ``intercept_``."""

    def _validate_X(self, X, *y, reset: bool, **kw):
        """float32 stays float32; a C-contiguous float array passes through without a copy;
        anything else (lists, ints, Fortran order) is converted once, as scikit-learn does.
        scipy.sparse input is trained as CSR (O(non-zeros) per step): a CSR matrix with float
        values is used as it is, CSC/COO/... are converted to CSR once per fit. The fits pass
        ``ensure_all_finite=False``: the kernels scan X for NaN/inf themselves (in parallel,
        once per fit), before any training."""
        return validate_data(
            self,
            X,
            *y,
            reset=reset,
            dtype=[np.float64, np.float32],
            order="C",
            accept_sparse="csr",
            **kw,
        )

    def _decision(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return np.asarray(X @ np.atleast_2d(self.coef_).T + self.intercept_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class LinearClassifierMixin:
    """Classes and probabilities from a :class:`LinearModel`'s scores; needs ``classes_``,
    ``loss`` and ``multi_class_`` ('multinomial': one softmax model, else one-vs-rest)."""

    def decision_function(self, X):
        """Signed distance to the hyperplane(s): shape (n,) for two classes, else (n, K)."""
        scores = self._decision(X)
        return scores.reshape(-1) if scores.shape[1] == 1 else scores

    def predict(self, X):
        """The class of the highest score (binary: ``classes_[1]`` where the score is > 0)."""
        scores = self.decision_function(X)
        idx = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[idx]

    def _check_proba(self):
        if self.loss not in ("log_loss", "modified_huber"):
            raise AttributeError(f"probability estimates are not available for loss={self.loss!r}")
        return True

    @available_if(_check_proba)
    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``.

        log_loss: the logistic function of the score (one-vs-rest: normalized over classes), or
        the softmax of the scores of a multinomial model; modified_huber:
        (clip(score, −1, 1) + 1) / 2, normalized likewise — scikit-learn's formulas.
        """
        scores = np.asarray(self.decision_function(X), dtype=np.float64)
        if self.loss == "log_loss" and scores.ndim == 2 and self.multi_class_ == "multinomial":
            return softmax(scores, axis=1)
        if self.loss == "log_loss":
            prob = expit(scores)
        else:
            prob = (np.clip(scores, -1.0, 1.0) + 1.0) / 2.0
        if prob.ndim == 1:
            return np.column_stack([1.0 - prob, prob])
        total = prob.sum(axis=1, keepdims=True)
        zero = total[:, 0] == 0  # modified_huber can give 0 to every class: uniform then
        prob[zero] = 1.0
        total[zero] = prob.shape[1]
        return prob / total

    @available_if(_check_proba)
    def predict_log_proba(self, X):
        """log(predict_proba(X))."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))
