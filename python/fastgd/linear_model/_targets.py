"""SGDClassifier's targets: the classes, soft labels (class probabilities), the choice between
one softmax model and one-vs-rest models, and the targets and sample weights (times class
weights) of each model to train."""

from __future__ import annotations

import numpy as np
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets

from .. import _core

MULTI_CLASS = ("auto", "ovr", "multinomial")


def is_soft(y) -> bool:
    """Whether y is an (n, K) matrix of class probabilities; a column vector is labels (warned
    about by scikit-learn's checks)."""
    y_shape = np.shape(np.asarray(y))
    return len(y_shape) == 2 and y_shape[1] > 1


def check_soft_labels(y) -> np.ndarray:
    """Class probabilities as float64: at least 2 columns, >= 0, rows summing to 1."""
    y = np.asarray(y, dtype=np.float64)
    if y.shape[1] < 2:
        raise ValueError("class probabilities need at least 2 columns")
    sums_to_one = np.allclose(y.sum(1), 1.0, rtol=0.0, atol=_core.PROBABILITY_SUM_TOLERANCE)
    if (y < 0).any() or not sums_to_one:
        raise ValueError("y as class probabilities must be >= 0 with rows summing to 1")
    return y


def check_targets(y, classes, soft: bool):
    """(y, classes, labels): y checked as labels, or as class probabilities when ``soft``; the
    classes as given; the distinct labels of y, sorted (for soft labels: the column indices,
    the classes when none are given)."""
    if soft:
        y = check_soft_labels(y)
        return y, classes, np.arange(y.shape[1])
    labels = _distinct_labels(y) if y.ndim == 1 and y.dtype.kind in "iuf" else None
    if labels is None or _may_not_be_classes(labels, len(y)):
        check_classification_targets(y)  # scikit-learn's own errors and warnings
        labels = np.unique(y) if labels is None else labels
    return y, classes, labels


def _distinct_labels(y: np.ndarray) -> np.ndarray:
    """``np.unique(y)`` of numeric 1-D (finite) labels; two labels, the common case, without
    sorting y."""
    low, high = y.min(), y.max()
    if low != high and np.all((y == low) | (y == high)):
        return np.array([low, high], dtype=y.dtype)
    return np.unique(y)


def _may_not_be_classes(labels: np.ndarray, n_samples: int) -> bool:
    """Whether scikit-learn's check_classification_targets could object to numeric 1-D labels:
    non-integral values (its test, on the distinct values instead of all of y), or more classes
    than half the samples (it warns). Otherwise its answer is known, and its pass over y saved."""
    if labels.dtype.kind == "f" and np.any(labels != labels.astype(np.int64).astype(labels.dtype)):
        return True
    return len(labels) > 2 and n_samples > 20 and len(labels) > round(0.5 * n_samples)


def check_labels(y, labels: np.ndarray | None, classes: np.ndarray, soft: bool) -> None:
    """At least two classes, and y's labels (``labels``: the distinct labels of y, sorted) or
    columns among them."""
    if len(classes) < 2:
        raise ValueError(
            f"The number of classes has to be greater than one; got {len(classes)} class"
        )
    if soft and y.shape[1] != len(classes):
        raise ValueError(
            f"y has {y.shape[1]} columns of class probabilities, classes_ has "
            f"{len(classes)} classes"
        )
    unknown = [] if soft else np.setdiff1d(labels, classes, assume_unique=True)
    if len(unknown):
        raise ValueError(f"y contains labels {unknown!r} not in classes_ {classes!r}")


def choose_multi_class(
    multi_class: str, loss: str, label_smoothing: float, n_classes: int, soft: bool
) -> str:
    """'multinomial' (one softmax model) or 'ovr' (one binary model per class)."""
    if multi_class == "multinomial" or soft:
        if loss != "log_loss":
            raise ValueError(
                "multi_class='multinomial' and class probabilities as y need "
                f"loss='log_loss', got loss={loss!r}"
            )
        return "multinomial"
    if multi_class == "auto" and loss == "log_loss" and n_classes > 2:
        return "multinomial"
    if label_smoothing:
        raise ValueError("label_smoothing applies to the multinomial model only")
    return "ovr"


def _are_plus_minus_one(y, classes: np.ndarray, dtype) -> bool:
    """Whether y's labels are already the binary kernel's targets: -1 and +1 in X's dtype."""
    return (
        y.dtype == dtype
        and y.ndim == 1
        and y.flags.c_contiguous
        and classes[0] == -1
        and classes[1] == 1
    )


def targets_and_weights(y, sw, dtype, classes: np.ndarray, multi_class: str, class_weight):
    """The targets and sample weights (times class weights) of each model to train: one
    softmax model (class indices, or the probabilities as given), or one-vs-rest models
    (labels ±1; in binary problems one model, for ``classes[1]``)."""
    if multi_class == "multinomial" and y.ndim == 2:  # soft labels
        if class_weight is not None:
            raise ValueError("class_weight does not apply to soft labels (class probabilities)")
        return [np.ascontiguousarray(y, dtype=dtype)], [sw]
    cw = compute_class_weight(class_weight, classes=classes, y=y)
    binary = len(classes) == 2 and multi_class != "multinomial"
    if binary:  # one model, for classes[1]: no class indices needed
        if cw[0] == 1.0 and cw[1] == 1.0 and _are_plus_minus_one(y, classes, dtype):
            return [y], [sw]  # already the kernel's labels: used as they are
        positive = y == classes[1]
        target = np.where(positive, dtype.type(1), dtype.type(-1))
        if cw[0] == 1.0 and cw[1] == 1.0:
            return [target], [sw]
        w = np.where(positive, cw[1], cw[0]).astype(dtype)
        return [target], [w if sw is None else w * sw]
    encoded = np.searchsorted(classes, y)
    if multi_class == "multinomial":
        w = None
        if not np.all(cw == 1.0):
            w = cw[encoded].astype(dtype)
            w = w if sw is None else w * sw
        return [encoded.astype(np.int64)], [sw if w is None else w]
    targets, weights = [], []
    for k in range(len(classes)):
        positive = encoded == k
        targets.append(np.where(positive, dtype.type(1), dtype.type(-1)))
        if cw[k] == 1.0:
            weights.append(sw)
        else:
            w = np.where(positive, cw[k], 1.0).astype(dtype)
            weights.append(w if sw is None else w * sw)
    return targets, weights
