"""The rows' order of each epoch, drawn from the fit's seeded Generator.

Each epoch's order is the previous one shuffled again (a shuffle of a uniformly random permutation
is one): the sequence that ``rng.shuffle(order)`` in place before every epoch gives, bit for bit,
made by :func:`shuffle`, NumPy's algorithm compiled with its swaps fetched ahead. The next epoch's
order is drawn in a background thread while the current epoch trains (the shuffle releases the
GIL, and per-sample epochs leave the second core idle), and the first one while the solver checks
the data. Two buffers take turns: the kernel reads one while the next order is written into the
other.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from . import _core


def shuffle(rng: np.random.Generator, order: np.ndarray) -> None:
    """``rng.shuffle(order)`` for a 1-D int64 array, the same permutation and the same generator
    state after it, 2-3 times faster: the compiled loop fetches the rows it will swap ahead of
    their turn (fastgd/shuffle.hpp)."""
    bit_generator = rng.bit_generator
    with bit_generator.lock:
        _core.shuffle(bit_generator.capsule, order)


class ShuffledOrders:
    """``next()`` returns each epoch's order: ``rows`` (or 0..n−1) shuffled once more per epoch,
    for at most ``n_epochs`` epochs (no order is drawn beyond the last, which would compete with
    it for the memory)."""

    def __init__(
        self,
        rng: np.random.Generator,
        n_rows: int,
        rows: np.ndarray | None = None,
        n_epochs: int | None = None,
    ):
        self.rng = rng
        self._left = n_epochs  # orders still to hand out (None: no end)
        first = np.arange(n_rows, dtype=np.int64) if rows is None else rows.astype(np.int64)
        self._buffers = (first, np.empty_like(first))
        self._turn = 0  # the buffer that holds the last order drawn
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="fastgd-shuffle")
        self._pending: Future = self._pool.submit(shuffle, self.rng, first)

    def next(self) -> np.ndarray:
        """The next epoch's order; the one after it starts drawing at once. The array stays
        valid until the call after next."""
        self._pending.result()
        order = self._buffers[self._turn]
        if self._left is not None:
            self._left -= 1
            if self._left <= 0:
                return order
        self._turn ^= 1
        self._pending = self._pool.submit(self._draw, order, self._buffers[self._turn])
        return order

    def _draw(self, previous: np.ndarray, out: np.ndarray) -> None:
        np.copyto(out, previous)
        shuffle(self.rng, out)

    def close(self) -> None:
        """Stop after the draw in flight (it finishes in the background: nothing waits for it)."""
        self._pool.shutdown(wait=False)
