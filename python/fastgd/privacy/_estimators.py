"""DPSGDClassifier and DPSGDRegressor: linear models trained by DP-SGD in the private kernel,
with σ calibrated to the (ε, δ) budget before training (fastgd.privacy._accounting)."""

from __future__ import annotations

import copy
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin

from .. import _core, optimizers, schedules
from .._params import SHARED_CONSTRAINTS, Boolean, Instance, Interval, Options, check_params
from ..linear_model._base import CLASSIFICATION_LOSSES, REGRESSION_LOSSES, fit_keeping_model
from ..linear_model._linear import LinearClassifierMixin, LinearModel
from . import _accounting, _training

# The schedules a private fit may take: functions of the step index alone. A schedule that
# reads the training loss ('adaptive', 'auto', Adaptive objects) would be a release of the
# private data that the accountant does not see.
PRIVATE_RATES = ("constant", "invscaling", "optimal")

_REFUSED_RATES = {
    "auto": "learning_rate='auto' computes the step from the data's smoothness (row norms, "
    "power iterations on X), a release of the private data that the accountant does not count",
    "adaptive": "learning_rate='adaptive' lowers the rate when the training loss stalls, so the "
    "rates depend on the private data outside the accounted mechanism",
}


def _stateless_schedule(value: Any) -> bool:
    return isinstance(value, schedules.Schedule) and type(value).update is schedules.Schedule.update


class _BaseDPSGD(LinearModel):
    """What both private estimators share: the parameters, the budget, the fit."""

    _parameter_constraints: dict[str, list[Any]] = {
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "delta": [None, Interval(Real, 0, 1, closed="neither")],
        "clip_norm": [Interval(Real, 0, None, closed="neither")],
        "batch_size": SHARED_CONSTRAINTS["batch_size"],
        "max_iter": [Interval(Integral, 1, None)],
        "learning_rate": [
            Options(PRIVATE_RATES + tuple(_REFUSED_RATES)),
            Instance(schedules.Schedule, "a fastgd.schedules object"),
        ],
        "eta0": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None)],
        "optimizer": [
            Options(tuple(sorted(optimizers._BY_NAME))),
            Instance(optimizers.Optimizer, "a fastgd.optimizers object"),
        ],
        "penalty": [None, Options(_core.Penalty)],
        "alpha": SHARED_CONSTRAINTS["alpha"],
        "l1_ratio": SHARED_CONSTRAINTS["l1_ratio"],
        "fit_intercept": [Boolean()],
        "random_state": [
            None,
            Interval(Integral, 0, 2**32 - 1),
            Instance(np.random.RandomState, "a numpy.random.RandomState"),
        ],
        "secure": [Boolean()],
        "early_stopping": [Boolean()],
    }

    def _check_params(self) -> None:
        check_params(self, self._parameter_constraints)
        if isinstance(self.learning_rate, str) and self.learning_rate in _REFUSED_RATES:
            raise ValueError(
                f"{_REFUSED_RATES[self.learning_rate]}; use one of {list(PRIVATE_RATES)} or a "
                "stateless fastgd.schedules object (docs/privacy.md)"
            )
        if isinstance(self.learning_rate, schedules.Schedule) and not _stateless_schedule(
            self.learning_rate
        ):
            raise ValueError(
                f"learning_rate={self.learning_rate!r} adapts to the training loss, which the "
                "accountant does not count; use a schedule of the step index alone"
            )
        if self.learning_rate == "optimal" and self.alpha == 0:
            raise ValueError("alpha must be > 0 with learning_rate='optimal' (it sets the rate)")
        if self.early_stopping:
            raise ValueError(
                "early_stopping=True is refused: stopping on a validation score of the private "
                "data releases that score at every epoch, outside the accounted mechanism; "
                "fix max_iter in advance (docs/privacy.md)"
            )
        if self.secure and self.random_state is not None:
            raise ValueError(
                "secure=True draws the noise's key from the operating system's entropy, so a "
                "fit cannot be replayed: random_state must be None"
            )

    def _schedule(self):
        lr = self.learning_rate
        if lr == "constant":
            return schedules.Constant(self.eta0)
        if lr == "invscaling":
            return schedules.InverseScaling(self.eta0, self.power_t)
        if lr == "optimal":
            return schedules.Optimal(self.alpha)
        return lr

    def _budget(self, n: int) -> tuple[float, float, int, float]:
        """(delta, noise multiplier, steps, sampling rate) of a fit on n rows; a batch_size
        above n samples every row at every step (q = 1)."""
        batch = min(self.batch_size, n)
        delta = 1.0 / (10.0 * n) if self.delta is None else float(self.delta)
        if delta >= 1.0 / n:
            raise ValueError(
                f"delta={delta} is >= 1/n = {1.0 / n}: a mechanism that publishes one random "
                "row outright meets such a delta; use delta well below 1/n (default 1/(10 n))"
            )
        steps = self.max_iter * _accounting.steps_per_epoch(n, batch)
        sigma = _accounting.calibrated_sigma(batch / n, steps, delta, float(self.epsilon))
        return delta, sigma, steps, batch / n

    def _fit_private(self, X, y, n_outputs: int, loss: str) -> None:
        n, d = X.shape
        delta, sigma, steps, q = self._budget(n)
        coef = np.zeros((n_outputs, d), dtype=X.dtype)
        intercept = np.zeros(n_outputs, dtype=X.dtype)
        optimizer = None
        if not (isinstance(self.optimizer, str) and self.optimizer == "sgd"):
            optimizer = copy.deepcopy(optimizers.get_optimizer(self.optimizer))
            optimizer.reset()
        seen = _training.train(
            X,
            y,
            coef,
            intercept,
            schedule=self._schedule(),
            n_steps=steps,
            sampling_rate=q,
            clip_norm=float(self.clip_norm),
            noise_multiplier=sigma,
            key=_training.key_of(self.random_state, self.secure),
            secure=bool(self.secure),
            loss=loss,
            loss_epsilon=float(getattr(self, "loss_epsilon", 0.1)),
            penalty="none" if self.penalty is None else self.penalty,
            alpha=float(self.alpha),
            l1_ratio=float(self.l1_ratio),
            fit_intercept=bool(self.fit_intercept),
            optimizer=optimizer,
        )
        self._coef, self._intercept = coef, intercept
        self.noise_multiplier_ = sigma
        self.delta_ = delta
        self.n_steps_ = steps
        self.n_iter_ = self.max_iter
        self.n_rows_sampled_ = seen
        self.epsilon_ = _accounting._epsilon_of(q, sigma, steps, delta)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True  # random_state=None draws a new key
        return tags


_COMMON_DOC = """
    Parameters
    ----------
    epsilon, delta : the privacy budget (ε, δ) of the whole fit. ``delta=None`` is 1/(10·n)
        for n training rows; a delta >= 1/n is refused.
    clip_norm : C, the bound on each row's gradient norm ‖g_i‖·√(‖x_i‖² + 1) (√‖x_i‖² without
        an intercept); larger rows are scaled down to it.
    batch_size : the expected batch: each step samples every row with probability
        q = batch_size / n (Poisson sampling, as the accountant assumes; 1 when
        batch_size >= n).
    max_iter : epochs, each ceil(n / batch_size) steps; fixed in advance (no stopping rule).
    learning_rate, eta0, power_t : 'constant' (eta0), 'invscaling' (eta0 / (t + 1)^power_t),
        'optimal' (scikit-learn's, from alpha) or a stateless fastgd.schedules object.
        'auto' and 'adaptive' are refused (they read the private data).
    optimizer : 'sgd' or any fastgd.optimizers name or object; it acts on the noisy gradient
        (post-processing).
    penalty, alpha, l1_ratio, fit_intercept : as SGDClassifier's; the penalty is
        data-independent and applied after the noise.
    random_state : seed of the noise and sampling key (same seed, same model).
    secure : draw the key from the OS's entropy (os.urandom) and sum four Gaussians per
        coordinate (against floating-point attacks on the sampler); needs random_state=None.
    early_stopping : only False (a validation score of private data would leak).

    Attributes
    ----------
    coef_, intercept_, epsilon_ (ε spent at delta_, the smaller of RDP and PLD accounting),
    delta_, noise_multiplier_ (σ; the noise's standard deviation is σ·clip_norm),
    n_steps_, n_iter_ (= max_iter: the epochs run), n_rows_sampled_.
"""


class DPSGDClassifier(ClassifierMixin, LinearClassifierMixin, _BaseDPSGD):
    """A linear classifier trained by differentially private SGD (Abadi et al., CCS 2016).

    Two classes train one model; more classes with ``loss='log_loss'`` one softmax model
    (``multi_class='auto'``), other losses (or ``multi_class='ovr'``) K one-vs-rest outputs,
    clipped jointly per row (one mechanism for the K models). The classes themselves are read
    from y (docs/privacy.md: treat the label set as public). class_weight: only None
    ('balanced' reads the private class frequencies).
    """

    __doc__ += _COMMON_DOC

    _parameter_constraints: dict[str, list[Any]] = {
        "loss": [Options(CLASSIFICATION_LOSSES)],
        **_BaseDPSGD._parameter_constraints,
        "multi_class": [Options(("auto", "ovr", "multinomial"))],
        "class_weight": [None, Options(("balanced",)), Instance(dict, "a dict {class: weight}")],
    }

    def __init__(
        self,
        loss="log_loss",
        *,
        epsilon=1.0,
        delta=None,
        clip_norm=1.0,
        batch_size=256,
        max_iter=10,
        learning_rate="constant",
        eta0=1.0,
        power_t=0.5,
        optimizer="sgd",
        penalty="l2",
        alpha=1e-4,
        l1_ratio=0.15,
        fit_intercept=True,
        random_state=None,
        secure=False,
        early_stopping=False,
        multi_class="auto",
        class_weight=None,
    ):
        self.loss = loss
        self.epsilon = epsilon
        self.delta = delta
        self.clip_norm = clip_norm
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.optimizer = optimizer
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.random_state = random_state
        self.secure = secure
        self.early_stopping = early_stopping
        self.multi_class = multi_class
        self.class_weight = class_weight

    def _fit(self, X, y):
        self._check_params()
        if self.class_weight is not None:
            raise ValueError(
                "class_weight is refused: 'balanced' reads the private class frequencies, and "
                "a class weight above 1 scales its rows' gradients past the clipping norm the "
                "guarantee rests on (docs/privacy.md, 'What leaks anyway')"
            )
        if self.multi_class == "multinomial" and self.loss != "log_loss":
            raise ValueError(f"multi_class='multinomial' needs loss='log_loss', got {self.loss!r}")
        X, y = self._validate_X(X, y, reset=True, ensure_all_finite=False)
        from sklearn.utils.multiclass import check_classification_targets

        check_classification_targets(y)
        classes, encoded = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                f"The number of classes has to be greater than one; got {len(classes)} class"
            )
        K = len(classes)
        if K == 2:
            targets = np.where(encoded == 1, X.dtype.type(1), X.dtype.type(-1))
            self._fit_private(X, targets, 1, self.loss)
            self.multi_class_ = "ovr"
        else:
            softmax_model = self.loss == "log_loss" and self.multi_class != "ovr"
            self._fit_private(
                X,
                encoded.astype(np.int64),
                K,
                "multinomial" if softmax_model else self.loss,
            )
            self.multi_class_ = "multinomial" if softmax_model else "ovr"
        self.classes_ = classes
        self.coef_, self.intercept_ = self._coef, self._intercept
        del self._coef, self._intercept
        return self

    def fit(self, X, y):
        """Train on (X, y) within the budget (epsilon, delta); a failed fit keeps the previous
        model. There is no ``sample_weight``: a weight above 1 would scale a row's gradient past
        the clipping norm the guarantee rests on."""
        return fit_keeping_model(self, lambda: self._fit(X, y))


class DPSGDRegressor(RegressorMixin, _BaseDPSGD):
    """A linear regressor trained by differentially private SGD (Abadi et al., CCS 2016).

    ``loss``: any of fastgd's regression losses; ``loss_epsilon`` is the huber and
    epsilon-insensitive losses' ε (SGDRegressor's ``epsilon``, renamed: ``epsilon`` is the
    privacy budget here). Unbounded losses (squared error) have unbounded gradients: clipping
    bounds them, and biases the model towards small residuals' rows; huber is the natural
    private choice.
    """

    __doc__ += _COMMON_DOC

    _parameter_constraints: dict[str, list[Any]] = {
        "loss": [Options(REGRESSION_LOSSES)],
        **_BaseDPSGD._parameter_constraints,
        "loss_epsilon": SHARED_CONSTRAINTS["epsilon"],
    }

    def __init__(
        self,
        loss="squared_error",
        *,
        epsilon=1.0,
        delta=None,
        clip_norm=1.0,
        batch_size=256,
        max_iter=10,
        learning_rate="constant",
        eta0=0.1,
        power_t=0.5,
        optimizer="sgd",
        penalty="l2",
        alpha=1e-4,
        l1_ratio=0.15,
        fit_intercept=True,
        random_state=None,
        secure=False,
        early_stopping=False,
        loss_epsilon=0.1,
    ):
        self.loss = loss
        self.epsilon = epsilon
        self.delta = delta
        self.clip_norm = clip_norm
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.optimizer = optimizer
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.random_state = random_state
        self.secure = secure
        self.early_stopping = early_stopping
        self.loss_epsilon = loss_epsilon

    def _fit(self, X, y):
        self._check_params()
        X, y = self._validate_X(X, y, reset=True, ensure_all_finite=False, y_numeric=True)
        y = np.ascontiguousarray(y, dtype=X.dtype)
        self._fit_private(X, y, 1, self.loss)
        self.coef_, self.intercept_ = self._coef[0], self._intercept
        del self._coef, self._intercept
        return self

    def fit(self, X, y):
        """Train on (X, y) within the budget (epsilon, delta); a failed fit keeps the previous
        model. There is no ``sample_weight``: a weight above 1 would scale a row's gradient past
        the clipping norm the guarantee rests on."""
        return fit_keeping_model(self, lambda: self._fit(X, y))

    def predict(self, X):
        """x·coef_ + intercept_."""
        return self._decision(X).reshape(-1)
