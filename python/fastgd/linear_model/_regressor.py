"""SGDRegressor: scikit-learn's SGDRegressor on fastgd's fused kernels."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import RegressorMixin

from .._params import Options
from ._base import REGRESSION_LOSSES, _BaseSGD


class SGDRegressor(RegressorMixin, _BaseSGD):
    """Linear regression by SGD on fused kernels; a drop-in for sklearn.linear_model.SGDRegressor.

    Minimizes ``(1/n) Σ s_i·L(x_i·w + b, y_i) + α·R(w)`` (see :mod:`fastgd.ops`) by minibatch SGD
    with ``batch_size`` rows per step (``1``: scikit-learn's per-sample SGD and the same model;
    ``None``: full-batch gradient descent). Parameters have scikit-learn's names, meanings,
    defaults and (1.9's) domains, but for what fastgd lacks (the passive-aggressive rates
    'pa1'/'pa2', the 'perceptron' loss), refusing non-finite numbers, bools as numbers and
    ``n_jobs=0`` (tests/test_sklearn_behaviours.py says why), plus the parameters below.

    Attributes: ``coef_`` (d,), ``intercept_`` (1,), ``n_iter_``, ``t_`` (steps + 1),
    ``loss_curve_`` (mean progressive loss of each epoch), ``validation_scores_`` (with
    ``early_stopping``: the validation R² after each epoch, else None), ``n_features_in_``,
    ``feature_names_in_``.

    Parameters
    ----------
    verbose : int, default=0
        0: silent. 1: a progress bar on stderr (epochs, loss, rows/s, ETA), shown once a fit
        has run for a second: tqdm's when tqdm is installed, else one plain line. 2: also a line
        per epoch on stdout (scikit-learn's ``-- Epoch``).
    batch_size : int or None, default=1
        Rows per step; None: all rows in one step (full-batch gradient descent).
    shuffle : bool or 'block', default=True
        True: a new permutation of the rows each epoch, as scikit-learn; 'block': a block-shuffled
        order (blocks of contiguous rows in a random order, rows shuffled within windows of a few
        blocks), which the kernels read at nearly the speed of storage order
        (:func:`fastgd.ops.block_order`, docs/performance.md).
    learning_rate : str or schedule, default='invscaling'
        'constant', 'optimal', 'invscaling', 'adaptive' or any :mod:`fastgd.schedules` object or
        vectorized callable of global step indices (copied at fit, never modified).
    n_jobs : int or None, default=None
        Threads for the kernels (None: OpenMP's default; -1: all).
    callbacks : list of callables, default=None
        ``cb(epoch, loss)`` after each epoch (``loss``: the epoch's mean progressive loss);
        returning False stops training.
    optimizer : str or fastgd.optimizers object, default='sgd'
        'sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam', 'adamw' (PyTorch's formulas
        and defaults) or an object with its hyper-parameters (copied at fit; its state is kept
        across partial_fit calls and reset by fit).
    sparse_updates : {'auto', 'exact', 'lazy'}, default='auto'
        How an optimizer other than plain SGD updates on sparse X, where a step costs
        O(non-zeros of its rows): 'exact' gives the dense model to rounding (plain SGD, Adagrad
        without an L2 penalty, momentum and Nesterov without an L1 penalty: the ones whose
        untouched coefficients have a lazy closed form) and refuses the others; 'lazy' (PyTorch's SparseAdam, TensorFlow's
        LazyAdam) moves a coefficient, its optimizer state and its penalty only in the steps
        whose rows store its column; 'auto' is 'exact' where it exists, else 'lazy'. Dense X
        ignores it (docs/sparse.md).
    average : bool or int, default=False
        Averaged SGD in the kernel, scikit-learn's meaning: True averages the weights over all
        steps, an int k from step k on; ``coef_`` is the average once it has started.
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "loss": [Options(REGRESSION_LOSSES)],
        **_BaseSGD._parameter_constraints,
    }

    def __init__(
        self,
        loss="squared_error",
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
        random_state=None,
        learning_rate="invscaling",
        eta0=0.01,
        power_t=0.25,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        warm_start=False,
        average=False,
        batch_size=1,
        n_jobs=None,
        callbacks=None,
        optimizer="sgd",
        sparse_updates="auto",
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
        self.random_state = random_state
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.average = average
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.callbacks = callbacks
        self.optimizer = optimizer
        self.sparse_updates = sparse_updates

    def _fit(self, X, y, coef_init, intercept_init, sample_weight, *, partial: bool):
        self._check_params(for_partial_fit=partial)
        first = not partial or not hasattr(self, "coef_")
        X, y = self._validate_X(X, y, reset=first, y_numeric=True, ensure_all_finite=False)
        orders = self._start_orders(X, partial=partial, fresh=first)
        y = np.ascontiguousarray(y, dtype=X.dtype)
        sw = self._check_sample_weight(sample_weight, X.shape[0], X.dtype)
        if first:
            coef, intercept = self._initial_params(
                1, X.shape[1], X.dtype, coef_init, intercept_init
            )
        else:
            coef, intercept = self._continued_params(X.dtype)
        train_rows, val_rows = self._validation_split(y, sw)
        self._train(
            X,
            [y],
            [sw],
            coef,
            intercept,
            partial=partial,
            fresh=first,
            train_rows=train_rows,
            validation_rows=val_rows,
            orders=orders,
        )
        coef, self.intercept_ = self._published(coef, intercept)
        self.coef_ = coef.reshape(-1)
        return self

    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit by SGD for up to max_iter epochs (fewer when tol/early stopping stops it)."""
        return self._fit_keeping_model(
            lambda: self._fit(X, y, coef_init, intercept_init, sample_weight, partial=False)
        )

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y), continuing from the current model and schedule."""
        return self._fit_keeping_model(
            lambda: self._fit(X, y, None, None, sample_weight, partial=True)
        )

    def predict(self, X):
        """``x·coef_ + intercept_``, in the dtype of X and the model."""
        return self._decision(X).reshape(-1)
