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
from typing import NamedTuple

import numpy as np

from . import _core

# A block order's geometry: blocks of contiguous rows about this size, which the memory streams at
# full speed, and windows of this many blocks, within which the rows are shuffled. The kernel holds
# two windows in L2 (the one read at random and the one streamed in): 2 × 128 KiB leaves room in
# the smallest L2 of today's x86 cores (512 KiB). bench/roofline.py --block measures the choice.
BLOCK_BYTES = 64 * 1024
WINDOW_BLOCKS = 2


class BlockOrder(NamedTuple):
    """An epoch's block-shuffled order: ``rows`` visited in turn, and ``stream``, at each position
    the row that the kernel fetches a window ahead, in storage order within each block."""

    rows: np.ndarray
    stream: np.ndarray


def shuffle(rng: np.random.Generator, order: np.ndarray) -> None:
    """``rng.shuffle(order)`` for a 1-D int64 array, the same permutation and the same generator
    state after it, 2-3 times faster: the compiled loop fetches the rows it will swap ahead of
    their turn (fastgd/shuffle.hpp)."""
    bit_generator = rng.bit_generator
    with bit_generator.lock:
        _core.shuffle(bit_generator.capsule, order)


def block_order(
    rng: np.random.Generator,
    n_rows: int,
    row_bytes: float,
    *,
    rows: np.ndarray | None = None,
    block_bytes: int = BLOCK_BYTES,
    window_blocks: int = WINDOW_BLOCKS,
) -> BlockOrder:
    """A block-shuffled order of ``n_rows`` rows (or of the positions of ``rows``, mapped to them)
    drawn from ``rng``: the blocks of about ``block_bytes`` of contiguous rows (``row_bytes`` each)
    in a random order, then the rows within each window of ``window_blocks`` consecutive blocks of
    that order shuffled (CorgiPile's two-level shuffle, Xu et al., SIGMOD 2022)."""
    block_rows = max(1, int(block_bytes // max(row_bytes, 1.0)))
    n_blocks = -(-n_rows // block_rows)
    blocks = rng.permutation(n_blocks)
    starts = blocks * block_rows
    sizes = np.minimum(starts + block_rows, n_rows) - starts
    # The blocks' rows one after the other, in the blocks' order: what the memory streams.
    offsets = np.cumsum(sizes) - sizes
    sequential = np.arange(n_rows, dtype=np.int64) - np.repeat(offsets - starts, sizes)
    order = sequential.copy()
    ends = np.cumsum(sizes)[window_blocks - 1 :: window_blocks]
    bounds = np.unique(np.concatenate([[0], ends, [n_rows]]))
    lengths = np.diff(bounds)
    # Windows have equal lengths but around the short last block and at the end: each run of
    # equal windows is shuffled row by row of its (windows, length) view, in one call.
    runs = np.concatenate([[0], np.flatnonzero(np.diff(lengths)) + 1, [lengths.size]])
    for first, last in zip(runs[:-1].tolist(), runs[1:].tolist()):
        lo, hi = int(bounds[first]), int(bounds[last])
        view = order[lo:hi].reshape(last - first, int(lengths[first]))
        rng.permuted(view, axis=1, out=view)
    # A window ahead: the position of a row in the next window, clamped at the last row.
    ahead = min(window_blocks * block_rows, n_rows - 1)
    stream = np.concatenate([sequential[ahead:], np.full(ahead, sequential[-1])])
    if rows is not None:
        rows = rows.astype(np.int64, copy=False)
        return BlockOrder(rows[order], rows[stream])
    return BlockOrder(order, stream)


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


class BlockOrders:
    """``next()`` returns each epoch's :class:`BlockOrder`, a new one drawn from ``rng`` per epoch
    (in a background thread while the current epoch trains, as :class:`ShuffledOrders` does)."""

    def __init__(
        self,
        rng: np.random.Generator,
        n_rows: int,
        row_bytes: float,
        rows: np.ndarray | None = None,
        n_epochs: int | None = None,
    ):
        self.rng = rng
        self._left = n_epochs
        self._draw = lambda: block_order(rng, n_rows, row_bytes, rows=rows)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="fastgd-shuffle")
        self._pending: Future = self._pool.submit(self._draw)

    def next(self) -> BlockOrder:
        order = self._pending.result()
        if self._left is not None:
            self._left -= 1
            if self._left <= 0:
                return order
        self._pending = self._pool.submit(self._draw)
        return order

    def close(self) -> None:
        self._pool.shutdown(wait=False)


def row_bytes(X) -> float:
    """The bytes an epoch reads per row of X: a dense row, or a CSR row's values and indices."""
    if isinstance(X, np.ndarray):
        return float(X.shape[1] * X.itemsize) if X.ndim == 2 else float(X.itemsize)
    nnz = X.indptr[-1] if X.shape[0] else 0
    return (nnz * (X.data.itemsize + X.indices.itemsize)) / max(X.shape[0], 1) + X.indptr.itemsize
