"""The private fit's training loop: the key of its random draws, then one call into the private
kernel (``_core.private_sgd_steps``, GIL released) per chunk of steps."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .. import _core

__all__ = ["CHUNK_STEPS", "key_of", "train"]

#: Steps per kernel call: the Python overhead is paid once per chunk.
CHUNK_STEPS = 16384


def key_of(random_state: Any, secure: bool) -> np.ndarray:
    """The 128-bit Philox key of a fit, as 2 uint64: from the operating system's entropy
    (``os.urandom``) when ``secure``, else drawn from ``random_state`` (a seed or a
    ``numpy.random.RandomState``, scikit-learn's convention), so that a seed gives the same
    model."""
    if secure:
        return np.frombuffer(os.urandom(16), dtype=np.uint64).copy()
    from sklearn.utils import check_random_state

    words = check_random_state(random_state).randint(0, 2**32, size=4).astype(np.uint64)
    return words[0::2] | (words[1::2] << np.uint64(32))


def train(
    X,
    y: np.ndarray,
    coef: np.ndarray,
    intercept: np.ndarray,
    *,
    schedule,
    n_steps: int,
    sampling_rate: float,
    clip_norm: float,
    noise_multiplier: float,
    key: np.ndarray,
    secure: bool,
    loss: str,
    loss_epsilon: float,
    penalty: str,
    alpha: float,
    l1_ratio: float,
    fit_intercept: bool,
    optimizer,
) -> int:
    """Run ``n_steps`` DP-SGD steps on coef (K, d) and intercept (K,) in place; returns the
    number of rows sampled. ``optimizer``: a fresh fastgd.optimizers object, or None for plain
    SGD. X and y are checked by the first chunk's call (once per fit)."""
    kwargs: dict[str, Any] = {}
    if optimizer is not None:
        state = optimizer.state_for(coef)
        kwargs = {
            "optimizer": optimizer.kernel_kind(),
            "optimizer_params": optimizer.kernel_params(),
            "optimizer_state": None if state is None else (state.coef, state.intercept, state.step),
        }
    seen = 0
    for start in range(0, n_steps, CHUNK_STEPS):
        steps = np.arange(start, min(n_steps, start + CHUNK_STEPS), dtype=np.int64)
        lrs = np.ascontiguousarray(schedule(steps), dtype=np.float64)
        seen += _core.private_sgd_steps(
            X,
            y,
            coef,
            intercept,
            lrs,
            loss=_core.Loss.__members__[loss],
            loss_epsilon=loss_epsilon,
            first_step=start,
            sampling_rate=sampling_rate,
            clip_norm=clip_norm,
            noise_multiplier=noise_multiplier,
            key=key,
            secure=secure,
            penalty=_core.Penalty.__members__[penalty],
            alpha=alpha,
            l1_ratio=l1_ratio,
            fit_intercept=fit_intercept,
            check_input=start == 0,
            **kwargs,
        )
    if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
        raise ValueError(
            "the private fit diverged (the model is not finite): lower eta0 or clip_norm"
        )
    return seen
