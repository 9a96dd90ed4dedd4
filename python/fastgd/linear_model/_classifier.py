"""SGDClassifier: scikit-learn's SGDClassifier on fastgd's fused kernels, with softmax
(multinomial) models and soft labels."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin

from .._params import SHARED_CONSTRAINTS, Instance, Options
from .._validation import is_sparse
from . import _targets
from ._base import CLASSIFICATION_LOSSES, REGRESSION_LOSSES, _BaseSGD
from ._linear import LinearClassifierMixin


class SGDClassifier(ClassifierMixin, LinearClassifierMixin, _BaseSGD):
    """Linear classifiers by SGD on fused kernels; a drop-in for sklearn's SGDClassifier.

    Binary problems train one model on labels ±1 (the positive class is ``classes_[1]``). With
    more classes, ``loss='log_loss'`` trains one softmax (multinomial) model in the kernel
    (``multi_class='auto'``); other losses, or ``multi_class='ovr'``, train one-vs-rest, one
    model per class, side by side on ``n_jobs`` threads. ``y`` may also be an (n, K) matrix of
    class probabilities (soft labels, e.g. a teacher model's ``predict_proba`` to distil), with
    ``loss='log_loss'``: the model then minimizes cross-entropy against them;
    ``label_smoothing`` ε mixes the targets with the uniform distribution, (1 − ε)·t + ε/K.
    Losses: 'hinge' (linear SVM), 'log_loss' (logistic regression), 'modified_huber',
    'squared_hinge', and the regression losses on ±1 targets. See :class:`SGDRegressor` for the
    extra parameters (``verbose``'s progress bar, ``batch_size``, ``shuffle='block'``, schedule
    objects, ``n_jobs``, ``callbacks``, ``optimizer``, ``sparse_updates``). With
    ``class_weight``, each sample's weight is multiplied by its class's weight (in one-vs-rest,
    the rest class weighs 1), as scikit-learn does.

    Attributes: ``coef_`` (1, d) or (K, d), ``intercept_`` (1,) or (K,), ``classes_``,
    ``n_iter_`` (the most epochs any class ran), ``t_``, ``loss_curve_`` (per epoch: the sum over
    the one-vs-rest models of their mean progressive loss), ``validation_scores_`` (with
    ``early_stopping``: the validation accuracy after each epoch — one-vs-rest: the mean of the
    classes' binary accuracies —, else None), ``n_features_in_``,
    ``feature_names_in_``.
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "loss": [Options(CLASSIFICATION_LOSSES + REGRESSION_LOSSES)],
        **_BaseSGD._parameter_constraints,
        "class_weight": [None, Options(("balanced",)), Instance(dict, "a dict {class: weight}")],
        "multi_class": [Options(_targets.MULTI_CLASS)],
        "label_smoothing": SHARED_CONSTRAINTS["label_smoothing"],
    }

    def __init__(
        self,
        loss="hinge",
        *,
        penalty="l2",
        alpha=0.0001,
        l1_ratio=0.15,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-3,
        shuffle=True,
        verbose=0,
        epsilon=0.1,
        n_jobs=None,
        random_state=None,
        learning_rate="optimal",
        eta0=0.01,
        power_t=0.5,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        class_weight=None,
        warm_start=False,
        average=False,
        batch_size=1,
        callbacks=None,
        optimizer="sgd",
        sparse_updates="auto",
        multi_class="auto",
        label_smoothing=0.0,
    ):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.verbose = verbose
        self.epsilon = epsilon
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.average = average
        self.batch_size = batch_size
        self.callbacks = callbacks
        self.optimizer = optimizer
        self.sparse_updates = sparse_updates
        self.multi_class = multi_class
        self.label_smoothing = label_smoothing

    def _fit(self, X, y, coef_init, intercept_init, sample_weight, classes, *, partial: bool):
        self._check_params(for_partial_fit=partial)
        first = not partial or not hasattr(self, "classes_")
        soft = _targets.is_soft(y)
        X, y = self._validate_X(X, y, reset=first, multi_output=soft, ensure_all_finite=False)
        orders = self._start_orders(X, partial=partial, fresh=first)
        y, classes, labels = _targets.check_targets(y, classes, soft)
        if first:
            self.classes_ = labels if classes is None else np.unique(classes)
            if partial and classes is None and not soft:  # soft: the columns are the classes
                raise ValueError("classes must be passed on the first call to partial_fit")
            self.multi_class_ = _targets.choose_multi_class(
                self.multi_class, self.loss, self.label_smoothing, len(self.classes_), soft
            )
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"classes={classes!r} differs from classes_={self.classes_!r} of "
                "the first partial_fit call"
            )
        if not first and soft != getattr(self, "_soft_labels", False):
            raise ValueError("partial_fit cannot switch between labels and class probabilities")
        self._soft_labels = soft
        _targets.check_labels(y, labels, self.classes_, soft)
        sw = self._check_sample_weight(sample_weight, X.shape[0], X.dtype)
        if partial and isinstance(self.class_weight, str):
            raise ValueError(  # scikit-learn's words first, for code that matches on them
                f"class_weight {self.class_weight!r} is not supported for partial_fit: it needs "
                "the class frequencies of all the data; pass a dict instead, e.g. "
                "compute_class_weight('balanced', classes=classes, y=y) on a large enough "
                "sample of the targets"
            )
        targets, weights = _targets.targets_and_weights(
            y, sw, X.dtype, self.classes_, self.multi_class_, self.class_weight
        )
        joint = self.multi_class_ == "multinomial"
        n_outputs = len(self.classes_) if joint else len(targets)
        feature_major = joint and is_sparse(X)
        if first:
            coef, intercept = self._initial_params(
                n_outputs,
                X.shape[1],
                X.dtype,
                coef_init,
                intercept_init,
                order="F" if feature_major else "C",
            )
        else:
            coef, intercept = self._continued_params(X.dtype)
        if joint:  # feature-major on sparse X: each feature's K coefficients side by side
            coef = np.asfortranarray(coef) if feature_major else np.ascontiguousarray(coef)
        train_rows, val_rows = self._validation_split(y.argmax(1) if soft else y, sw)
        self._train(
            X,
            targets,
            weights,
            coef,
            intercept,
            partial=partial,
            fresh=first,
            train_rows=train_rows,
            validation_rows=val_rows,
            joint=joint,
            orders=orders,
        )
        coef, intercept = self._published(coef, intercept, joint=joint)
        if joint and len(self.classes_) == 2:
            # Two classes: expose the binary form, so that decision_function is (n,) and the
            # probabilities are the logistic function of it (softmax of two logits).
            coef, intercept = coef[1:] - coef[:1], intercept[1:] - intercept[:1]
        self.coef_, self.intercept_ = coef, intercept
        return self

    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit by SGD for up to max_iter epochs (fewer when tol/early stopping stops it)."""
        return self._fit_keeping_model(
            lambda: self._fit(X, y, coef_init, intercept_init, sample_weight, None, partial=False)
        )

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over (X, y); ``classes`` (all labels) is required on the first call."""
        return self._fit_keeping_model(
            lambda: self._fit(X, y, None, None, sample_weight, classes, partial=True)
        )
