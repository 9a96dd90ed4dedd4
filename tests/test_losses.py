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
