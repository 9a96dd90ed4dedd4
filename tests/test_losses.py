"""Each loss's value and derivative: against a hand-computed table and finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fastgd import ops

from conftest import ALL_LOSSES, CLASSIFICATION_LOSSES

# (loss, epsilon, p, y, L(p, y), dL/dp), worked out by hand from scikit-learn's definitions.
TABLE = [
    ("squared_error", 0.1, 2.0, 0.5, 1.125, 1.5),
    ("squared_error", 0.1, -1.0, 1.0, 2.0, -2.0),
    ("huber", 1.0, 3.0, 1.0, 1.5, 1.0),
    ("huber", 1.0, 1.5, 1.0, 0.125, 0.5),
    ("huber", 1.0, -1.0, 1.0, 1.5, -1.0),
    ("epsilon_insensitive", 0.5, 2.0, 0.0, 1.5, 1.0),
    ("epsilon_insensitive", 0.5, 0.0, 2.0, 1.5, -1.0),
    ("epsilon_insensitive", 0.5, 0.2, 0.0, 0.0, 0.0),
    ("squared_epsilon_insensitive", 0.5, 2.0, 0.0, 2.25, 3.0),
    ("squared_epsilon_insensitive", 0.5, 0.0, 2.0, 2.25, -3.0),
    ("squared_epsilon_insensitive", 0.5, 0.2, 0.0, 0.0, 0.0),
    ("log_loss", 0.1, 0.0, 1.0, math.log(2.0), -0.5),
    ("log_loss", 0.1, 2.0, -1.0, math.log1p(math.exp(2.0)), 1.0 / (1.0 + math.exp(-2.0))),
    ("log_loss", 0.1, 1000.0, 1.0, 0.0, 0.0),  # no overflow in either tail
    ("log_loss", 0.1, -1000.0, 1.0, 1000.0, -1.0),
    ("hinge", 0.1, 0.5, 1.0, 0.5, -1.0),
    ("hinge", 0.1, 1.0, 1.0, 0.0, -1.0),  # at the kink: scikit-learn's subgradient −y
    ("hinge", 0.1, 2.0, 1.0, 0.0, 0.0),
    ("hinge", 0.1, 0.5, -1.0, 1.5, 1.0),
    ("squared_hinge", 0.1, 0.5, 1.0, 0.25, -1.0),
    ("squared_hinge", 0.1, -1.0, 1.0, 4.0, -4.0),
    ("squared_hinge", 0.1, 2.0, 1.0, 0.0, 0.0),
    ("modified_huber", 0.1, 2.0, 1.0, 0.0, 0.0),
    ("modified_huber", 0.1, 0.0, 1.0, 1.0, -2.0),
    ("modified_huber", 0.1, -3.0, 1.0, 12.0, -4.0),
    ("modified_huber", 0.1, 0.5, -1.0, 2.25, 3.0),
]


@pytest.mark.parametrize(
    "loss, epsilon, p, y, value, deriv",
    TABLE,
    ids=[f"{row[0]}-p{row[2]}-y{row[3]}" for row in TABLE],
)
def test_loss_table(loss, epsilon, p, y, value, deriv):
    v, g = ops.loss_and_derivative([p], [y], loss=loss, epsilon=epsilon)
    assert v[0] == pytest.approx(value, rel=1e-15, abs=1e-300)
    assert g[0] == pytest.approx(deriv, rel=1e-15, abs=1e-300)


def _kinks(loss, epsilon):
    """Points (in p − y for regression, y·p for classification) where L' jumps."""
    return {
        "squared_error": [],
        "log_loss": [],
        "squared_hinge": [1.0],
        "huber": [-epsilon, epsilon],
        "epsilon_insensitive": [-epsilon, epsilon],
        "squared_epsilon_insensitive": [-epsilon, epsilon],
        "hinge": [1.0],
        "modified_huber": [-1.0, 1.0],
    }[loss]


@pytest.mark.parametrize("loss", ALL_LOSSES)
def test_derivative_matches_finite_differences(loss):
    rng = np.random.default_rng(1)
    epsilon = 0.3
    p = rng.uniform(-4, 4, 400)
    if loss in CLASSIFICATION_LOSSES:
        y = rng.choice([-1.0, 1.0], 400)
        u = y * p
    else:
        y = rng.uniform(-4, 4, 400)
        u = p - y
    # Central differences are only meaningful away from the kinks.
    far = np.all(
        [np.abs(u - k) > 1e-3 for k in _kinks(loss, epsilon)] + [np.ones_like(u, bool)], axis=0
    )
    p, y = p[far], y[far]
    h = 1e-6
    vp, _ = ops.loss_and_derivative(p + h, y, loss=loss, epsilon=epsilon)
    vm, _ = ops.loss_and_derivative(p - h, y, loss=loss, epsilon=epsilon)
    _, g = ops.loss_and_derivative(p, y, loss=loss, epsilon=epsilon)
    np.testing.assert_allclose(g, (vp - vm) / (2 * h), rtol=1e-6, atol=1e-6)
    assert len(p) > 300


def _log_loss_reference(p, y):
    """log(1 + e^(−z)) and −y·σ(−z), z = y·p, from NumPy's exp and log1p (float64)."""
    z = y * p
    e = np.exp(-np.abs(z))
    value = np.maximum(-z, 0.0) + np.log1p(e)
    deriv = -y * np.where(z > 0, e, 1.0) / (1.0 + e)
    return value, deriv


def test_log_loss_is_accurate_over_the_whole_range():
    # The kernels' log-loss has its own exp and log1p (csrc/include/fastgd/exp_log.hpp): within
    # a few ulps of NumPy's everywhere, subnormal results and both tails included.
    rng = np.random.default_rng(7)
    magnitudes = np.concatenate([
        rng.uniform(0, 1, 4000), rng.uniform(0, 50, 4000), rng.uniform(0, 760, 4000),
        10.0 ** rng.uniform(-300, 2.87, 4000), [0.0, 1e-300, 0.5 * np.log(2), np.log(2), 708.4,
        709.8, 744.4, 745.1, 745.2, 745.3, 800.0, 1e300],
    ])  # fmt: skip
    p = np.concatenate([magnitudes, -magnitudes])
    y = rng.choice([-1.0, 1.0], p.size)
    value, deriv = ops.loss_and_derivative(p, y, loss="log_loss")
    ref_value, ref_deriv = _log_loss_reference(p, y)
    # Relative to the result, except below the normal range, where an ulp is 5e-324 absolute.
    np.testing.assert_allclose(value, ref_value, rtol=1e-15, atol=1e-322)
    np.testing.assert_allclose(deriv, ref_deriv, rtol=1e-15, atol=1e-322)
    tiny = (ref_value > 0) & (ref_value < 1e-310)
    assert tiny.sum() > 10 and (value[tiny] > 0).all()  # subnormal losses are not flushed to 0


def test_log_loss_special_margins():
    p = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0])
    value, deriv = ops.loss_and_derivative(p, np.ones(5), loss="log_loss")
    np.testing.assert_array_equal(value[:2], [0.0, np.inf])
    np.testing.assert_array_equal(deriv[:2], [-0.0, -1.0])
    assert np.signbit(deriv[0])  # −y·0, as the formula gives: the sign of zero is kept
    assert np.isnan(value[2]) and np.isnan(deriv[2])  # divergence stays visible
    np.testing.assert_array_equal(value[3:], [np.log(2), np.log(2)])
    np.testing.assert_array_equal(deriv[3:], [-0.5, -0.5])
