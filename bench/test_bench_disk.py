"""An epoch read from disk: X memory-mapped from a .npy file that is not in the page cache,
against the disk's sequential read of the same file in the same run.

    python -m pytest bench/test_bench_disk.py -o testpaths=bench -s

The file (FASTGD_BENCH_SCALE × 2 GB of float32, 100 columns) is written once to the temporary
directory; before each timed read its pages are dropped from the page cache
(posix_fadvise(DONTNEED), after fsync, with no mapping of it alive). Three rounds of: the
sequential read (8 MiB reads), an epoch in storage order, an epoch in a block-shuffled order
(batch 256, one thread). The epoch must read every page once; the block order reads 64 KiB
blocks in a random order, which the kernel's prefetch cannot bring from disk (a prefetch of an
unmapped page does nothing), so it runs at the disk's random-read speed for that size.
"""

from __future__ import annotations

import gc
import os
import tempfile
import time

import numpy as np
import pytest

from fastgd import ops

SCALE = float(os.environ.get("FASTGD_BENCH_SCALE", "1"))
BOUND = float(os.environ.get("FASTGD_BENCH_DISK_BOUND", "1.3"))  # issue 20's target
D = 100

pytestmark = pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="needs posix_fadvise")


@pytest.fixture(scope="module")
def npy_file():
    n = max(100_000, int(5_000_000 * SCALE))
    path = os.path.join(tempfile.gettempdir(), f"fastgd_bench_disk_{n}.npy")
    if not os.path.exists(path):
        X = np.lib.format.open_memmap(path + ".part", mode="w+", dtype=np.float32, shape=(n, D))
        rng = np.random.default_rng(0)
        for lo in range(0, n, 250_000):
            X[lo : lo + 250_000] = rng.standard_normal((min(250_000, n - lo), D), np.float32)
        X.flush()
        del X
        os.replace(path + ".part", path)
    yield path, n


def _drop(path):
    gc.collect()  # no memory map of the file left: mapped pages are not dropped
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _sequential_read(path):
    _drop(path)
    buffer = memoryview(bytearray(8 << 20))
    start = time.perf_counter()
    with open(path, "rb", buffering=0) as f:
        while f.readinto(buffer):
            pass
    return time.perf_counter() - start


def _epoch(path, n, block_seed=None):
    _drop(path)
    X = np.load(path, mmap_mode="r")
    order = None if block_seed is None else ops.block_order(np.random.default_rng(block_seed), X)
    y = np.zeros(n, np.float32)
    w, b = np.zeros(D, np.float32), np.zeros(1, np.float32)
    start = time.perf_counter()
    ops.sgd_epoch(X, y, w, b, np.full(ops.n_steps(n, 256), 1e-4), batch_size=256, order=order,
                  check_input=False, n_threads=1)  # fmt: skip
    seconds = time.perf_counter() - start
    assert np.isfinite(w).all()
    del X
    return seconds


def test_epoch_from_disk_against_the_sequential_read(npy_file):
    path, n = npy_file
    size = os.path.getsize(path)
    rows = []
    for r in range(3):
        read = _sequential_read(path)
        in_order = _epoch(path, n)
        block = _epoch(path, n, block_seed=r)
        rows.append((read, in_order, block))
        print(f"\nround {r}: read {size / read / 1e9:.2f} GB/s ({read:.2f} s); epoch in order "
              f"{in_order:.2f} s ({in_order / read:.2f}x); block order {block:.2f} s "
              f"({block / read:.2f}x)")  # fmt: skip
    ratios = sorted(b / r for r, _, b in rows)
    print(f"block order / sequential read: median {ratios[1]:.2f}x (range {ratios[0]:.2f}-"
          f"{ratios[-1]:.2f})")  # fmt: skip
    assert ratios[1] <= BOUND
