"""SGDRegressor and SGDClassifier: scikit-learn's estimators on fastgd's fused kernels.

Same parameters, attributes and results as scikit-learn's (with ``batch_size=1``, the default),
plus minibatches and full-batch gradient descent (``batch_size``), schedule objects
(``learning_rate=fastgd.schedules.…``), threads (``n_jobs``), a loss history (``loss_curve_``)
and per-epoch ``callbacks``. float32 data trains and predicts in float32; a C-contiguous X is
used in place, never copied. The training loop itself is fastgd._solver.
"""

from __future__ import annotations

import copy
import numbers
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import _solver, ops, optimizers, schedules
from .._backend import default_threads
from .._validation import check_bool, check_int, check_option, check_real

REGRESSION_LOSSES = ("squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive")
CLASSIFICATION_LOSSES = ("hinge", "log_loss", "modified_huber", "squared_hinge")
LEARNING_RATES = ("constant", "optimal", "invscaling", "adaptive")
_MAX_SEED = np.iinfo(np.int32).max


class _BaseSGD(BaseEstimator):
    """What both estimators share: parameter checks, the schedule, data checks, the fit."""

    _losses: tuple[str, ...] = ()

    # ------------------------------------------------------------------ parameters
    def _check_params(self, for_partial_fit: bool = False) -> None:
        """Every parameter, checked before any work (errors name the parameter)."""
        if self.loss not in self._losses:
            raise ValueError(f"loss must be one of {list(self._losses)}, got {self.loss!r}")
        if self.penalty is not None:
            check_option(self.penalty, "penalty", _PENALTY_NAMES)
        check_real(self.alpha, "alpha", low=0.0)
        check_real(self.l1_ratio, "l1_ratio", low=0.0, high=1.0)
        check_bool(self.fit_intercept, "fit_intercept")
        check_int(self.max_iter, "max_iter", low=1)
        if self.tol is not None:
            check_real(self.tol, "tol", low=0.0)
        check_bool(self.shuffle, "shuffle")
        check_int(self.verbose, "verbose", low=0)
        check_real(self.epsilon, "epsilon", low=0.0)
        check_real(self.eta0, "eta0", low=0.0)
        check_real(self.power_t, "power_t", low=0.0)
        check_bool(self.early_stopping, "early_stopping")
        check_real(
            self.validation_fraction,
            "validation_fraction",
            low=0.0,
            high=1.0,
            low_open=True,
            high_open=True,
        )
        check_int(self.n_iter_no_change, "n_iter_no_change", low=1)
        check_bool(self.warm_start, "warm_start")
        if not isinstance(self.average, (bool, np.bool_)):
            check_int(self.average, "average", low=0)
        optimizers.get_optimizer(self.optimizer)  # raises for an unknown name
        if self.batch_size is not None:
            check_int(self.batch_size, "batch_size", low=1)
        if self.n_jobs is not None:
            check_int(self.n_jobs, "n_jobs", low=-(2**31))
            if self.n_jobs == 0:
                raise ValueError("n_jobs must not be 0 (None: OpenMP's default, -1: all)")
        if self.callbacks is not None:
            if not all(callable(cb) for cb in self.callbacks):
                raise TypeError("callbacks must be a list of callables cb(epoch, loss)")
        if self.early_stopping and for_partial_fit:
            raise ValueError("early_stopping must be False with partial_fit")
        if isinstance(self.learning_rate, str):
            if self.learning_rate not in LEARNING_RATES:
                raise ValueError(
                    f"learning_rate must be one of {list(LEARNING_RATES)} or a schedule, "
                    f"got {self.learning_rate!r}"
                )
            if self.learning_rate == "optimal" and self.alpha == 0:
                raise ValueError(
                    "alpha must be > 0 with learning_rate='optimal' (it sets the rate)"
                )
            if self.learning_rate != "optimal" and self.eta0 <= 0:
                raise ValueError(f"eta0 must be > 0 with learning_rate={self.learning_rate!r}")
        elif not callable(self.learning_rate):
            raise TypeError(
                "learning_rate must be 'constant', 'optimal', 'invscaling', 'adaptive' or a "
                f"schedule (a callable of step indices), got {self.learning_rate!r}"
            )

    def _make_schedule(self) -> Callable[[np.ndarray], Any]:
        """The learning-rate schedule of the parameters (global step t = sklearn's t − 1)."""
        lr = self.learning_rate
        if lr == "constant":
            return schedules.Constant(self.eta0)
        if lr == "optimal":
            return schedules.Optimal(self.alpha)
        if lr == "invscaling":
            return schedules.InverseScaling(self.eta0, self.power_t)
        if lr == "adaptive":
            if self.tol is None:  # scikit-learn never lowers the rate without a tol
                return schedules.Constant(self.eta0)
            return schedules.Adaptive(
                self.eta0, factor=5.0, patience=self.n_iter_no_change, tol=self.tol
            )
        schedule = copy.deepcopy(lr)  # the user's object is a parameter: never mutate it
        if hasattr(schedule, "reset"):
            schedule.reset()
        return schedule

    def _make_optimizer(self):
        """A fresh copy of the optimizer parameter (None for plain SGD: the fastest path)."""
        if isinstance(self.optimizer, str) and self.optimizer == "sgd":
            return None
        optimizer = copy.deepcopy(optimizers.get_optimizer(self.optimizer))
        optimizer.reset()
        return optimizer

    def _n_threads(self) -> int:
        if self.n_jobs is None:
            return default_threads()
        return self.n_jobs if self.n_jobs > 0 else max(1, default_threads() + 1 + self.n_jobs)

    # ------------------------------------------------------------------ data
    def _validate_X(self, X, *y, reset: bool, **kw):
        """float32 stays float32; a C-contiguous float array passes through without a copy;
        anything else (lists, ints, Fortran order) is converted once, as scikit-learn does.
        scipy.sparse input is trained as CSR (O(non-zeros) per step): a CSR matrix with float
        values is used as it is, CSC/COO/... are converted to CSR once per fit."""
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

    def _fit_keeping_model(self, fit: Callable[[], Any]):
        """Run a fit; if it raises (bad input, divergence), restore every attribute as it was,
        so a previously fitted model is never lost. Training works on fresh arrays, so a shallow
        copy of the attributes is a complete snapshot."""
        state = dict(self.__dict__)
        try:
            return fit()
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(state)
            raise

    @staticmethod
    def _check_sample_weight(sample_weight, n: int, dtype) -> np.ndarray | None:
        if sample_weight is None:
            return None  # all ones, without an array of them
        if isinstance(sample_weight, numbers.Real):
            sample_weight = np.full(n, sample_weight)
        sw = np.asarray(sample_weight)
        if sw.dtype.kind not in "iuf":
            raise TypeError(f"sample_weight must hold real numbers, got dtype {sw.dtype}")
        if sw.shape != (n,):
            raise ValueError(f"sample_weight must have shape ({n},), got {sw.shape}")
        sw = np.ascontiguousarray(sw, dtype=dtype)
        if not np.isfinite(sw).all():
            raise ValueError("sample_weight contains NaN or inf")
        if (sw < 0).any():
            raise ValueError("sample_weight must be >= 0")
        if not sw.any():
            raise ValueError("sample_weight must contain at least one non-zero weight")
        return sw

    def _validation_split(self, y, sw) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(train rows, validation rows) for early stopping, as scikit-learn splits them."""
        if not self.early_stopping:
            return None, None
        splitter = (StratifiedShuffleSplit if isinstance(self, ClassifierMixin) else ShuffleSplit)(
            test_size=self.validation_fraction, random_state=self.random_state
        )
        train, val = next(splitter.split(np.zeros((len(y), 1)), y))
        if len(train) == 0 or len(val) == 0:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} leaves an empty training or "
                f"validation set for {len(y)} samples; change it or set early_stopping=False"
            )
        if sw is not None and not sw[val].any():
            raise ValueError("the sample weights of the validation set are all zero")
        return np.sort(train).astype(np.int64), np.sort(val).astype(np.int64)

    # ------------------------------------------------------------------ training
    def _train(
        self,
        X,
        targets,
        weights,
        coef,
        intercept,
        *,
        partial: bool,
        fresh: bool,
        train_rows=None,
        validation_rows=None,
        joint: bool = False,
    ) -> _solver.Result:
        """Run the solver on fresh coef/intercept arrays. ``fresh``: start the schedules and the
        step count anew (fit, or a first partial_fit); ``partial``: one epoch, no stopping test."""
        max_iter = 1 if partial else self.max_iter
        if fresh or not hasattr(self, "_task_states"):
            fresh_state = _solver.TaskState(
                schedule=self._make_schedule(),
                optimizer=self._make_optimizer(),
                average=optimizers.Average(int(self.average)) if self.average else None,
            )
            states = [copy.deepcopy(fresh_state) for _ in targets]
            start_step = 0
        else:  # partial_fit: continue the schedules, optimizers, averages and the step count
            states = copy.deepcopy(self._task_states)
            start_step = int(self.t_) - 1
        tasks = _solver.make_tasks(
            targets, weights, coef, intercept, states, start_step, joint=joint
        )
        settings = _solver.Settings(
            loss=ops.MULTINOMIAL if joint else self.loss,
            label_smoothing=float(getattr(self, "label_smoothing", 0.0)),
            penalty="none" if self.penalty is None else self.penalty,
            alpha=float(self.alpha),
            l1_ratio=float(self.l1_ratio),
            epsilon=float(self.epsilon),
            fit_intercept=bool(self.fit_intercept),
            batch_size=self.batch_size,
            max_iter=max_iter,
            tol=None if self.tol is None else float(self.tol),
            n_iter_no_change=self.n_iter_no_change,
            shuffle=bool(self.shuffle),
            n_threads=self._n_threads(),
            classification=isinstance(self, ClassifierMixin),
            callbacks=tuple(self.callbacks or ()),
            verbose=self.verbose,
            validation_rows=validation_rows,
        )
        seed = check_random_state(self.random_state).randint(_MAX_SEED)
        if not fresh:  # a new stream for each partial_fit call, reproducible from the seed
            seed = (seed + int(self.t_)) % _MAX_SEED
        result = _solver.run(X, tasks, settings, np.random.default_rng(seed), train_rows)
        # Success: now the model changes.
        self._task_states = states
        self.n_iter_ = result.n_iter
        self.t_ = float(start_step + max(t.step - start_step for t in tasks) + 1)
        self.loss_curve_ = (
            result.loss_curve if fresh else getattr(self, "loss_curve_", []) + result.loss_curve
        )
        if (
            not partial
            and self.tol is not None
            and result.n_iter == max_iter
            and not result.stopped_by_callback
        ):
            warnings.warn(
                "Maximum number of iteration reached before convergence. Consider increasing "
                "max_iter to improve the fit.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return result

    def _continued_params(self, dtype) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the weights partial_fit continues from: the plain ones, not the average."""
        coef = np.atleast_2d(self._standard_coef).astype(dtype)
        return coef, self._standard_intercept.astype(dtype)

    def _published(self, coef, intercept, joint=False) -> tuple[np.ndarray, np.ndarray]:
        """The model to expose after training coef (K, d), intercept (K,): the averaged weights
        once averaging has started (scikit-learn's rule: average <= t_ − 1), else these.
        ``joint``: one model holds all K rows (softmax), else one model per row."""
        self._standard_coef, self._standard_intercept = coef, intercept
        if self.average and int(self.average) <= self.t_ - 1:
            averages = [st.average for st in self._task_states]
            if joint:
                return averages[0].coef_.copy(), averages[0].intercept_.copy()
            coef = np.stack([a.coef_ for a in averages])
            intercept = np.concatenate([a.intercept_ for a in averages])
        return coef, intercept

    def _initial_params(
        self, n_outputs: int, n_features: int, dtype, coef_init, intercept_init
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fresh (n_outputs, d) coefficients and (n_outputs,) intercepts to train in place."""
        if coef_init is None and self.warm_start and getattr(self, "coef_", None) is not None:
            coef_init = self.coef_
            intercept_init = self.intercept_ if intercept_init is None else intercept_init
        coef = np.zeros((n_outputs, n_features), dtype=dtype)
        intercept = np.zeros(n_outputs, dtype=dtype)
        if coef_init is not None:
            c = np.asarray(coef_init, dtype=np.float64)
            if c.size != coef.size:
                expected = (n_features,) if n_outputs == 1 else (n_outputs, n_features)
                raise ValueError(f"coef_init must have shape {expected}, got {c.shape}")
            coef[...] = c.reshape(coef.shape)
        if intercept_init is not None:
            b = np.asarray(intercept_init, dtype=np.float64)
            if b.size != n_outputs:
                raise ValueError(f"intercept_init must have {n_outputs} value(s), got {b.shape}")
            intercept[...] = b.reshape(-1)
        if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
            raise ValueError("coef_init and intercept_init must be finite")
        return coef, intercept

    def _decision(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return X @ np.atleast_2d(self.coef_).T + self.intercept_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


_PENALTY_NAMES = ops._core.Penalty


class SGDRegressor(RegressorMixin, _BaseSGD):
    """Linear regression by SGD on fused kernels; a drop-in for sklearn.linear_model.SGDRegressor.

    Minimizes ``(1/n) Σ s_i·L(x_i·w + b, y_i) + α·R(w)`` (see :mod:`fastgd.ops`) by minibatch SGD
    with ``batch_size`` rows per step (``1``: scikit-learn's per-sample SGD and the same model;
    ``None``: full-batch gradient descent). Parameters have scikit-learn's names, meanings and
    defaults, plus:

    batch_size : int or None, default=1
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
    average : bool or int, default=False
        Averaged SGD in the kernel, scikit-learn's meaning: True averages the weights over all
        steps, an int k from step k on; coef_ is the average once it has started.

    Attributes: ``coef_`` (d,), ``intercept_`` (1,), ``n_iter_``, ``t_`` (steps + 1),
    ``loss_curve_`` (mean progressive loss of each epoch), ``n_features_in_``,
    ``feature_names_in_``.
    """

    _losses = REGRESSION_LOSSES

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

    def _fit(self, X, y, coef_init, intercept_init, sample_weight, *, partial: bool):
        self._check_params(for_partial_fit=partial)
        first = not partial or not hasattr(self, "coef_")
        X, y = self._validate_X(X, y, reset=first, y_numeric=True)
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
        """x·coef_ + intercept_, in the dtype of X and the model."""
        return self._decision(X).reshape(-1)


class SGDClassifier(ClassifierMixin, _BaseSGD):
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
    extra parameters (``batch_size``, schedule objects, ``n_jobs``, ``callbacks``). With
    ``class_weight``, each sample's weight is multiplied by its class's weight (in one-vs-rest,
    the rest class weighs 1), as scikit-learn does.

    Attributes: ``coef_`` (1, d) or (K, d), ``intercept_`` (1,) or (K,), ``classes_``,
    ``n_iter_`` (the most epochs any class ran), ``t_``, ``loss_curve_`` (per epoch: the sum over
    the one-vs-rest models of their mean progressive loss), ``n_features_in_``,
    ``feature_names_in_``.
    """

    _losses = CLASSIFICATION_LOSSES + REGRESSION_LOSSES

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
        self.multi_class = multi_class
        self.label_smoothing = label_smoothing

    def _targets(self, y, sw, dtype, for_partial_fit: bool):
        """The targets and sample weights (times class weights) of each model to train: one
        softmax model (class indices, or the probabilities as given), or one-vs-rest models
        (labels ±1)."""
        if for_partial_fit and isinstance(self.class_weight, str):
            raise ValueError(
                f"class_weight={self.class_weight!r} is not supported with partial_fit: it "
                "needs the class frequencies of all the data; pass a dict instead"
            )
        if self.multi_class_ == "multinomial" and y.ndim == 2:  # soft labels
            if self.class_weight is not None:
                raise ValueError("class_weight does not apply to soft labels (class probabilities)")
            return [np.ascontiguousarray(y, dtype=dtype)], [sw]
        cw = compute_class_weight(self.class_weight, classes=self.classes_, y=y)
        encoded = np.searchsorted(self.classes_, y)
        if self.multi_class_ == "multinomial":
            w = None
            if not np.all(cw == 1.0):
                w = cw[encoded].astype(dtype)
                w = w if sw is None else w * sw
            return [encoded.astype(np.int64)], [sw if w is None else w]
        binary = len(self.classes_) == 2
        targets, weights = [], []
        for k in [1] if binary else range(len(self.classes_)):
            positive = encoded == k
            targets.append(np.where(positive, 1, -1).astype(dtype))
            neg = cw[0] if binary else 1.0
            if cw[k] == 1.0 and neg == 1.0:
                weights.append(sw)
            else:
                w = np.where(positive, cw[k], neg).astype(dtype)
                weights.append(w if sw is None else w * sw)
        return targets, weights

    def _fit(self, X, y, coef_init, intercept_init, sample_weight, classes, *, partial: bool):
        self._check_params(for_partial_fit=partial)
        first = not partial or not hasattr(self, "classes_")
        y_shape = np.shape(np.asarray(y))
        soft = len(y_shape) == 2 and y_shape[1] > 1  # a column vector is labels (warned)
        X, y = self._validate_X(X, y, reset=first, multi_output=soft)
        if soft:
            y = self._check_soft_labels(y)
            classes = np.arange(y.shape[1]) if classes is None else classes
        else:
            check_classification_targets(y)
        if first:
            self.classes_ = np.unique(y) if classes is None else np.unique(classes)
            if partial and classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            self.multi_class_ = self._choose_multi_class(len(self.classes_), soft)
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"classes={classes!r} differs from classes_={self.classes_!r} of "
                "the first partial_fit call"
            )
        if not first and soft != getattr(self, "_soft_labels", False):
            raise ValueError("partial_fit cannot switch between labels and class probabilities")
        self._soft_labels = soft
        if len(self.classes_) < 2:
            raise ValueError(
                f"The number of classes has to be greater than one; got {len(self.classes_)} class"
            )
        if soft and y.shape[1] != len(self.classes_):
            raise ValueError(
                f"y has {y.shape[1]} columns of class probabilities, classes_ has "
                f"{len(self.classes_)} classes"
            )
        unknown = [] if soft else np.setdiff1d(np.unique(y), self.classes_)
        if len(unknown):
            raise ValueError(f"y contains labels {unknown!r} not in classes_ {self.classes_!r}")
        sw = self._check_sample_weight(sample_weight, X.shape[0], X.dtype)
        targets, weights = self._targets(y, sw, X.dtype, for_partial_fit=partial)
        joint = self.multi_class_ == "multinomial"
        n_outputs = len(self.classes_) if joint else len(targets)
        if first:
            coef, intercept = self._initial_params(
                n_outputs, X.shape[1], X.dtype, coef_init, intercept_init
            )
        else:
            coef, intercept = self._continued_params(X.dtype)
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
        )
        coef, intercept = self._published(coef, intercept, joint=joint)
        if joint and len(self.classes_) == 2:
            # Two classes: expose the binary form, so that decision_function is (n,) and the
            # probabilities are the logistic function of it (softmax of two logits).
            coef, intercept = coef[1:] - coef[:1], intercept[1:] - intercept[:1]
        self.coef_, self.intercept_ = coef, intercept
        return self

    def _choose_multi_class(self, n_classes: int, soft: bool) -> str:
        """'multinomial' (one softmax model) or 'ovr' (one binary model per class)."""
        if self.multi_class not in ("auto", "ovr", "multinomial"):
            raise ValueError(
                f"multi_class must be 'auto', 'ovr' or 'multinomial', got {self.multi_class!r}"
            )
        if self.multi_class == "multinomial" or soft:
            if self.loss != "log_loss":
                raise ValueError(
                    "multi_class='multinomial' and class probabilities as y need "
                    f"loss='log_loss', got loss={self.loss!r}"
                )
            return "multinomial"
        if self.multi_class == "auto" and self.loss == "log_loss" and n_classes > 2:
            return "multinomial"
        if self.label_smoothing:
            raise ValueError("label_smoothing applies to the multinomial model only")
        return "ovr"

    def _check_params(self, for_partial_fit: bool = False) -> None:
        super()._check_params(for_partial_fit)
        check_real(self.label_smoothing, "label_smoothing", low=0.0, high=1.0, high_open=True)

    @staticmethod
    def _check_soft_labels(y) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        if y.shape[1] < 2:
            raise ValueError("class probabilities need at least 2 columns")
        if (y < 0).any() or not np.allclose(y.sum(1), 1.0, atol=1e-6):
            raise ValueError("y as class probabilities must be >= 0 with rows summing to 1")
        return y

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

    def decision_function(self, X):
        """Signed distance to the hyperplane(s): shape (n,) for two classes, else (n, K)."""
        scores = self._decision(X)
        return scores.reshape(-1) if scores.shape[1] == 1 else scores

    def predict(self, X):
        """The class of the highest score (binary: classes_[1] where the score is > 0)."""
        scores = self.decision_function(X)
        idx = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[idx]

    def _check_proba(self):
        if self.loss not in ("log_loss", "modified_huber"):
            raise AttributeError(f"probability estimates are not available for loss={self.loss!r}")
        return True

    @available_if(_check_proba)
    def predict_proba(self, X):
        """Class probabilities, columns in the order of classes_.

        log_loss: the logistic function of the score (one-vs-rest: normalized over classes);
        modified_huber: (clip(score, −1, 1) + 1) / 2, normalized likewise — scikit-learn's
        formulas.
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
