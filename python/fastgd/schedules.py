"""Learning-rate schedules.

A schedule maps **global step indices** to learning rates. Step 0 is the first minibatch
step of the whole fit; the count does not restart at each epoch. Once per epoch the training
loop asks for the rates of all that epoch's steps at once::

    lrs = rates(schedule, start=t, n_steps=n)   # == schedule(np.arange(t, t + n))

and hands the float64 array to the compiled kernel. Schedules are therefore *vectorized*:
``schedule(steps)`` takes an integer array and returns a float64 array of the same shape,
with no Python loop per step. A scalar step gives a ``np.float64``.

Writing a custom schedule
-------------------------
Either pass any vectorized callable, e.g. ``lambda t: 0.1 / np.sqrt(t + 1)`` (a callable
returning a single number, such as ``lambda t: 0.01``, is broadcast to every step), or
subclass :class:`Schedule`::

    class HalfEvery(Schedule):
        \"\"\"lr * 0.5 ** floor(t / every).\"\"\"

        def __init__(self, lr, every):
            self.lr = lr          # store each constructor argument under its own name:
            self.every = every    # __repr__ is generated from them

        def _rates(self, steps):  # steps: 1-D int64 array, all >= 0
            return self.lr * 0.5 ** (steps // self.every)

``Schedule.__call__`` validates the steps (integer dtype, non-negative) and reshapes the
result, so ``_rates`` only ever sees a flat int64 array. Schedules that react to the training
loss override ``update(epoch_loss)`` (called after each epoch) and ``reset()`` (called at the
start of each fit); see :class:`Adaptive`.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ._validation import check_bool, check_int, check_real, repr_from_signature

__all__ = [
    "Schedule",
    "Constant",
    "ExponentialDecay",
    "StepDecay",
    "LinearDecay",
    "InverseScaling",
    "Optimal",
    "CosineDecay",
    "OneCycle",
    "Warmup",
    "Adaptive",
    "auto",
    "rates",
]


def _rate(value: Any, name: str) -> float:
    """A learning rate: finite and > 0."""
    return check_real(value, name, low=0.0, low_open=True)


def _final_rate(value: Any, name: str, lr: float) -> float:
    """An end rate: finite, >= 0 and not above the starting rate (these are decays)."""
    return check_real(value, name, low=0.0, high=lr)


# --------------------------------------------------------------------------------------------
# Base class
# --------------------------------------------------------------------------------------------


class Schedule:
    """Base class of learning-rate schedules.

    Subclasses store each constructor argument as a same-named attribute and implement
    ``_rates(steps)``, which receives a 1-D int64 array of non-negative global step indices
    and returns the float64 rates. ``update`` and ``reset`` are no-op hooks for schedules
    that depend on the training loss.

    ``_rates`` depends only on the steps and on the state that ``update`` and ``reset`` change:
    a fit computes the rates of its next kernel call on another thread while the current call
    trains (never across an epoch's end, where ``update`` runs).
    """

    def __call__(self, steps: Any) -> Any:
        """Rates for ``steps``: an ndarray of the same shape, or ``np.float64`` for a scalar."""
        steps = np.asarray(steps)
        # np.bool_ is not a np.integer subtype, so booleans are refused here too.
        if not np.issubdtype(steps.dtype, np.integer):
            raise TypeError(f"steps must be integers, got an array of dtype {steps.dtype}")
        if steps.size:
            if steps.min() < 0:
                raise ValueError(f"steps must be non-negative, got {steps.min()}")
            if steps.max() > np.iinfo(np.int64).max:  # only possible for uint64
                raise ValueError(f"steps must fit in int64, got {steps.max()}")
        flat = steps.astype(np.int64, copy=False).reshape(-1)
        out = np.asarray(self._rates(flat), dtype=np.float64).reshape(steps.shape)
        # [()] turns a 0-d array into a np.float64 and leaves n-d arrays untouched.
        return out[()]

    def _rates(self, steps: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must implement _rates(steps)")

    def update(self, epoch_loss: float) -> bool:
        """Told the training loss of each finished epoch; returns True if that changed the rate
        (a training loop keeps going after such a change instead of stopping). Stateless
        schedules ignore it and return False."""
        return False

    def reset(self) -> None:
        """Restore the state a fit starts from. Does nothing by default (stateless)."""
        return None

    def __repr__(self) -> str:
        return repr_from_signature(self)


# --------------------------------------------------------------------------------------------
# Stateless schedules
# --------------------------------------------------------------------------------------------


class Constant(Schedule):
    """``lr`` at every step."""

    def __init__(self, lr: float) -> None:
        self.lr = _rate(lr, "lr")

    def _rates(self, steps: np.ndarray) -> np.ndarray:
        return np.full(steps.shape, self.lr)


class ExponentialDecay(Schedule):
    """``lr * decay_rate ** (t / decay_steps)``; with ``staircase=True`` the exponent is
    ``floor(t / decay_steps)``, so the rate drops once every ``decay_steps`` steps.

    ``0 < decay_rate <= 1`` (Keras ``ExponentialDecay``).
    """

    def __init__(
        self, lr: float, decay_rate: float, decay_steps: int = 1, staircase: bool = False
    ) -> None:
        self.lr = _rate(lr, "lr")
        self.decay_rate = check_real(decay_rate, "decay_rate", low=0.0, low_open=True, high=1.0)
        self.decay_steps = check_int(decay_steps, "decay_steps", low=1)
        self.staircase = check_bool(staircase, "staircase")

    def _rates(self, steps: np.ndarray) -> np.ndarray:
        if self.staircase:
            exponent = (steps // self.decay_steps).astype(np.float64)
        else:
            exponent = steps / self.decay_steps
        return self.lr * self.decay_rate**exponent


class StepDecay(Schedule):
    """``lr * gamma ** floor(t / step_size)`` (PyTorch ``StepLR``), ``0 < gamma <= 1``."""

    def __init__(self, lr: float, step_size: int, gamma: float = 0.1) -> None:
        self.lr = _rate(lr, "lr")
        self.step_size = check_int(step_size, "step_size", low=1)
        self.gamma = check_real(gamma, "gamma", low=0.0, low_open=True, high=1.0)

    def _rates(self, steps: np.ndarray) -> np.ndarray:
        return self.lr * self.gamma ** (steps // self.step_size).astype(np.float64)


class LinearDecay(Schedule):
    """Polynomial decay from ``lr`` to ``final_lr`` over ``decay_steps`` (Keras
    ``PolynomialDecay``; linear for ``power=1``)::

        (lr - final_lr) * (1 - min(t, decay_steps) / decay_steps) ** power + final_lr

    It stays at ``final_lr`` after ``decay_steps``. ``0 <= final_lr <= lr``, ``power > 0``.
    """

    def __init__(
        self, lr: float, decay_steps: int, final_lr: float = 0.0, power: float = 1.0
    ) -> None:
        self.lr = _rate(lr, "lr")
        self.decay_steps = check_int(decay_steps, "decay_steps", low=1)
        self.final_lr = _final_rate(final_lr, "final_lr", self.lr)
        self.power = check_real(power, "power", low=0.0, low_open=True)

    def _rates(self, steps: np.ndarray) -> np.ndarray:
        frac = np.minimum(steps, self.decay_steps) / self.decay_steps
        return (self.lr - self.final_lr) * (1.0 - frac) ** self.power + self.final_lr


class InverseScaling(Schedule):
    """``lr / (t + 1) ** power_t``: scikit-learn's ``'invscaling'`` (which counts steps
    from 1, hence ``t + 1``). ``power_t`` is usually >= 0; a negative one makes the rate grow
    (scikit-learn deprecates that for its estimators, and still trains with it).
    """

    def __init__(self, lr: float, power_t: float = 0.25) -> None:
        self.lr = _rate(lr, "lr")
        self.power_t = check_real(power_t, "power_t")

    def _rates(self, steps: np.ndarray) -> np.ndarray:
        return self.lr / (steps + 1.0) ** self.power_t


class Optimal(Schedule):
    """``1 / (alpha * (t0 + t))``: scikit-learn's ``'optimal'`` schedule, for an
    L2-regularized objective with regularization strength ``alpha``.

    With ``t0=None`` it uses Bottou's heuristic as scikit-learn does; the offset actually
    used is the attribute ``t0_`` (``t0`` keeps the value given). The first rate then equals
    ``typw = sqrt(1 / sqrt(alpha))``, the step size expected for a typical weight.
    """

    def __init__(self, alpha: float, t0: float | None = None) -> None:
        self.alpha = _rate(alpha, "alpha")
        if t0 is None:
            self.t0 = None
            # scikit-learn (_sgd_fast.pyx.tp):
            #     typw = sqrt(1 / sqrt(alpha))
            #     eta0 = typw / max(1, loss.dloss(y=1, p=-typw))
            #     t0 = 1 / (eta0 * alpha)
            # For every loss it supports (hinge, log, modified_huber, squared_hinge,
            # perceptron, squared, huber, epsilon-insensitive, ...) the derivative at p=-typw,
            # y=1 is <= 0 (the prediction is on the wrong side / below the target, so the loss
            # decreases as p grows), so max(1, .) == 1 and eta0 == typw. The loss therefore
            # does not matter, and the schedule needs only alpha.
            typw = math.sqrt(1.0 / math.sqrt(self.alpha))
            self.t0_ = 1.0 / (typw * self.alpha)
        else:
            self.t0 = check_real(t0, "t0", low=0.0, low_open=True)
            self.t0_ = self.t0

    def _rates(self, steps: np.ndarray) -> np.ndarray:
        # scikit-learn writes alpha * (t0 + t - 1) with t counted from 1; our t counts from 0.
        return 1.0 / (self.alpha * (self.t0_ + steps))


class CosineDecay(Schedule):
    """Cosine decay from ``lr`` to ``final_lr`` over ``decay_steps``, then constant::

        final_lr + 0.5 * (lr - final_lr) * (1 + cos(pi * min(t, decay_steps) / decay_steps))

    ``0 <= final_lr <= lr``.
    """

    def __init__(self, lr: float, decay_steps: int, final_lr: float = 0.0) -> None:
        self.lr = _rate(lr, "lr")
        self.decay_steps = check_int(decay_steps, "decay_steps", low=1)
        self.final_lr = _final_rate(final_lr, "final_lr", self.lr)

    def _rates(self, steps: np.ndarray) -> np.ndarray:
        frac = np.minimum(steps, self.decay_steps) / self.decay_steps
        return self.final_lr + 0.5 * (self.lr - self.final_lr) * (1.0 + np.cos(np.pi * frac))


def _anneal_cos(start: float, end: float, pct: np.ndarray) -> np.ndarray:
    """Cosine from ``start`` (pct=0) to ``end`` (pct=1), written as PyTorch writes it."""
    return end + (start - end) / 2.0 * (np.cos(np.pi * pct) + 1.0)


class OneCycle(Schedule):
    """The 1cycle policy, matching PyTorch's ``OneCycleLR(max_lr=lr, total_steps=...,
    anneal_strategy='cos', three_phase=False)``.

    With ``initial = lr / div_factor``, ``min_lr = initial / final_div_factor`` and
    ``end1 = pct_start * total_steps - 1`` (a float, as PyTorch computes it)::

        t <= end1:               anneal(initial, lr, t / end1)
        end1 < t < total_steps:  anneal(lr, min_lr, (t - end1) / (total_steps - 1 - end1))
        t >= total_steps:        min_lr

    where ``anneal(a, b, pct) = b + (a - b) / 2 * (cos(pi * pct) + 1)``. PyTorch raises past
    ``total_steps``; here the rate stays at ``min_lr`` (so at ``t == total_steps`` we give
    ``min_lr`` where PyTorch would extrapolate the cosine slightly past its minimum).

    ``0 <= pct_start <= 1`` (and ``pct_start * total_steps != 1``, which makes phase 1
    empty and PyTorch divide by zero), ``div_factor > 0``, ``final_div_factor > 0``.
    """

    def __init__(
        self,
        lr: float,
        total_steps: int,
        pct_start: float = 0.3,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
    ) -> None:
        self.lr = _rate(lr, "lr")
        self.total_steps = check_int(total_steps, "total_steps", low=1)
        self.pct_start = check_real(pct_start, "pct_start", low=0.0, high=1.0)
        self.div_factor = check_real(div_factor, "div_factor", low=0.0, low_open=True)
        self.final_div_factor = check_real(
            final_div_factor, "final_div_factor", low=0.0, low_open=True
        )
        # Phase boundary exactly as PyTorch computes it (float, may be negative).
        self._end1 = float(self.pct_start * self.total_steps) - 1
        if self._end1 == 0.0:
            raise ValueError(
                f"pct_start * total_steps must not equal 1 (phase 1 would be a single step "
                f"of zero length), got pct_start={pct_start!r}, total_steps={total_steps!r}"
            )
        self._initial_lr = self.lr / self.div_factor
        self._min_lr = self._initial_lr / self.final_div_factor

    def _rates(self, steps: np.ndarray) -> np.ndarray:
        t = steps.astype(np.float64)
        end1, end2 = self._end1, float(self.total_steps - 1)
        out = np.full(t.shape, self._min_lr)
        # Masks instead of np.where so that a zero-length phase (pct_start == 1 makes phase 2
        # empty) is never divided by: its mask is empty.
        up = t <= end1
        down = ~up & (t <= end2)
        out[up] = _anneal_cos(self._initial_lr, self.lr, t[up] / end1)
        out[down] = _anneal_cos(self.lr, self._min_lr, (t[down] - end1) / (end2 - end1))
        return out


# --------------------------------------------------------------------------------------------
# Wrappers and stateful schedules
# --------------------------------------------------------------------------------------------


class Warmup(Schedule):
    """Linear warmup in front of another schedule, which is then shifted by the warmup::

        t <  warmup_steps:  schedule(0) * (start_factor + (1 - start_factor) * t / warmup_steps)
        t >= warmup_steps:  schedule(t - warmup_steps)

    ``schedule`` is any :class:`Schedule` or vectorized callable; ``0 <= start_factor <= 1``.
    ``update`` and ``reset`` are forwarded to the wrapped schedule when it has them.
    """

    def __init__(
        self, schedule: Callable[[np.ndarray], Any], warmup_steps: int, start_factor: float = 0.0
    ) -> None:
        if not callable(schedule):
            raise TypeError(
                f"schedule must be callable, got {type(schedule).__name__} {schedule!r}"
            )
        self.schedule = schedule
        self.warmup_steps = check_int(warmup_steps, "warmup_steps", low=1)
        self.start_factor = check_real(start_factor, "start_factor", low=0.0, high=1.0)

    def _rates(self, steps: np.ndarray) -> np.ndarray:
        base = _evaluate(self.schedule, np.zeros(1, dtype=np.int64))[0]
        # One call of the wrapped schedule for all steps; warmup steps are clamped to 0
        # (a valid step) and their values discarded below.
        after = _evaluate(self.schedule, np.maximum(steps - self.warmup_steps, 0))
        ramp = base * (self.start_factor + (1.0 - self.start_factor) * (steps / self.warmup_steps))
        return np.where(steps < self.warmup_steps, ramp, after)

    def update(self, epoch_loss: float) -> bool:
        hook = getattr(self.schedule, "update", None)
        return bool(hook(epoch_loss)) if callable(hook) else False

    def reset(self) -> None:
        hook = getattr(self.schedule, "reset", None)
        if callable(hook):
            hook()


class Plateau:
    """Counts epochs without improvement: scikit-learn's rule, shared by :class:`Adaptive` and
    the training loop's stopping test (so both always agree).

    ``update(value)`` (lower is better) counts an epoch without improvement when
    ``value > best - tol`` and restarts the count otherwise; ``best`` then moves to ``value``
    whenever it is strictly lower, even by less than ``tol``. This is _plain_sgd's rule in
    scikit-learn's sklearn/linear_model/_sgd_fast.pyx.tp (a validation score is passed negated).
    """

    def __init__(self, tol: float) -> None:
        self.tol = tol
        self.reset()

    def reset(self) -> None:
        self.best = math.inf
        self.count = 0

    def update(self, value: float) -> int:
        """Record one epoch's value; returns the number of epochs in a row without improvement."""
        self.count = self.count + 1 if value > self.best - self.tol else 0
        self.best = min(self.best, value)
        return self.count


class Adaptive(Schedule):
    """scikit-learn's ``'adaptive'`` schedule: the current rate ``lr_`` at every step,
    divided by ``factor`` whenever the epoch loss stops improving.

    After each epoch, ``update(epoch_loss)`` applies the :class:`Plateau` rule. When
    ``patience`` epochs in a row brought no improvement of more than ``tol``: if
    ``lr_ > min_lr``, ``lr_`` is divided by ``factor``, the count restarts and ``update``
    returns True; otherwise it returns False and the rate stays (a training loop then stops).
    ``reset()`` restores ``lr_ = lr`` and forgets the loss history. The defaults are
    scikit-learn's (``factor=5``, ``patience = n_iter_no_change = 5``, ``min_lr=1e-6``).

    ``decay_from``: the first ``decay_steps`` steps decay geometrically from ``decay_from`` to
    ``lr``, ``lr_·(decay_from/lr)^(1 − t/decay_steps)`` at step t (what :func:`auto` starts
    with); the default starts at ``lr``.

    ``factor > 1``, ``patience >= 1``, ``tol >= 0``, ``0 <= min_lr <= lr <= decay_from``,
    ``decay_steps >= 0``.
    """

    def __init__(
        self,
        lr: float,
        factor: float = 5.0,
        patience: int = 5,
        tol: float = 1e-3,
        min_lr: float = 1e-6,
        decay_from: float | None = None,
        decay_steps: int = 0,
    ) -> None:
        self.lr = _rate(lr, "lr")
        self.factor = check_real(factor, "factor", low=1.0, low_open=True)
        self.patience = check_int(patience, "patience", low=1)
        self.tol = check_real(tol, "tol", low=0.0)
        self.min_lr = _final_rate(min_lr, "min_lr", self.lr)
        self.decay_from = (
            None if decay_from is None else check_real(decay_from, "decay_from", low=self.lr)
        )
        self.decay_steps = check_int(decay_steps, "decay_steps", low=0)
        self.reset()

    def reset(self) -> None:
        self.lr_ = self.lr
        self._plateau = Plateau(self.tol)

    @property
    def best_loss_(self) -> float:
        """The lowest epoch loss seen since the last reset."""
        return self._plateau.best

    @property
    def n_no_improvement_(self) -> int:
        """Epochs in a row without an improvement of more than ``tol``."""
        return self._plateau.count

    def update(self, epoch_loss: float) -> bool:
        """Record an epoch's loss; True when the rate was lowered because of it."""
        loss = check_real(epoch_loss, "epoch_loss")
        if self._plateau.update(loss) < self.patience or self.lr_ <= self.min_lr:
            return False
        # As scikit-learn: divide while above the floor (the result may fall below it once).
        self.lr_ /= self.factor
        self._plateau.count = 0
        return True

    def _rates(self, steps: np.ndarray) -> np.ndarray:
        rates = np.full(steps.shape, self.lr_)
        if self.decay_from is not None and self.decay_steps > 0:
            left = np.maximum(1.0 - steps / self.decay_steps, 0.0)
            rates *= (self.decay_from / self.lr) ** left
        return rates


# The decay of auto() after its first: halve the rate on a plateau of the epoch loss, down to this
# fraction of the rate the first decay ends at (about 7 halvings: the noise floor of SGD,
# proportional to the rate, 100× lower).
AUTO_FACTOR = 2.0
AUTO_MIN_FRACTION = 1e-2


def auto(
    X: Any,
    y: Any = None,
    *,
    loss: str = "squared_error",
    batch_size: int | None = 1,
    alpha: float = 1e-4,
    penalty: str = "l2",
    l1_ratio: float = 0.15,
    fit_intercept: bool = True,
    sample_weight: Any = None,
    optimizer: Any = None,
    intercept_decay: float = 1.0,
    epsilon: float = 0.1,
    patience: int = 5,
    tol: float = 1e-3,
    n_threads: int | None = None,
    grad_rms: float | None = None,
) -> Adaptive:
    """The schedule of ``learning_rate="auto"``, from the data: an :class:`Adaptive` schedule
    that starts at the step 1/L_B of the problem's smoothness, then is halved whenever the epoch
    loss (passed to ``update``) stops improving for ``patience`` epochs, down to 1% of the rate
    its first decay ends at (below).

    L_B is the expected smoothness of a batch of ``batch_size`` rows (``None``: full batch)
    (Gower et al., ICML 2019)::

        L     = κ·λ_max(X̃ᵀSX̃/n) + α(1−ρ)          (power iterations in the compiled core)
        L_max = κ·max_i s_i·‖x̃_i‖² + α(1−ρ)
        L_B   = n(B−1)/(B(n−1))·L + (n−B)/(B(n−1))·L_max

    with x̃_i = (x_i, √intercept_decay) when ``fit_intercept`` (else x_i), S the sample weights,
    ρ the L1 share of the penalty (0 for l2; the L1 part does not limit the step), and κ the
    loss's curvature bound: 1 for squared_error and huber, 1/4 for log_loss, 1/2 for the softmax,
    2 for squared_hinge, modified_huber and squared_epsilon_insensitive, and 1 for the piecewise
    linear hinge and epsilon_insensitive (the curvature of their unit Huber smoothing).

    With the targets ``y`` (as :func:`fastgd.ops.sgd_epoch` takes them), the rate first decays
    geometrically, over the first epoch of X's rows (at least 128 steps), to the rate where SGD's
    noise floor, about η/4 times the trace of the batch gradient's covariance, is near 0.5% of
    the loss: η = 0.02·F(0)/tr Σ_B(0), measured at the zero model in the same pass
    (docs/learning_rate.md). The estimators always pass their targets. Without them, or at full
    batch (no noise), the rate starts where it stays.

    ``optimizer``: momentum and Nesterov take (1−μ)/L_B, the rate whose built-up step is 1/L_B;
    Adagrad, RMSprop and Adam normalize each coordinate's step, and need ``grad_rms`` (the root
    mean square of the gradient at the starting point: their rate is then grad_rms/L_B, the size
    of plain SGD's first step per coordinate). The schedule's ``smoothness_`` holds L, L_max, L_B.
    Costs one pass over X for the row norms and one per power iteration (at most 10, none at
    ``batch_size=1``, where L_B = L_max).
    """
    from . import _auto_rate

    noise = None
    if y is not None:
        noise = _auto_rate.noise_at_zero(y, sample_weight, loss=loss, epsilon=epsilon)
    s = _auto_rate.smoothness(
        X,
        start_noise=noise,
        loss=loss,
        batch_size=batch_size,
        alpha=alpha,
        penalty=penalty,
        l1_ratio=l1_ratio,
        fit_intercept=fit_intercept,
        intercept_decay=check_real(intercept_decay, "intercept_decay", low=0.0, high=1.0),
        sample_weight=sample_weight,
        n_threads=n_threads,
    )
    return _auto_schedule(
        s,
        lambda step: _auto_rate.optimizer_rate(step, optimizer, grad_rms),
        _auto_rate.decay_steps(X.shape[0], batch_size),
        patience,
        tol,
    )


def _auto_schedule(
    smoothness: Any, rate_of: Callable[[float], float], decay_steps: int, patience: int, tol: float
) -> Adaptive:
    """The schedule of ``auto`` from the problem's smoothness: ``rate_of`` turns a plain SGD
    step into the optimizer's rate."""
    lr = rate_of(smoothness.step)
    schedule = Adaptive(
        lr,
        factor=AUTO_FACTOR,
        patience=patience,
        tol=tol,
        min_lr=lr * AUTO_MIN_FRACTION,
        decay_from=max(lr, rate_of(smoothness.start_step)),
        decay_steps=decay_steps,
    )
    schedule.smoothness_ = smoothness
    return schedule


# --------------------------------------------------------------------------------------------
# What training loops call
# --------------------------------------------------------------------------------------------


def _evaluate(
    schedule: Callable[[np.ndarray], Any],
    steps: np.ndarray,
    call: Callable[[np.ndarray], Any] | None = None,
) -> np.ndarray:
    """``schedule(steps)`` as a checked float64 array of the same shape as ``steps``.

    A 0-d result (e.g. from ``lambda t: 0.01``) is broadcast to every step; any other shape
    must equal ``steps.shape``. Every rate must be finite and >= 0.
    """
    result = np.asarray((call or schedule)(steps))
    # Refuse bool/complex/object/str results instead of letting a cast guess.
    if result.dtype.kind not in "iuf":
        raise TypeError(
            f"schedule {schedule!r} must return real numbers, got an array of dtype {result.dtype}"
        )
    result = result.astype(np.float64, copy=False)
    if result.ndim == 0:
        result = np.full(steps.shape, result[()])
    elif result.shape != steps.shape:
        raise ValueError(
            f"schedule {schedule!r} returned shape {result.shape} for "
            f"{steps.size} steps; expected shape {steps.shape} or a scalar"
        )
    # Two reductions without temporaries; NaN fails `low >= 0`, +inf fails `high < inf`.
    low, high = (result.min(), result.max()) if result.size else (0.0, 0.0)
    if not (low >= 0 and high < np.inf):
        i = int(np.flatnonzero(~(np.isfinite(result) & (result >= 0)))[0])
        raise ValueError(
            f"schedule {schedule!r} returned learning rate {float(result.flat[i])!r} "
            f"at step {int(steps.flat[i])}; rates must be finite and >= 0"
        )
    return np.ascontiguousarray(result)  # as the kernels take rates


def rates(schedule: Callable[[np.ndarray], Any], start: int, n_steps: int) -> np.ndarray:
    """The float64 rates of global steps ``start, ..., start + n_steps - 1``, checked, in one
    contiguous array (what :func:`fastgd.ops.sgd_epoch` and the kernels take).

    ``schedule`` is a :class:`Schedule` or any vectorized callable. A callable returning a
    single number is broadcast to all steps. Raises TypeError when ``schedule`` is not
    callable or returns non-real values, and ValueError (naming the schedule and the first
    bad step) when the result has the wrong shape or a rate that is negative, NaN or inf.
    """
    if not callable(schedule):
        raise TypeError(f"schedule must be callable, got {type(schedule).__name__} {schedule!r}")
    start = check_int(start, "start", low=0)
    n_steps = check_int(n_steps, "n_steps", low=0)
    steps = np.arange(int(start), int(start) + int(n_steps), dtype=np.int64)
    # Steps made here are valid: a Schedule's rates are taken without __call__'s checks of them.
    return _evaluate(schedule, steps, schedule._rates if isinstance(schedule, Schedule) else None)
