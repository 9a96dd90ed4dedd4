"""The rows' order of each epoch, drawn from the fit's seeded Generator.

Each epoch's order is the previous one shuffled again (a shuffle of a uniformly random permutation
is one): the sequence that ``rng.shuffle(order)`` in place before every epoch gives, bit for bit.
The next epoch's order is drawn in a background thread while the current epoch trains: NumPy's
shuffle of a 1-D array releases the GIL, and per-sample epochs leave the second core idle, so the
shuffle, a random walk over 8 bytes per row, costs the fit nothing there. Two buffers take turns:
the kernel reads one while the next order is written into the other.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np


class ShuffledOrders:
    """``next()`` returns each epoch's order: ``rows`` (or 0..n−1) shuffled once more per epoch."""

    def __init__(self, rng: np.random.Generator, n_rows: int, rows: np.ndarray | None = None):
        self._rng = rng
        first = np.arange(n_rows, dtype=np.int64) if rows is None else rows.astype(np.int64)
        self._buffers = (first, np.empty_like(first))
        self._turn = 0  # the buffer that holds the last order drawn
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="fastgd-shuffle")
        self._pending: Future = self._pool.submit(self._rng.shuffle, first)

    def next(self) -> np.ndarray:
        """The next epoch's order; the one after it starts drawing at once. The array stays
        valid until the call after next."""
        self._pending.result()
        order = self._buffers[self._turn]
        self._turn ^= 1
        self._pending = self._pool.submit(self._draw, order, self._buffers[self._turn])
        return order

    def _draw(self, previous: np.ndarray, out: np.ndarray) -> None:
        np.copyto(out, previous)
        self._rng.shuffle(out)

    def close(self) -> None:
        """Stop after the draw in flight (it finishes in the background: nothing waits for it)."""
        self._pool.shutdown(wait=False)
