"""fastgd.dask.SGDRegressor and SGDClassifier: the local estimators' parameters (declared once,
in their classes, and checked by their rules) plus ``solver``, ``local_epochs``, ``fan_in`` and
``client``; fitted on dask collections by the solvers of ``_solvers``; ``to_local()`` gives the
equivalent local estimator, which the lazy predictions run on each block."""

from __future__ import annotations

import inspect
from numbers import Integral
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from .. import _progress, _solver, ops
from .._params import Instance, Interval, Options, check_params
from ..linear_model import SGDClassifier as LocalSGDClassifier
from ..linear_model import SGDRegressor as LocalSGDRegressor
from ..linear_model import _targets
from ..linear_model._base import _MAX_SEED, SPARSE_INTERCEPT_DECAY, fit_keeping_model
from . import _data, _predict, _solvers

# Parameters of the cluster estimators that the local ones lack, with their defaults.
_CLUSTER_PARAMS = {"solver": "gd", "local_epochs": 1, "fan_in": 8, "client": None}
# Losses L-BFGS can minimize: those with a continuous derivative.
_NOT_SMOOTH = ("hinge", "epsilon_insensitive")


def _is_client(value: Any) -> bool:
    from distributed import Client

    return isinstance(value, Client)


_CLUSTER_CONSTRAINTS: dict[str, list[Any]] = {
    "solver": [Options(_solvers.SOLVERS)],
    "local_epochs": [Interval(Integral, 1, None)],
    "fan_in": [Interval(Integral, 2, None)],
    "client": [None, Instance(object, "a distributed.Client")],
}


def _signature_with_cluster_params(local_cls: type) -> inspect.Signature:
    """The local estimator's __init__ signature plus the cluster parameters (keyword-only), so
    that the parameters and their defaults are declared once, in the local class."""
    sig = inspect.signature(local_cls.__init__)
    extra = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
        for name, default in _CLUSTER_PARAMS.items()
    ]
    return sig.replace(parameters=[*sig.parameters.values(), *extra])


def _init_from(signature: inspect.Signature):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        for name, value in list(bound.arguments.items())[1:]:
            setattr(self, name, value)

    __init__.__signature__ = signature  # what scikit-learn's get_params reads
    return __init__


class _DaskSGD(BaseEstimator):
    """What the cluster regressor and classifier share."""

    _local_class: type = LocalSGDRegressor
    _fitted_attributes = ("coef_", "intercept_", "n_iter_", "t_", "loss_curve_", "n_features_in_")

    # ------------------------------------------------------------------ parameters
    def _local_params(self) -> dict[str, Any]:
        params = self.get_params(deep=False)
        return {k: v for k, v in params.items() if k not in _CLUSTER_PARAMS}

    def _checked_local(self) -> Any:
        """The local estimator of these parameters, checked by its own table and rules, then
        the cluster's parameters and what each solver takes."""
        local = self._local_class(**self._local_params())
        local._check_params()
        check_params(self, _CLUSTER_CONSTRAINTS)
        if self.client is not None and not _is_client(self.client):
            raise TypeError(f"client must be a distributed.Client, got {self.client!r}")
        if self.early_stopping:
            raise ValueError("early_stopping is not available on Dask: set it to False")
        if self.average:
            raise ValueError("average is not available on Dask: set it to False")
        if isinstance(self.learning_rate, str) and self.learning_rate == "auto":
            raise ValueError(
                "learning_rate='auto' is not available on Dask yet (its power iterations run on "
                "local data): pass a rate, e.g. one found by fastgd.lr_find on a sample"
            )
        plain = isinstance(self.optimizer, str) and self.optimizer == "sgd"
        if self.solver != "local_sgd" and not plain:
            raise ValueError(
                f"optimizer={self.optimizer!r} applies to solver='local_sgd'; solver="
                f"{self.solver!r} takes its own steps"
            )
        if self.solver == "lbfgs" and self.loss in _NOT_SMOOTH:
            raise ValueError(
                f"solver='lbfgs' needs a differentiable loss, got loss={self.loss!r}; use "
                "solver='gd' or 'local_sgd'"
            )
        return local

    def _client(self) -> Any:
        if self.client is not None:
            return self.client
        from distributed import get_client

        try:
            return get_client()
        except ValueError as exc:
            raise ValueError(
                "client is None and there is no current distributed.Client: create one, e.g. "
                "distributed.Client(distributed.LocalCluster()), or pass client="
            ) from exc

    # ------------------------------------------------------------------ training
    def _settings(self, local: Any, joint: bool) -> _solver.Settings:
        return _solver.Settings(
            loss=ops.MULTINOMIAL if joint else self.loss,
            label_smoothing=float(getattr(self, "label_smoothing", 0.0)),
            penalty="none" if self.penalty is None else self.penalty,
            alpha=float(self.alpha),
            l1_ratio=0.0 if self.l1_ratio is None else float(self.l1_ratio),
            epsilon=float(self.epsilon),
            fit_intercept=bool(self.fit_intercept),
            batch_size=self.batch_size,
            max_iter=self.max_iter,
            tol=None if self.tol is None else float(self.tol),
            n_iter_no_change=self.n_iter_no_change,
            shuffle=bool(self.shuffle),
            n_threads=1,
            classification=isinstance(self, ClassifierMixin),
            callbacks=tuple(self.callbacks or ()),
            verbose=self.verbose,
            sparse_updates=self.sparse_updates,
        )

    def _worker_options(self, s: _solver.Settings, optimizer: Any, sparse: bool) -> dict:
        """The options of the prepared problems on the workers: the loss alone for 'gd' and
        'lbfgs' (the driver adds the penalty once), the whole step for 'local_sgd'."""
        common = {"loss": s.loss, "epsilon": s.epsilon, "label_smoothing": s.label_smoothing}
        if self.solver != "local_sgd":
            return {**common, "penalty": "none", "alpha": 0.0, "l1_ratio": 0.0}
        return {
            **common,
            "penalty": s.penalty,
            "alpha": s.alpha,
            "l1_ratio": s.l1_ratio,
            "batch_size": s.batch_size,
            "fit_intercept": s.fit_intercept,
            "optimizer": optimizer,
            "sparse_updates": s.sparse_updates,
            "intercept_decay": SPARSE_INTERCEPT_DECAY if sparse else 1.0,
            # The cumulative L1 keeps a per-problem account that averaging would not carry.
            "l1_method": "proximal",
        }

    def _solve(self, local, data: _data.Distributed, coef, intercept, joint: bool, n_tasks: int):
        """Train coef (K, d) and intercept (K,) in place with the chosen solver."""
        s = self._settings(local, joint)
        optimizer = local._make_optimizer() if self.solver == "local_sgd" else None
        states = [
            _solver.TaskState(
                schedule=local._make_schedule(auto=None),  # 'auto' is refused above
                optimizer=local._make_optimizer(),
            )
            for _ in range(n_tasks)
        ]
        if self.solver != "local_sgd":
            for st in states:
                st.optimizer = None
        tasks = _solver.make_tasks(
            [None] * n_tasks, [None] * n_tasks, coef, intercept, states, joint=joint
        )
        for task in tasks:
            task.problem = _driver_problem(s, task.coef, data.dtype)
            task.plateau = _solver.Plateau(s.tol if s.tol is not None else 0.0)
        fit = _solvers.Fit(
            settings=s,
            options=self._worker_options(s, optimizer, data.sparse),
            n_jobs=None if self.n_jobs is None else local._n_threads(),
            intercept_decay=SPARSE_INTERCEPT_DECAY if data.sparse else 1.0,
            local_epochs=self.local_epochs,
            seed=int(check_random_state(self.random_state).randint(_MAX_SEED)),
        )
        cluster = _solvers.Cluster(self._client(), data.parts, self.fan_in)
        unit = "iteration" if self.solver == "lbfgs" else "round"
        with _progress.start(s.verbose, total=s.max_iter, rows=sum(data.n_rows), unit=unit) as p:
            fit.progress = p
            if self.solver == "gd":
                result = _solvers.gradient_descent(cluster, tasks, fit)
            elif self.solver == "lbfgs":
                result = _solvers.lbfgs(cluster, tasks, fit)
            else:
                batch = max(data.n_rows) if self.batch_size is None else self.batch_size
                steps = -(-max(data.n_rows) // batch)
                result = _solvers.local_sgd(cluster, tasks, fit, steps)
        self._task_states = states
        self.n_iter_ = result.n_iter
        self.t_ = float(max(t.step for t in tasks) + 1)
        self.loss_curve_ = result.loss_curve
        self._standard_coef, self._standard_intercept = coef, intercept

    def _initial(self, local, n_outputs: int, data, coef_init, intercept_init):
        if coef_init is None and self.warm_start and hasattr(self, "coef_"):
            local.coef_, local.intercept_ = self.coef_, self.intercept_
            local.warm_start = True
        coef, intercept = local._initial_params(
            n_outputs, data.n_features, data.dtype, coef_init, intercept_init
        )
        return coef, intercept

    def _set_data_attributes(self, data: _data.Distributed) -> None:
        self.n_features_in_ = data.n_features
        if data.feature_names is not None:
            self.feature_names_in_ = data.feature_names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit on the cluster (the local estimator's arguments); on error the previous model
        is kept."""
        return fit_keeping_model(
            self, lambda: self._fit(X, y, sample_weight, coef_init, intercept_init)
        )

    # ------------------------------------------------------------------ the local model
    def to_local(self) -> Any:
        """The equivalent local estimator (``fastgd.SGDRegressor`` / ``SGDClassifier``) with the
        same parameters and the fitted attributes; its ``partial_fit`` continues this fit."""
        check_is_fitted(self)
        local = self._local_class(**self._local_params())
        names = (
            *self._fitted_attributes,
            "feature_names_in_",
            "_task_states",
            "_standard_coef",
            "_standard_intercept",
        )
        for name in names:
            if hasattr(self, name):
                setattr(local, name, getattr(self, name))
        return local

    def save(self, path) -> None:
        """Write the fitted model to ``path`` as its local estimator (:meth:`to_local`) saves it:
        :func:`fastgd.load` gives back that ``fastgd.SGDRegressor`` / ``SGDClassifier``, whose
        ``partial_fit`` continues this fit (the cluster parameters, ``client`` among them, are
        not saved)."""
        self.to_local().save(path)

    def decision_function(self, X):
        """``x·coef_ + intercept_`` of each row, as a lazily computed dask array."""
        return _predict.apply(self, X, "decision_function")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _driver_problem(s: _solver.Settings, coef: np.ndarray, dtype: Any) -> Any:
    """A one-row prepared problem on the driver, for the kernels' own penalty value
    (``penalty_value``), which the local solver's divergence check reads."""
    y = np.zeros(1, np.int64) if coef.ndim == 2 else np.ones(1, dtype)
    return ops._prepare(
        np.zeros((1, coef.shape[-1]), dtype),
        y,
        None,
        loss=s.loss,
        penalty=s.penalty,
        alpha=s.alpha,
        l1_ratio=s.l1_ratio,
        epsilon=s.epsilon,
        n_threads=1,
        check_input=False,
        coef=coef,
        label_smoothing=s.label_smoothing,
    )


class SGDRegressor(RegressorMixin, _DaskSGD):
    """fastgd.SGDRegressor trained on a Dask cluster; the data stays on the workers.

    Parameters: those of :class:`fastgd.SGDRegressor` (same names, defaults and checks), plus

    solver : {'gd', 'lbfgs', 'local_sgd'}, default='gd'
        'gd': full-batch gradient descent, one step per round (``max_iter`` steps, the
        schedule's rates), the iterates of the local ``batch_size=None`` fit; 'lbfgs': scipy's
        L-BFGS-B on the reduced objective (``max_iter`` iterations, ``tol`` its gtol; L1 by the
        split w = u − v ≥ 0); 'local_sgd': ``local_epochs`` epochs of minibatch SGD
        (``batch_size``, ``optimizer``) per partition per round from the round's model, then
        the row-weighted average (``max_iter`` rounds).
    local_epochs : int, default=1
        Local epochs per round of 'local_sgd'.
    fan_in : int, default=8
        Children per node of the tree that sums the partitions' results.
    client : distributed.Client or None
        None: the current client (``distributed.get_client()``).
    verbose : int, default=0
        The local estimators' progress bar, counting rounds (L-BFGS's iterations).

    ``early_stopping``, ``average`` and ``learning_rate='auto'`` are not available; ``optimizer``
    only with 'local_sgd'.
    X: a 2-D dask array chunked along rows only (dense or scipy.sparse blocks) or a dask
    DataFrame of numeric columns; y and sample_weight chunked as X. Predictions and scores are
    lazy dask arrays; :meth:`to_local` returns the local estimator.
    """

    _local_class = LocalSGDRegressor
    __init__ = _init_from(_signature_with_cluster_params(LocalSGDRegressor))

    def _fit(self, X, y, sample_weight, coef_init, intercept_init):
        local = self._checked_local()
        data = _data.distribute(self._client(), X, y, sample_weight, classification=False)
        coef, intercept = self._initial(local, 1, data, coef_init, intercept_init)
        self._solve(local, data, coef, intercept, joint=False, n_tasks=1)
        self.coef_, self.intercept_ = coef.reshape(-1), intercept
        self._set_data_attributes(data)
        return self

    def predict(self, X):
        """``x·coef_ + intercept_``, a lazily computed dask array."""
        return _predict.apply(self, X, "predict")

    def score(self, X, y, sample_weight=None):
        """R² of the predictions, a lazily computed 0-d dask array."""
        return _predict.score(self, X, y, sample_weight, "r2")


class SGDClassifier(ClassifierMixin, _DaskSGD):
    """fastgd.SGDClassifier trained on a Dask cluster; the data stays on the workers.

    Parameters: those of :class:`fastgd.SGDClassifier` plus ``solver``, ``local_epochs``,
    ``fan_in`` and ``client`` (see :class:`SGDRegressor`). Multi-class problems train one
    softmax model (``loss='log_loss'``, ``multi_class='auto'``) or one-vs-rest models, whose
    rounds run side by side; ``class_weight='balanced'`` counts the classes over all partitions.
    y holds labels (soft labels are not available on Dask).
    """

    _local_class = LocalSGDClassifier
    _fitted_attributes = (*_DaskSGD._fitted_attributes, "classes_", "multi_class_", "_soft_labels")
    __init__ = _init_from(_signature_with_cluster_params(LocalSGDClassifier))

    def _fit(self, X, y, sample_weight, coef_init, intercept_init):
        local = self._checked_local()
        client = self._client()
        data = _data.distribute(client, X, y, sample_weight, classification=True)
        classes = data.labels
        if classes.dtype.kind == "f":
            check_classification_targets(classes)  # scikit-learn's error for continuous y
        _targets.check_labels(None, classes, classes, soft=False)
        multi_class = _targets.choose_multi_class(
            self.multi_class, self.loss, self.label_smoothing, len(classes), False
        )
        class_weight = self.class_weight
        if isinstance(class_weight, str):  # 'balanced', from the counts of all partitions
            n = data.label_counts.sum()
            class_weight = dict(zip(classes, n / (len(classes) * data.label_counts)))
        _data.with_targets(client, data, classes, multi_class, class_weight)
        joint = multi_class == "multinomial"
        binary = len(classes) == 2 and not joint
        n_outputs = 1 if binary else len(classes)
        coef, intercept = self._initial(local, n_outputs, data, coef_init, intercept_init)
        n_tasks = 1 if joint else n_outputs
        self._solve(local, data, coef, intercept, joint=joint, n_tasks=n_tasks)
        if joint and len(classes) == 2:  # the binary form, as the local estimator publishes
            coef, intercept = coef[1:] - coef[:1], intercept[1:] - intercept[:1]
        self.coef_, self.intercept_ = coef, intercept
        self.classes_, self.multi_class_, self._soft_labels = classes, multi_class, False
        self._set_data_attributes(data)
        return self

    def predict(self, X):
        """The class of each row, a lazily computed dask array."""
        return _predict.apply(self, X, "predict")

    def _check_proba(self):
        return self._local_class(**self._local_params())._check_proba()

    @available_if(_check_proba)
    def predict_proba(self, X):
        """Class probabilities (the local estimator's formulas), a lazily computed dask array."""
        return _predict.apply(self, X, "predict_proba")

    def score(self, X, y, sample_weight=None):
        """Accuracy, a lazily computed 0-d dask array."""
        return _predict.score(self, X, y, sample_weight, "accuracy")
