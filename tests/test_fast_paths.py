"""The fast paths of the kernels against the float64 NumPy reference: the batch-1 path that updates
w directly, the row blocks of 4 with their leftover rows, the multi-threaded step with private
weight copies, both forms of the batch mean (power-of-two and other batch sizes); the runtime
instruction-set dispatch and the dot products' register-wide pieces; and the memory probes of the
benchmarks (read_bandwidth, random_update_seconds)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import fastgd
from fastgd import _core, ops

import reference as ref
from conftest import ALL_LOSSES, PENALTIES, assert_close, make_problem

PARAMS = dict(alpha=0.01, l1_ratio=0.3, epsilon=0.1)


def _epoch(X, y, lrs, **kw):
    w, b = np.zeros(X.shape[1], dtype=X.dtype), np.zeros(1, dtype=X.dtype)
    total = ops.sgd_epoch(X, y, w, b, lrs, **kw)
    return w, b[0], total


def _reference(X, y, lrs, **kw):
    w, b = np.zeros(X.shape[1]), 0.0
    return ref.sgd_epoch(X.astype(np.float64), y.astype(np.float64), w, b, lrs, **kw)


@pytest.mark.parametrize("batch", [1, 7], ids=["per-sample", "small-batch"])
@pytest.mark.parametrize("penalty", PENALTIES)
@pytest.mark.parametrize("loss", ALL_LOSSES)
def test_small_batch_path_matches_reference(loss, penalty, batch, dtype):
    # d = 37: one full 16-lane block of the dot product, then a partial one, then a tail. Batch 7:
    # a block of 4 rows and 3 single ones per step, and a last step of 6 rows.
    X, y = make_problem(300, 37, dtype, loss, seed=21)
    order = np.random.default_rng(22).permutation(300)
    sw = np.random.default_rng(23).uniform(0.5, 2.0, 300).astype(dtype)
    lrs = np.linspace(0.05, 0.01, ops.n_steps(300, batch))
    kw = dict(batch_size=batch, order=order, loss=loss, penalty=penalty, sample_weight=sw, **PARAMS)
    w, b, total = _epoch(X, y, lrs, n_threads=1, **kw)
    w_ref, b_ref, total_ref = _reference(X, y, lrs, **kw)
    assert_close(w, w_ref, dtype)
    assert_close([b], [b_ref], dtype, scale=max(1.0, abs(b_ref)))
    assert_close([total], [total_ref], dtype)


@pytest.mark.parametrize("batch", [3, 4, 7, 8, 100, 128, 999], ids=lambda b: f"batch{b}")
@pytest.mark.parametrize("d", [1, 15, 16, 17, 100, 600], ids=lambda d: f"d{d}")
def test_row_blocks_and_tails_match_reference(batch, d, dtype):
    # Batches of every remainder modulo the 4-row block, widths around the 16-lane vector and
    # past the 512-column chunk of the dot product, on one and two threads.
    X, y = make_problem(1000, d, dtype, "log_loss", seed=d)
    lrs = np.full(ops.n_steps(1000, batch), 0.05)
    kw = dict(batch_size=batch, loss="log_loss", penalty="elasticnet", **PARAMS)
    w_ref, b_ref, total_ref = _reference(X, y, lrs, **kw)
    for n_threads in (1, 2):
        w, b, total = _epoch(X, y, lrs, n_threads=n_threads, **kw)
        assert_close(w, w_ref, dtype)
        assert_close([b], [b_ref], dtype, scale=max(1.0, abs(b_ref)))
        assert_close([total], [total_ref], dtype)


@pytest.mark.parametrize("batch", [256, 300], ids=["power-of-two", "other"])
def test_two_threads_are_bitwise_reproducible(batch, dtype):
    # Wide enough that steps split over two threads, each with its own copy of the weights.
    X, y = make_problem(3000, 100, dtype, "squared_error", seed=31)
    order = np.random.default_rng(32).permutation(3000)
    lrs = np.full(ops.n_steps(3000, batch), 0.01)
    kw = dict(
        batch_size=batch, order=order, loss="squared_error", penalty="l1", n_threads=2, **PARAMS
    )
    first = _epoch(X, y, lrs, **kw)
    again = _epoch(X, y, lrs, **kw)
    np.testing.assert_array_equal(first[0], again[0])
    assert first[1:] == again[1:]
    w_ref, b_ref, _ = _reference(X, y, lrs, **{k: v for k, v in kw.items() if k != "n_threads"})
    assert_close(first[0], w_ref, dtype)


@pytest.mark.parametrize(
    "n, n_threads",
    [(64, 1), (96, 1), (8192, 2), (6000, 2)],
    ids=["power-of-two", "other", "power-of-two-2-threads", "other-2-threads"],
)
def test_full_batch_step_is_bitwise_loss_and_grad(n, n_threads):
    # The mean over the batch is a multiplication by 2⁻ᵏ for power-of-two batches and a division
    # otherwise: both give bitwise the gradient of loss_and_grad (which divides). On 2 threads
    # both split the rows into the same slices (several per thread at these sizes).
    X, y = make_problem(n, 9, np.float64, "squared_error", seed=41)
    coef = np.linspace(-0.5, 0.5, 9)
    kw = dict(penalty="l2", alpha=0.05, n_threads=n_threads)
    _, grad, grad_b = ops.loss_and_grad(X, y, coef, 0.0, **kw)
    w, b = coef.copy(), np.zeros(1)
    ops.sgd_epoch(X, y, w, b, [0.3], batch_size=n, **kw)
    np.testing.assert_array_equal(w, coef - 0.3 * grad)
    np.testing.assert_array_equal(b, -0.3 * grad_b)


def test_runtime_simd_level_is_reported():
    info = fastgd.build_info()
    levels = {"avx512f", "avx2+fma", "avx", "sse4.2", "sse2", "neon", "scalar"}
    assert info["simd"] in levels and info["simd_runtime"] in levels


def test_read_bandwidth():
    buffer = np.ones(1 << 20)
    assert _core.read_bandwidth(buffer, 1, 2) > 0.1  # GB/s
    assert _core.read_bandwidth(buffer, 2, 1) > 0.1
    with pytest.raises(ValueError, match="n_threads"):
        _core.read_bandwidth(buffer, 0)
    with pytest.raises(ValueError, match="C-contiguous"):
        _core.read_bandwidth(np.ones((8, 8))[:, ::2], 1)


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_random_update_seconds_does_the_updates(index_dtype):
    indices = np.random.default_rng(0).integers(0, 5000, size=20000).astype(index_dtype)
    buffer = np.zeros(5000)
    assert _core.random_update_seconds(buffer, indices, 2) > 0
    # Every update was made: 2 passes per repeat (without and with prefetch).
    np.testing.assert_array_equal(buffer, 4.0 * np.bincount(indices, minlength=5000))
    with pytest.raises(ValueError, match=r"indices must lie in \[0, len\(buffer\)\).*-1"):
        _core.random_update_seconds(buffer, np.array([3, -1], dtype=index_dtype))
    with pytest.raises(ValueError, match="5000 at position 0"):
        _core.random_update_seconds(buffer, np.array([5000], dtype=index_dtype))
    with pytest.raises(TypeError, match="indices must be an int32 or int64"):
        _core.random_update_seconds(buffer, indices.astype(np.float64))
    with pytest.raises(TypeError, match="buffer must have dtype float64"):
        _core.random_update_seconds(buffer.astype(np.float32), indices)
    for repeats in (0, 1001):
        with pytest.raises(ValueError, match="repeats"):
            _core.random_update_seconds(buffer, indices, repeats)
    # Indices that alias the buffer are read once, before the first write.
    aliased = np.zeros(8)
    _core.random_update_seconds(aliased, aliased.view(np.int64), 1)
    np.testing.assert_array_equal(aliased, [16.0] + [0.0] * 7)
    misaligned = np.zeros(8 * 5 + 1, dtype=np.uint8)[1:].view(np.float64)
    with pytest.raises(ValueError, match="buffer must be aligned"):
        _core.random_update_seconds(misaligned, indices[:1] % 5)


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_column_update_seconds_does_the_updates(index_dtype):
    K, d = 3, 50
    idx = np.random.default_rng(0).integers(0, d, size=200).astype(index_dtype)
    g = (1.0 / (1 + np.arange(idx.size) % 8))[:, None] * (1e-3 * np.arange(1, K + 1))
    w, s = np.zeros((d, K)), np.zeros((d, K))
    np.add.at(w, idx, g)
    np.add.at(s, idx, 0.5 * g)
    for update, expected in [
        ("one", w.ravel()),
        ("two", np.concatenate([w.ravel(), s.ravel()])),
        ("interleaved", np.hstack([w, s]).ravel()),
    ]:
        buffer = np.zeros(expected.size)
        assert _core.column_update_seconds(buffer, idx, K, update, 1) > 0
        np.testing.assert_allclose(buffer, expected, rtol=1e-12)
    buffer = np.zeros(2 * K * d)
    _core.column_update_seconds(buffer, idx, K, "adagrad", 1)
    w, s = np.zeros((d, K)), np.zeros((d, K))
    for j, gj in zip(idx, g):
        s[j] += gj**2
        w[j] -= 0.5 * (gj / (np.sqrt(s[j]) + 1e-8))
    np.testing.assert_allclose(buffer, np.concatenate([w.ravel(), s.ravel()]), rtol=1e-12)
    with pytest.raises(ValueError, match="update must be one of"):
        _core.column_update_seconds(buffer, idx, K, "three")
    with pytest.raises(ValueError, match="multiple of 6"):
        _core.column_update_seconds(np.zeros(7), idx, K, "two")
    with pytest.raises(ValueError, match=r"\[0, d\) = \[0, 50\).*50 at position 0"):
        _core.column_update_seconds(np.zeros(K * d), np.array([d], index_dtype), K, "one")


def test_dot_product_pieces_give_the_same_bits():
    # The dot products hold each 64-byte vector as 1, 2 or 4 register-wide pieces, by the CPU
    # (simd.hpp); FASTGD_VEC_PARTS forces each in a fresh process. The sums must not change.
    import subprocess
    import sys

    script = """
import hashlib, numpy as np
from fastgd import ops
out = hashlib.sha256()
for dtype in (np.float32, np.float64):
    for d in (37, 100, 1031):  # a tail after the vectors; more than one 512-column chunk
        rng = np.random.default_rng(d)
        X = rng.standard_normal((203, d)).astype(dtype)
        y = X @ rng.standard_normal(d).astype(dtype)
        w, b = np.zeros(d, dtype), np.zeros(1, dtype)
        for batch in (1, 8, 203):
            ops.sgd_epoch(X, y, w, b, np.full(ops.n_steps(203, batch), 1e-3), batch_size=batch)
        out.update(w.tobytes() + b.tobytes())
        out.update(np.float64(ops.loss_and_grad(X, y, w, b[0])[0]).tobytes())
print(out.hexdigest())
"""
    digests = set()
    for parts in ("1", "2", "4"):
        env = dict(os.environ, FASTGD_VEC_PARTS=parts)
        run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                             text=True, check=True)  # fmt: skip
        digests.add(run.stdout.strip().splitlines()[-1])
    assert len(digests) == 1, digests
