"""Optimizers fused into the kernel's update, with PyTorch's formulas and defaults.

Pass one to :func:`fastgd.ops.sgd_epoch` (``optimizer=``) or to an estimator (``optimizer=``).
Each coordinate of a step gets the minibatch-mean gradient g, then (csrc/include/fastgd/
optimizers.hpp)::

    g ← g + α(1−ρ)·w                     (the L2 part of the penalty, as torch's weight_decay)
    w ← w − lr·direction(g, state)       (below)
    w ← sign(w)·max(|w| − lr·αρ, 0)      (the L1 proximal step, as for plain SGD)

=================  ==========================================================================
``SGD``            direction = g
``Momentum``       buf = μ·buf + (1−dampening)·g (buf = g at the first step); direction = buf
``Nesterov``       the same buf; direction = g + μ·buf
``Adagrad``        sum += g²; direction = g / (√sum + eps); lr / (1 + (t−1)·lr_decay)
``RMSprop``        v = α·v + (1−α)·g²; direction = g / (√v + eps)
``Adam``           m = β1·m + (1−β1)·g, v = β2·v + (1−β2)·g²;
                   direction = (m / (1−β1ᵗ)) / (√v / √(1−β2ᵗ) + eps)
``AdamW``          Adam, after the decoupled decay w ← w·(1 − lr·weight_decay)
=================  ==========================================================================

The learning rate of each step comes from the schedule, as for plain SGD. The intercept gets the
same optimizer with its own state, no penalty and no decay.

State: an optimizer object allocates its state arrays for the coefficients it first trains
(``state_``) and keeps them across epochs and ``partial_fit`` calls, as a PyTorch optimizer
does: use one object per model (estimators copy theirs per model and reset it at ``fit``).
``reset()`` forgets the state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _core
from ._validation import check_int, check_real, repr_from_signature

__all__ = [
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "Average",
    "Momentum",
    "Nesterov",
    "Optimizer",
    "RMSprop",
    "get_optimizer",
]


def feature_major(coef: np.ndarray) -> bool:
    """Whether softmax coefficients (K, d) are stored feature by feature (Fortran order), the
    layout the sparse kernel reads fastest; the dense kernels take C order."""
    return coef.ndim == 2 and coef.flags.f_contiguous and not coef.flags.c_contiguous


def full_in_layout_of(coef: np.ndarray, leading: tuple[int, ...], value: float) -> np.ndarray:
    """An array of shape (*leading, *coef.shape) filled with ``value``, each coef-shaped part in
    coef's memory layout."""
    if not feature_major(coef):
        return np.full((*leading, *coef.shape), value, dtype=coef.dtype)
    return np.swapaxes(np.full((*leading, *coef.shape[::-1]), value, dtype=coef.dtype), -1, -2)


def in_layout_of(coef: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``a`` (coef's shape, or (k, *coef.shape) for an optimizer's state), in coef's memory
    layout: itself when it has it, else a copy (a model's state, never the data)."""
    if coef.ndim != 2:
        return a
    if not feature_major(coef):
        return np.ascontiguousarray(a)
    swapped = np.swapaxes(a, -1, -2)  # (…, d, K): C order here is feature-major there
    return np.swapaxes(np.ascontiguousarray(swapped), -1, -2)


@dataclass
class OptimizerState:
    """The arrays an optimizer updates in place: k state values per coefficient (k, *coef.shape)
    and per intercept (k, n_intercepts), and the number of steps taken (torch's t − 1)."""

    coef: np.ndarray
    intercept: np.ndarray
    step: np.ndarray

    @property
    def t(self) -> int:
        """Steps taken so far."""
        return int(self.step[0])


class Optimizer:
    """Base class: hyper-parameters as same-named attributes, state allocated on first use."""

    kind: str = ""
    #: initial value of the state arrays (torch's Adagrad initial_accumulator_value)
    _initial_state: float = 0.0

    def kernel_kind(self) -> Any:
        """The kernels' name of this optimizer (a ``_core.Optimizer``)."""
        return _core.Optimizer.__members__[self.kind]

    def kernel_params(self) -> dict[str, float]:
        """The hyper-parameters the kernel reads (names of optimizers.hpp OptimizerParams)."""
        return {}

    def state_for(self, coef: np.ndarray) -> OptimizerState | None:
        """This optimizer's state for ``coef`` ((d,), or (K, d) for a softmax model), allocated at
        the first call."""
        k = _core.optimizer_state_arrays(self.kernel_kind())
        if k == 0:
            return None
        state = getattr(self, "state_", None)
        if state is None:
            n_intercepts = 1 if coef.ndim == 1 else coef.shape[0]
            state = OptimizerState(
                coef=full_in_layout_of(coef, (k,), self._initial_state),
                intercept=np.full((k, n_intercepts), self._initial_state, dtype=coef.dtype),
                step=np.zeros(1, dtype=np.int64),
            )
        elif state.coef.shape != (k, *coef.shape) or state.coef.dtype != coef.dtype:
            raise ValueError(
                f"optimizer {self!r} holds state for coefficients of shape "
                f"{state.coef.shape[1:]} and dtype {state.coef.dtype}, not {coef.shape} "
                f"{coef.dtype}: use one optimizer object per model, or call reset()"
            )
        state.coef = in_layout_of(coef, state.coef)
        self.state_ = state
        return state

    def reset(self) -> None:
        """Forget the state (the next epoch starts as the first)."""
        self.state_ = None

    def __repr__(self) -> str:
        return repr_from_signature(self)


class SGD(Optimizer):
    """Plain SGD: w ← w − lr·(g + α(1−ρ)·w), then the L1 step. No state."""

    kind = "sgd"

    def __init__(self) -> None:
        pass


class Momentum(Optimizer):
    """SGD with momentum (torch.optim.SGD with ``momentum``, ``dampening``)."""

    kind = "momentum"

    def __init__(self, momentum: float = 0.9, dampening: float = 0.0) -> None:
        self.momentum = check_real(momentum, "momentum", low=0.0, high=1.0)
        self.dampening = check_real(dampening, "dampening", low=0.0, high=1.0)

    def kernel_params(self) -> dict[str, float]:
        return {"momentum": self.momentum, "dampening": self.dampening}


class Nesterov(Optimizer):
    """SGD with Nesterov momentum (torch.optim.SGD with ``nesterov=True``)."""

    kind = "nesterov"

    def __init__(self, momentum: float = 0.9) -> None:
        self.momentum = check_real(momentum, "momentum", low=0.0, high=1.0, low_open=True)

    def kernel_params(self) -> dict[str, float]:
        return {"momentum": self.momentum, "dampening": 0.0}


class Adagrad(Optimizer):
    """Adagrad (torch.optim.Adagrad): per-coordinate rates lr / √(Σ g²)."""

    kind = "adagrad"

    def __init__(
        self, eps: float = 1e-10, lr_decay: float = 0.0, initial_accumulator_value: float = 0.0
    ) -> None:
        self.eps = check_real(eps, "eps", low=0.0)
        self.lr_decay = check_real(lr_decay, "lr_decay", low=0.0)
        self.initial_accumulator_value = check_real(
            initial_accumulator_value, "initial_accumulator_value", low=0.0
        )

    @property
    def _initial_state(self) -> float:  # type: ignore[override]
        return self.initial_accumulator_value

    def kernel_params(self) -> dict[str, float]:
        return {"eps": self.eps, "lr_decay": self.lr_decay}


class RMSprop(Optimizer):
    """RMSprop (torch.optim.RMSprop without momentum or centering)."""

    kind = "rmsprop"

    def __init__(self, alpha: float = 0.99, eps: float = 1e-8) -> None:
        self.alpha = check_real(alpha, "alpha", low=0.0, high=1.0)
        self.eps = check_real(eps, "eps", low=0.0)

    def kernel_params(self) -> dict[str, float]:
        return {"alpha": self.alpha, "eps": self.eps}


class Adam(Optimizer):
    """Adam (torch.optim.Adam; the penalty's L2 part acts as its coupled weight_decay)."""

    kind = "adam"

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None:
        self.beta1 = check_real(beta1, "beta1", low=0.0, high=1.0, high_open=True)
        self.beta2 = check_real(beta2, "beta2", low=0.0, high=1.0, high_open=True)
        self.eps = check_real(eps, "eps", low=0.0)

    def kernel_params(self) -> dict[str, float]:
        return {"beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


class AdamW(Adam):
    """AdamW (torch.optim.AdamW): Adam with decoupled weight decay w ← w·(1 − lr·weight_decay)."""

    kind = "adamw"

    def __init__(
        self,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(beta1, beta2, eps)
        self.weight_decay = check_real(weight_decay, "weight_decay", low=0.0)

    def kernel_params(self) -> dict[str, float]:
        return {**super().kernel_params(), "weight_decay": self.weight_decay}


_BY_NAME = {cls.kind: cls for cls in (SGD, Momentum, Nesterov, Adagrad, RMSprop, Adam, AdamW)}


def get_optimizer(optimizer: Any) -> Optimizer:
    """An Optimizer from a name ('sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam',
    'adamw'; default hyper-parameters) or an Optimizer object (returned as is)."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str) and optimizer in _BY_NAME:
        return _BY_NAME[optimizer]()
    raise ValueError(
        f"optimizer must be one of {sorted(_BY_NAME)} or a fastgd.optimizers "
        f"object, got {optimizer!r}"
    )


class Average:
    """Averaged SGD (scikit-learn's ``average``): after every step t ≥ ``start`` (steps counted
    from 1 over the whole fit) the kernel updates ``coef_``/``intercept_`` to the running mean of
    the weights, avg ← avg + (w − avg) / (t − start + 1). Training itself continues from the
    plain weights; the average is what a model usually predicts with. Like an optimizer, it
    allocates its arrays for the first coefficients it sees; ``reset()`` forgets them."""

    def __init__(self, start: int = 1) -> None:
        self.start = check_int(start, "start", low=1)

    def arrays_for(self, coef: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(average coef, average intercept (1,) or (K,), steps seen (1,) int64), allocated
        once."""
        if getattr(self, "coef_", None) is None:
            self.coef_ = full_in_layout_of(coef, (), 0.0)
            self.intercept_ = np.zeros(1 if coef.ndim == 1 else coef.shape[0], dtype=coef.dtype)
            self.step_ = np.zeros(1, dtype=np.int64)
        elif self.coef_.shape != coef.shape or self.coef_.dtype != coef.dtype:
            raise ValueError(
                f"{self!r} holds an average of shape {self.coef_.shape} "
                f"{self.coef_.dtype}, not {coef.shape} {coef.dtype}: use one per "
                "model, or call reset()"
            )
        self.coef_ = in_layout_of(coef, self.coef_)
        return self.coef_, self.intercept_, self.step_

    def reset(self) -> None:
        self.coef_ = self.intercept_ = self.step_ = None

    def __repr__(self) -> str:
        return repr_from_signature(self)
