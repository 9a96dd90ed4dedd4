"""The solver's row orders: fastgd's compiled shuffle against NumPy's."""

from __future__ import annotations

import numpy as np
import pytest

from fastgd import _core
from fastgd._orders import ShuffledOrders, shuffle


@pytest.mark.parametrize("bit_generator", ["PCG64", "MT19937", "Philox", "SFC64", "PCG64DXSM"])
@pytest.mark.parametrize("n", [0, 1, 2, 3, 17, 4096, 100_003])
def test_shuffle_is_numpys_permutation(bit_generator, n):
    """fastgd's compiled shuffle gives NumPy's permutation and leaves the generator where NumPy's
    leaves it (so fits stay bitwise those of rng.shuffle, and the draws after it too)."""
    for seed in range(3):
        ours = np.random.Generator(getattr(np.random, bit_generator)(seed))
        numpys = np.random.Generator(getattr(np.random, bit_generator)(seed))
        a, b = np.arange(n, dtype=np.int64), np.arange(n, dtype=np.int64)
        for _ in range(2):  # a shuffle of a shuffled order too
            shuffle(ours, a)
            numpys.shuffle(b)
            np.testing.assert_array_equal(a, b)
        assert ours.integers(2**62) == numpys.integers(2**62)


def test_shuffle_refuses_what_it_cannot_shuffle_in_place():
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match="order must have dtype int64"):
        shuffle(rng, np.arange(5, dtype=np.int32))
    with pytest.raises(ValueError, match="C-contiguous"):
        shuffle(rng, np.arange(10, dtype=np.int64)[::2])
    with pytest.raises(TypeError, match="incompatible function arguments"):
        _core.shuffle(object(), np.arange(5, dtype=np.int64))
    with pytest.raises(TypeError, match="BitGenerator's capsule"):  # another capsule
        numpy_core = getattr(np, "_core", None) or np.core
        _core.shuffle(numpy_core._multiarray_umath._ARRAY_API, np.arange(5, dtype=np.int64))


@pytest.mark.parametrize("rows", [None, np.array([7, 3, 11, 0, 5], dtype=np.int64)])
def test_shuffled_orders_are_rng_shuffle_in_place_each_epoch(rows):
    """ShuffledOrders draws ahead in a background thread; the orders are those of shuffling one
    buffer in place before each epoch, and no more are drawn than asked for."""
    n = 12 if rows is None else len(rows)
    orders = ShuffledOrders(np.random.default_rng(5), n, rows, n_epochs=4)
    rng = np.random.default_rng(5)
    expected = np.arange(n, dtype=np.int64) if rows is None else rows.copy()
    try:
        for _ in range(4):
            rng.shuffle(expected)
            np.testing.assert_array_equal(orders.next(), expected)
    finally:
        orders.close()
    assert orders.rng.integers(2**62) == rng.integers(2**62)  # nothing drawn beyond epoch 4
