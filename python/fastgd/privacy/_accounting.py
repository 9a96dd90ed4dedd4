"""The privacy spent by DP-SGD, from Google's ``dp-accounting`` package (the ``privacy`` extra).

The mechanism is the one the private kernel runs (fastgd/private_sgd.hpp): each of ``steps``
steps samples every row independently with probability ``q`` (Poisson sampling), sums the
clipped gradients of norm at most C and adds N(0, (σC)²) to each coordinate: the
Poisson-subsampled Gaussian mechanism with noise multiplier σ, composed ``steps`` times, under
the add/remove-one-row neighbouring relation. ε at a given δ is computed by two accountants,
Rényi DP (Mironov 2017; Mironov, Talwar and Zhang 2019) and privacy-loss distributions
(Koskela et al. 2020; Doroshenko et al. 2022), and the smaller is reported: both are upper
bounds on the true ε, so the smaller is one too.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math

from .._validation import check_int, check_real

__all__ = ["epsilon", "noise_multiplier", "steps_per_epoch"]

# The PLD accountant's discretization of the privacy loss: its ε is a pessimistic (upper)
# estimate at any interval; 1e-3 keeps a composition of thousands of steps within a second.
PLD_DISCRETIZATION = 1e-3
# noise_multiplier's answer is at most this much (relatively) above the smallest σ that spends
# no more than the budget.
CALIBRATION_RTOL = 2e-3


def _dp_accounting():
    try:
        import dp_accounting
        from dp_accounting import pld, rdp  # noqa: F401
    except ImportError as e:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "fastgd.privacy's accounting needs Google's dp-accounting package: "
            "pip install 'fastgd[privacy]' (or pip install dp-accounting)"
        ) from e
    return dp_accounting


@contextlib.contextmanager
def _quiet_absl():
    """dp-accounting logs a warning for each Rényi order whose series does not converge (and
    leaves that order out, which only loosens the bound): keep them out of the user's log."""
    logger = logging.getLogger("absl")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Steps of one epoch: ``ceil(n / batch_size)``, each sampling ``batch_size`` rows in
    expectation, so that an epoch sees n rows in expectation."""
    return -(-n // batch_size)


def _check_common(n, batch_size, epochs, delta):
    n = check_int(n, "n", low=1)
    batch_size = check_int(batch_size, "batch_size", low=1, high=n)
    epochs = check_int(epochs, "epochs", low=1)
    delta = check_real(delta, "delta", low=0.0, high=1.0, low_open=True, high_open=True)
    return n, batch_size, epochs, delta


def _event(q: float, sigma: float, steps: int):
    dpa = _dp_accounting()
    return dpa.SelfComposedDpEvent(dpa.PoissonSampledDpEvent(q, dpa.GaussianDpEvent(sigma)), steps)


def rdp_epsilon(q: float, sigma: float, steps: int, delta: float) -> float:
    """ε of the Poisson-subsampled Gaussian composed ``steps`` times, by dp-accounting's RDP
    accountant (its default orders)."""
    dpa = _dp_accounting()
    accountant = dpa.rdp.RdpAccountant()
    with _quiet_absl():
        accountant.compose(_event(q, sigma, steps))
        return float(accountant.get_epsilon(delta))


def pld_epsilon(q: float, sigma: float, steps: int, delta: float) -> float:
    """ε of the same composition by dp-accounting's PLD accountant (discretization
    :data:`PLD_DISCRETIZATION`)."""
    dpa = _dp_accounting()
    accountant = dpa.pld.PLDAccountant(value_discretization_interval=PLD_DISCRETIZATION)
    with _quiet_absl():
        accountant.compose(_event(q, sigma, steps))
        return float(accountant.get_epsilon(delta))


@functools.lru_cache(maxsize=256)
def _epsilon_of(q: float, sigma: float, steps: int, delta: float) -> float:
    """min(RDP, PLD) (cached: each estimator fit reports the ε of its calibrated σ)."""
    if sigma == 0:
        return math.inf
    return min(rdp_epsilon(q, sigma, steps, delta), pld_epsilon(q, sigma, steps, delta))


def epsilon(n: int, batch_size: int, epochs: int, noise_multiplier: float, delta: float) -> float:
    """ε spent at ``delta`` by DP-SGD on ``n`` rows: ``epochs`` × ``ceil(n / batch_size)``
    steps, each Poisson-sampling its rows with probability q = batch_size / n and adding
    Gaussian noise of ``noise_multiplier`` × the clipping norm to the sum of the clipped
    gradients. The smaller of dp-accounting's RDP and PLD estimates (both upper bounds);
    ``inf`` for ``noise_multiplier=0``.

    >>> round(epsilon(60000, 256, 10, 1.1, 1e-5), 2)  # doctest: +SKIP
    """
    n, batch_size, epochs, delta = _check_common(n, batch_size, epochs, delta)
    sigma = check_real(noise_multiplier, "noise_multiplier", low=0.0)
    return _epsilon_of(batch_size / n, sigma, epochs * steps_per_epoch(n, batch_size), delta)


def noise_multiplier(n: int, batch_size: int, epochs: int, epsilon: float, delta: float) -> float:
    """The inverse of :func:`epsilon`: a noise multiplier σ whose run spends at most
    ``epsilon`` at ``delta``, at most :data:`CALIBRATION_RTOL` (relatively) above the smallest
    such σ (ε decreases as σ grows: bisection on log σ)."""
    n, batch_size, epochs, delta = _check_common(n, batch_size, epochs, delta)
    target = check_real(epsilon, "epsilon", low=0.0, low_open=True)
    return calibrated_sigma(batch_size / n, epochs * steps_per_epoch(n, batch_size), delta, target)


@functools.lru_cache(maxsize=256)
def calibrated_sigma(q: float, steps: int, delta: float, target: float) -> float:
    """noise_multiplier for a sampling rate and a number of steps (cached: the accountants
    take a while, and a grid search refits the same configuration)."""
    return _calibrate(lambda s: _epsilon_of(q, s, steps, delta), target)


def _calibrate(spent, target: float) -> float:
    """The search behind noise_multiplier: a bracket [lo, hi] with spent(hi) <= target <
    spent(lo) (doubling or halving from σ = 1), narrowed by the Illinois variant of regula
    falsi on log ε against log σ (nearly linear, so a few accountant calls suffice), each
    point kept a third of the tolerance inside the bracket so that it shrinks, until
    hi / lo <= 1 + CALIBRATION_RTOL; returns hi."""

    def g(sigma: float) -> float:
        return math.log(spent(sigma) / target)

    hi, g_hi = 1.0, g(1.0)
    lo, g_lo = hi, g_hi
    while g_hi > 0:
        lo, g_lo = hi, g_hi
        hi *= 2.0
        if hi > 1e6:
            raise ValueError(f"epsilon={target} cannot be reached with a noise multiplier <= 1e6")
        g_hi = g(hi)
    while g_lo <= 0:
        hi, g_hi = lo, g_lo
        lo /= 2.0
        if lo < 1e-3:
            return hi
        g_lo = g(lo)
    margin = math.log1p(CALIBRATION_RTOL) / 3.0
    side = 0
    while hi / lo > 1.0 + CALIBRATION_RTOL:
        a, b = math.log(lo), math.log(hi)
        x = b - g_hi * (b - a) / (g_hi - g_lo) if g_hi != g_lo else 0.5 * (a + b)
        x = min(max(x, a + margin), b - margin)
        sigma = math.exp(x)
        g_x = g(sigma)
        if g_x <= 0:
            hi, g_hi = sigma, g_x
            if side == 1:
                g_lo /= 2.0  # Illinois: the same end twice, so pull the other one in
            side = 1
        else:
            lo, g_lo = sigma, g_x
            if side == -1:
                g_hi /= 2.0
            side = -1
    return hi
