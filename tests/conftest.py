"""Shared fixtures: dtypes with their tolerances, and seeded random problems."""

from __future__ import annotations

import numpy as np
import pytest

REGRESSION_LOSSES = ("squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive")
CLASSIFICATION_LOSSES = ("log_loss", "hinge", "squared_hinge", "modified_huber")
ALL_LOSSES = REGRESSION_LOSSES + CLASSIFICATION_LOSSES
PENALTIES = ("none", "l2", "l1", "elasticnet")

# Relative tolerance of fastgd against the float64 NumPy reference, per input dtype.
RTOL = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-4}


@pytest.fixture(params=[np.float64, np.float32], ids=["float64", "float32"])
def dtype(request):
    return np.dtype(request.param)


def assert_close(actual, expected, dtype, scale=None):
    """Relative closeness at the dtype's tolerance, with an absolute floor tied to the magnitude
    of the expected values (components that cancel to ~0 are judged against that scale)."""
    rtol = RTOL[np.dtype(dtype)]
    expected = np.asarray(expected, dtype=np.float64)
    if scale is None:
        scale = max(float(np.max(np.abs(expected))), 1e-300)
    np.testing.assert_allclose(
        np.asarray(actual, dtype=np.float64), expected, rtol=rtol, atol=rtol * scale
    )


def make_problem(n, d, dtype, loss, seed=0):
    """X with standardized-ish columns, targets suited to the loss (labels ±1 for classifiers)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    w_true = rng.standard_normal(d)
    t = X.astype(np.float64) @ w_true / np.sqrt(d) + 0.3
    if loss in CLASSIFICATION_LOSSES:
        y = np.where(t + 0.5 * rng.standard_normal(n) > 0, 1.0, -1.0)
    else:
        y = t + 0.1 * rng.standard_normal(n)
    return X, y.astype(dtype)
