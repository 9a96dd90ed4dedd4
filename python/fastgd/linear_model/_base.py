"""What SGDRegressor and SGDClassifier share: the parameters' declared domains and the rules
that tie them together, the schedule and optimizer of a fit, the data checks, the validation
split, and the call into the training loop (fastgd._solver) that keeps the previous model when a
fit fails.
"""

from __future__ import annotations

import copy
import numbers
import warnings
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit
from sklearn.utils import check_random_state

from .. import _auto_rate, _core, _solver, ops, optimizers, schedules
from .._backend import default_threads
from .._params import (
    SHARED_CONSTRAINTS,
    Boolean,
    Instance,
    Interval,
    Options,
    Satisfies,
    check_params,
)
from .._validation import is_sparse
from ._linear import LinearModel


def _losses_taking(targets) -> tuple[str, ...]:
    """The losses whose y is of this kind, from the kernels' table of loss kinds."""
    return tuple(
        name for name, kind in _core.Loss.__members__.items() if _core.loss_targets(kind) == targets
    )


REGRESSION_LOSSES = _losses_taking(_core.Targets.real)
CLASSIFICATION_LOSSES = _losses_taking(_core.Targets.labels)  # a softmax is chosen by multi_class
# scikit-learn multiplies the intercept's updates by 0.01 on sparse X (its SPARSE_INTERCEPT_DECAY,
# against the intercept's oscillation when few features are active per row); the estimators do
# as it does, so that sparse input gives scikit-learn's model.
SPARSE_INTERCEPT_DECAY = 0.01
LEARNING_RATES = ("constant", "optimal", "invscaling", "adaptive", "auto")
_MAX_SEED = np.iinfo(np.int32).max


def _callables(value: Any) -> bool:
    try:
        return all(callable(cb) for cb in value)
    except TypeError:  # not iterable
        return False


def fit_keeping_model(estimator: Any, fit: Callable[[], Any]) -> Any:
    """Run a fit; if it raises (bad input, divergence), restore every attribute of the estimator
    as it was, so a previously fitted model is never lost. Training works on fresh arrays, so a
    shallow copy of the attributes is a complete snapshot."""
    state = dict(estimator.__dict__)
    try:
        return fit()
    except BaseException:
        estimator.__dict__.clear()
        estimator.__dict__.update(state)
        raise


class _BaseSGD(LinearModel):
    """What both estimators share: parameter checks, the schedule, data checks, the fit."""

    # The domain of each parameter both estimators have; each estimator adds its own (loss, ...).
    _parameter_constraints: dict[str, list[Any]] = {
        "penalty": [None, Options(_core.Penalty)],
        "alpha": SHARED_CONSTRAINTS["alpha"],
        # None: not elastic net (scikit-learn 1.8); required for elastic net (_check_params).
        "l1_ratio": [None, *SHARED_CONSTRAINTS["l1_ratio"]],
        "fit_intercept": [Boolean()],
        "max_iter": [Interval(Integral, 1, None)],
        "tol": [None, Interval(Real, 0, None)],
        "shuffle": [Boolean(), Options(("block",))],
        "verbose": [Interval(Integral, 0, None), Boolean()],
        "epsilon": SHARED_CONSTRAINTS["epsilon"],
        "random_state": [
            None,
            Interval(Integral, 0, 2**32 - 1),
            Instance(np.random.RandomState, "a numpy.random.RandomState"),
        ],
        "learning_rate": [
            Options(LEARNING_RATES),
            Satisfies(callable, "a schedule (a callable of step indices)"),
        ],
        "eta0": [Interval(Real, 0, None, closed="neither")],
        # Negative values are deprecated (a FutureWarning, _check_params), as in scikit-learn 1.8.
        "power_t": [Interval(Real, None, None)],
        "early_stopping": [Boolean()],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None)],
        "warm_start": [Boolean()],
        "average": [Boolean(), Interval(Integral, 1, None)],
        "batch_size": [None, *SHARED_CONSTRAINTS["batch_size"]],
        # None: OpenMP's default; -1: all threads, -2: all but one, ...
        "n_jobs": [None, Interval(Integral, 1, None), Interval(Integral, None, -1)],
        "callbacks": [None, Satisfies(_callables, "a list of callables cb(epoch, loss)")],
        "optimizer": [
            Options(tuple(sorted(optimizers._BY_NAME))),
            Instance(optimizers.Optimizer, "a fastgd.optimizers object"),
        ],
        "sparse_updates": [Options(tuple(_core.SparseUpdates.__members__))],
    }

    # The training loop a fit hands its prepared data to (fastgd.lr_find gives its private
    # clone the range test instead, so that the test sees exactly the fit's targets and weights).
    _run = staticmethod(_solver.run)

    # ------------------------------------------------------------------ parameters
    def _check_params(self, for_partial_fit: bool = False) -> None:
        """Every parameter, checked before any work (errors name the parameter): each against
        its declared domain, then the rules between parameters."""
        check_params(self, self._parameter_constraints)
        if self.early_stopping and for_partial_fit:
            raise ValueError("early_stopping should be False with partial_fit")
        if self.learning_rate == "optimal" and self.alpha == 0:
            raise ValueError("alpha must be > 0 with learning_rate='optimal' (it sets the rate)")
        if self.penalty == "elasticnet" and self.l1_ratio is None:
            raise ValueError("l1_ratio must be set when penalty is 'elasticnet'")
        if self.power_t < 0 and not for_partial_fit:  # scikit-learn's fit warns, not partial_fit
            warnings.warn(
                "Negative values for `power_t` are deprecated in version 1.8 and will raise an "
                "error in 1.10. Use values in the range [0.0, inf) instead.",
                FutureWarning,
                stacklevel=6,  # the caller of fit
            )

    def _make_schedule(self, auto: Callable[[], Any]) -> Callable[[np.ndarray], Any]:
        """The learning-rate schedule of the parameters (global step t = sklearn's t − 1);
        ``auto()`` gives learning_rate='auto''s, which needs the data."""
        lr = self.learning_rate
        if lr == "auto":
            return auto()
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

    def _l1_method(self, joint: bool) -> str:
        """scikit-learn's per-sample SGD applies L1 by the cumulative penalty, which gives its
        models and their exact zeros; batches, optimizers, averaging and the softmax (which it
        lacks) take the proximal step, the exact one for a minibatch (fastgd.ops.sgd_epoch)."""
        plain = isinstance(self.optimizer, str) and self.optimizer == "sgd" and not self.average
        return "cumulative" if self.batch_size == 1 and plain and not joint else "proximal"

    def _n_threads(self) -> int:
        if self.n_jobs is None:
            return default_threads()
        return self.n_jobs if self.n_jobs > 0 else max(1, default_threads() + 1 + self.n_jobs)

    # ------------------------------------------------------------------ data
    def _fit_keeping_model(self, fit: Callable[[], Any]):
        return fit_keeping_model(self, fit)

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
    def _epochs(self, partial: bool) -> int:
        """The most epochs this call trains: partial_fit runs one."""
        return 1 if partial else self.max_iter

    def _fit_rng(self, fresh: bool) -> np.random.Generator:
        """The Generator of this fit's row orders, seeded from random_state; a new stream for
        each partial_fit call, reproducible from the seed."""
        seed = check_random_state(self.random_state).randint(_MAX_SEED)
        if not fresh:
            seed = (seed + int(self.t_)) % _MAX_SEED
        return np.random.default_rng(seed)

    def _start_orders(self, X, *, partial: bool, fresh: bool):
        """The epochs' row orders, drawing the first at once, so that it is ready when the data
        and targets are: None without shuffling, or with early stopping (whose training rows are
        not split yet: the solver starts the orders then). A fit that fails before training just
        drops them: their thread ends once its draw is done and the object is collected."""
        if not self.shuffle or self.early_stopping:
            return None
        return _solver.start_orders(
            self._shuffle(), self._fit_rng(fresh), X, X.shape[0], n_epochs=self._epochs(partial)
        )

    def _shuffle(self) -> bool | str:
        """True (a full permutation per epoch), "block" (a block-shuffled order) or False."""
        return "block" if self.shuffle == "block" else bool(self.shuffle)

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
        orders: Any = None,
    ) -> _solver.Result:
        """Run the solver on fresh coef/intercept arrays. ``fresh``: start the schedules and the
        step count anew (fit, or a first partial_fit); ``partial``: one epoch, no stopping test;
        ``orders``: from :meth:`_start_orders`, or None."""
        max_iter = self._epochs(partial)
        values_checked = False
        if fresh or not hasattr(self, "_task_states"):
            optimizer = self._make_optimizer()
            fresh_state = _solver.TaskState(
                schedule=self._make_schedule(
                    lambda: self._auto_schedule(
                        X, targets, weights, coef, intercept, optimizer, train_rows, joint
                    )
                ),
                optimizer=optimizer,
                average=optimizers.Average(int(self.average)) if self.average else None,
            )
            states = [copy.deepcopy(fresh_state) for _ in targets]
            start_step = 0
            # The smoothness' pass over X checked its values (fastgd._auto_rate.smoothness).
            values_checked = self.learning_rate == "auto"
        else:  # partial_fit: continue the schedules, optimizers, averages and the step count
            states = copy.deepcopy(self._task_states)
            start_step = int(self.t_) - 1
        tasks = _solver.make_tasks(
            targets, weights, coef, intercept, states, start_step, joint=joint
        )
        settings = _solver.Settings(
            loss=ops.MULTINOMIAL if joint else self.loss,
            label_smoothing=float(getattr(self, "label_smoothing", 0.0)),
            sparse_updates=self.sparse_updates,
            intercept_decay=SPARSE_INTERCEPT_DECAY if is_sparse(X) else 1.0,
            penalty="none" if self.penalty is None else self.penalty,
            alpha=float(self.alpha),
            l1_ratio=0.0 if self.l1_ratio is None else float(self.l1_ratio),
            epsilon=float(self.epsilon),
            fit_intercept=bool(self.fit_intercept),
            batch_size=self.batch_size,
            max_iter=max_iter,
            tol=None if self.tol is None else float(self.tol),
            n_iter_no_change=self.n_iter_no_change,
            shuffle=self._shuffle(),
            n_threads=self._n_threads(),
            classification=isinstance(self, ClassifierMixin),
            callbacks=tuple(self.callbacks or ()),
            verbose=self.verbose,
            validation_rows=validation_rows,
            l1_method=self._l1_method(joint),
            values_checked=values_checked,
        )
        rng = orders.rng if orders is not None else self._fit_rng(fresh)
        result = self._run(X, tasks, settings, rng, train_rows, orders)
        # Success: now the model changes.
        self._task_states = states
        self.n_iter_ = result.n_iter
        self.t_ = float(start_step + max(t.step - start_step for t in tasks) + 1)
        self.loss_curve_ = (
            result.loss_curve if fresh else getattr(self, "loss_curve_", []) + result.loss_curve
        )
        # scikit-learn's MLP's name: the score early stopping watched, per epoch (else None).
        self.validation_scores_ = result.validation_scores if validation_rows is not None else None
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

    def _auto_schedule(self, X, targets, weights, coef, intercept, optimizer, train_rows, joint):
        """learning_rate='auto': the step 1/L_B of the data's smoothness, decayed over the first
        epoch to the rate that the first model's gradient noise allows (fastgd._auto_rate), then
        halved on plateaus of the loss (schedules.auto). One schedule serves every one-vs-rest
        model: its smoothness takes each row's largest weight over the models, which bounds each
        model's. The normalized optimizers scale the step by the first model's gradient at the
        starting point (one more pass over X)."""
        n_train = X.shape[0] if train_rows is None else len(train_rows)
        present = [w for w in weights if w is not None]
        sw = None
        if present:
            sw = present[0] if len(present) == len(weights) else np.ones(X.shape[0], X.dtype)
            for w in present[1:] if sw is present[0] else present:
                sw = np.maximum(sw, w)
        smooth = _auto_rate.smoothness(
            X,
            loss=ops.MULTINOMIAL if joint else self.loss,
            batch_size=self.batch_size,
            alpha=self.alpha,
            penalty="none" if self.penalty is None else self.penalty,
            l1_ratio=0.0 if self.l1_ratio is None else self.l1_ratio,
            fit_intercept=bool(self.fit_intercept),
            intercept_decay=SPARSE_INTERCEPT_DECAY if is_sparse(X) else 1.0,
            sample_weight=sw,
            n_samples=n_train,
            n_threads=self._n_threads(),
            start_noise=_auto_rate.noise_at_zero(
                targets[0],
                weights[0],
                loss=ops.MULTINOMIAL if joint else self.loss,
                epsilon=self.epsilon,
                label_smoothing=float(getattr(self, "label_smoothing", 0.0)),
                n_classes=coef.shape[0] if joint else None,
            ),
        )
        grad_rms = None
        if optimizer is not None and optimizer.kind in _auto_rate.NORMALIZED:
            grad_rms = self._first_gradient_rms(X, targets[0], weights[0], coef, intercept, joint)
        tol = 0.0 if self.tol is None else float(self.tol)  # halve on plateaus even then
        return schedules._auto_schedule(
            smooth,
            lambda step: _auto_rate.optimizer_rate(step, optimizer, grad_rms),
            _auto_rate.decay_steps(n_train, self.batch_size),
            self.n_iter_no_change,
            tol,
        )

    def _first_gradient_rms(self, X, y, sw, coef, intercept, joint) -> float:
        """√(mean of the squared gradient) of the first model at its starting point."""
        _, g, gb = ops.loss_and_grad(
            X,
            y,
            coef if joint else coef[0],
            intercept if joint else float(intercept[0]),
            loss=ops.MULTINOMIAL if joint else self.loss,
            penalty="none" if self.penalty is None else self.penalty,
            alpha=self.alpha,
            l1_ratio=0.0 if self.l1_ratio is None else self.l1_ratio,
            epsilon=self.epsilon,
            sample_weight=sw,
            n_threads=self._n_threads(),
            check_input=False,
            label_smoothing=float(getattr(self, "label_smoothing", 0.0)),
        )
        grads = np.concatenate([np.ravel(g), np.ravel(gb)]).astype(np.float64)
        return float(np.sqrt(np.mean(grads**2)))

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
            if joint:  # no copy: a later fit trains a deep copy of the states (_train)
                return averages[0].coef_, averages[0].intercept_
            coef = np.stack([a.coef_ for a in averages])
            intercept = np.concatenate([a.intercept_ for a in averages])
        return coef, intercept

    def _initial_params(
        self, n_outputs: int, n_features: int, dtype, coef_init, intercept_init, order="C"
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fresh (n_outputs, d) coefficients, in the memory ``order`` the kernel reads, and
        (n_outputs,) intercepts to train in place."""
        if coef_init is None and self.warm_start and getattr(self, "coef_", None) is not None:
            coef_init = self.coef_
            intercept_init = self.intercept_ if intercept_init is None else intercept_init
        coef = np.zeros((n_outputs, n_features), dtype=dtype, order=order)
        intercept = np.zeros(n_outputs, dtype=dtype)
        if coef_init is not None:
            c = np.asarray(coef_init, dtype=np.float64)
            if c.size != coef.size:
                expected = (n_features,) if n_outputs == 1 else (n_outputs, n_features)
                raise ValueError(  # scikit-learn's words first, for code that matches on them
                    f"Provided coef_init does not match dataset: coef_init must have shape "
                    f"{expected}, got {c.shape}"
                )
            coef[...] = c.reshape(coef.shape)
        if intercept_init is not None:
            b = np.asarray(intercept_init, dtype=np.float64)
            if b.size != n_outputs:
                raise ValueError(
                    f"Provided intercept_init does not match dataset: intercept_init must have "
                    f"{n_outputs} value(s), got {b.shape}"
                )
            intercept[...] = b.reshape(-1)
        if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
            raise ValueError("coef_init and intercept_init must be finite")
        return coef, intercept

    def save(self, path) -> None:
        """Write this fitted model to one file at ``path``, which :func:`fastgd.load` reads back
        bit for bit: the parameters, classes, feature names, coefficients and the schedule,
        optimizer and average state that ``partial_fit`` continues (docs/persistence.md).

        The file is NumPy arrays plus JSON metadata, never pickle; it is written to a temporary
        file that replaces ``path`` only once complete. Raises NotFittedError before a fit, and
        TypeError for what the file cannot hold (a function in ``callbacks`` or as
        ``learning_rate``), before anything is written.
        """
        from .._persistence import save

        save(self, path)

