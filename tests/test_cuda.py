"""The CUDA core: GPU against CPU for every loss × penalty (float64 to 1e-10, float32 to 1e-4),
and, on any machine, the module, the probe and the errors without a GPU.

The tests marked `gpu` need a CUDA device and skip with the reason otherwise (CI has none).
"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

import fastgd
from fastgd import ops

from conftest import ALL_LOSSES, CLASSIFICATION_LOSSES, PENALTIES, assert_close, make_problem

BUILT = importlib.util.find_spec("fastgd._cuda") is not None
needs_module = pytest.mark.skipif(not BUILT, reason="fastgd was built without its CUDA module")
skip_without_gpu = pytest.mark.skipif(
    not fastgd.HAS_CUDA,
    reason="no CUDA device (fastgd.HAS_CUDA is False)"
    if BUILT
    else "fastgd was built without its CUDA module",
)


def needs_gpu(test):
    """The `gpu` marker, and a skip with the reason where there is no device."""
    return pytest.mark.gpu(skip_without_gpu(test))


# ---------------------------------------------------------------------------------------------
# Without a GPU (run everywhere)


def test_build_info_reflects_the_build():
    info = fastgd.build_info()
    assert info["cuda"] is BUILT
    assert info["cuda_available"] is fastgd.HAS_CUDA
    if not BUILT:
        assert fastgd.HAS_CUDA is False


@needs_module
def test_module_imports_and_probes_without_raising():
    from fastgd import _cuda

    count = _cuda.device_count()
    assert isinstance(count, int) and count >= 0
    assert fastgd.HAS_CUDA == (count > 0)
    status = _cuda.runtime_status()
    assert "CUDA runtime" in status
    if count == 0:
        assert "no usable device" in status
    assert set(_cuda.architectures().split(",")) >= {"80-real", "90-real"}


@needs_module
def test_cuda_stub_matches_the_module():
    from fastgd import _cuda

    stub = Path(fastgd.__file__).with_name("_cuda.pyi")
    tree = ast.parse(stub.read_text())
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert names == {n for n in dir(_cuda) if not n.startswith("_")}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            signature = getattr(_cuda, node.name).__doc__.splitlines()[0]
            assert re.findall(r"(?:\(|, )(\w+):", signature) == [a.arg for a in node.args.args]


class FakeDeviceArray:
    """Looks like a GPU array to fastgd (it has __cuda_array_interface__); points nowhere."""

    def __init__(self, shape, dtype=np.float64):
        self.__cuda_array_interface__ = {
            "shape": tuple(shape),
            "typestr": np.dtype(dtype).str,
            "data": (0xDEAD0000, False),
            "version": 3,
            "strides": None,
        }


@pytest.mark.skipif(fastgd.HAS_CUDA, reason="checks the error raised without a GPU")
@pytest.mark.parametrize("kernel", ["loss_and_grad", "sgd_epoch"])
def test_device_array_without_gpu_is_a_clear_error(kernel):
    from fastgd.cuda import CUDAUnavailableError

    X, y, w = FakeDeviceArray((5, 3)), FakeDeviceArray((5,)), FakeDeviceArray((3,))
    expected = "no usable CUDA device" if BUILT else "built without its CUDA module"
    with pytest.raises(CUDAUnavailableError, match=expected):
        if kernel == "loss_and_grad":
            ops.loss_and_grad(X, y, w)
        else:
            ops.sgd_epoch(X, y, w, FakeDeviceArray((1,)), np.ones(5), batch_size=1)
    assert issubclass(CUDAUnavailableError, RuntimeError)


@pytest.mark.skipif(fastgd.HAS_CUDA, reason="checks the answer without a GPU")
def test_helpers_without_gpu():
    from fastgd import cuda

    assert cuda.available() is False
    assert cuda.is_device_array(FakeDeviceArray((2,)))
    assert not cuda.is_device_array(np.zeros(2))
    with pytest.raises(cuda.CUDAUnavailableError):
        cuda.to_device(np.zeros(3))
    np.testing.assert_array_equal(cuda.to_host(np.arange(3)), np.arange(3))


def test_torch_cpu_tensor_is_not_a_device_array():
    torch = pytest.importorskip("torch")
    from fastgd import cuda

    assert not cuda.is_device_array(torch.zeros(3))


# ---------------------------------------------------------------------------------------------
# With a GPU: the GPU kernels against the CPU kernels (which tests/ check against NumPy)


@needs_gpu
@pytest.mark.parametrize("penalty", PENALTIES)
@pytest.mark.parametrize("loss", ALL_LOSSES)
def test_loss_and_grad_gpu_matches_cpu(loss, penalty, dtype):
    from fastgd import cuda

    rng = np.random.default_rng(10 * ALL_LOSSES.index(loss) + PENALTIES.index(penalty))
    X, y = make_problem(3001, 37, dtype, loss, seed=1)
    w = (0.3 * rng.standard_normal(37)).astype(dtype)
    w[::5] = 0  # sign(0) = 0 in the L1 subgradient
    sw = rng.uniform(0.5, 2.0, 3001).astype(dtype)
    kw = dict(loss=loss, penalty=penalty, alpha=0.01, l1_ratio=0.3, epsilon=0.2)
    f_cpu, g_cpu, gb_cpu = ops.loss_and_grad(X, y, w, 0.25, sample_weight=sw, **kw)
    f_gpu, g_gpu, gb_gpu = ops.loss_and_grad(
        cuda.to_device(X),
        cuda.to_device(y),
        cuda.to_device(w),
        0.25,
        sample_weight=cuda.to_device(sw),
        **kw,
    )
    assert isinstance(g_gpu, cuda.DeviceArray) and g_gpu.dtype == dtype
    assert_close(f_gpu, f_cpu, dtype)
    assert_close(cuda.to_host(g_gpu), g_cpu, dtype)
    assert_close(gb_gpu, gb_cpu, dtype, scale=max(abs(gb_cpu), 1e-3))


def _epoch_pair(
    loss,
    penalty,
    dtype,
    batch_size,
    *,
    n=1503,
    d=29,
    fit_intercept=True,
    weights=True,
    order=True,
    n_blocks=None,
    epochs=2,
):
    from fastgd import cuda

    rng = np.random.default_rng(7)
    X, y = make_problem(n, d, dtype, loss, seed=3)
    sw = rng.uniform(0.5, 2.0, n).astype(dtype) if weights else None
    kw = dict(
        loss=loss,
        penalty=penalty,
        alpha=1e-3,
        l1_ratio=0.4,
        epsilon=0.1,
        batch_size=batch_size,
        fit_intercept=fit_intercept,
    )
    w_cpu, b_cpu = np.zeros(d, dtype), np.zeros(1, dtype)
    Xd, yd = cuda.to_device(X), cuda.to_device(y)
    swd = None if sw is None else cuda.to_device(sw)
    w_gpu, b_gpu = cuda.to_device(w_cpu), cuda.to_device(b_cpu)
    losses = []
    for epoch in range(epochs):
        perm = rng.permutation(n) if order else None
        lrs = 0.02 / (1 + 0.1 * np.arange(ops.n_steps(n, batch_size)) + epoch)
        l_cpu = ops.sgd_epoch(X, y, w_cpu, b_cpu, lrs, order=perm, sample_weight=sw, **kw)
        l_gpu = cuda.sgd_epoch(
            Xd, yd, w_gpu, b_gpu, lrs, order=perm, sample_weight=swd, n_blocks=n_blocks, **kw
        )
        losses.append((l_cpu, l_gpu))
    return w_cpu, b_cpu, cuda.to_host(w_gpu), cuda.to_host(b_gpu), losses


@needs_gpu
@pytest.mark.parametrize("penalty", PENALTIES)
@pytest.mark.parametrize("loss", ALL_LOSSES)
@pytest.mark.parametrize("batch_size", [1, 32, 500])
def test_sgd_epoch_gpu_matches_cpu(loss, penalty, batch_size, dtype):
    w_cpu, b_cpu, w_gpu, b_gpu, losses = _epoch_pair(loss, penalty, dtype, batch_size)
    # Non-smooth losses flip a branch when a margin lands within rounding of its kink; with
    # these inputs none does (the float64 check at 1e-10 would show it).
    assert_close(w_gpu, w_cpu, dtype)
    assert_close(b_gpu, b_cpu, dtype, scale=max(float(np.max(np.abs(w_cpu))), 1e-3))
    for l_cpu, l_gpu in losses:
        assert_close(l_gpu, l_cpu, dtype)
    if penalty in ("l1", "elasticnet"):
        np.testing.assert_array_equal(w_gpu == 0, w_cpu == 0)


@needs_gpu
@pytest.mark.parametrize("n_blocks", [1, 3, 64])
def test_sgd_epoch_any_grid_gives_the_cpu_result(n_blocks):
    dtype = np.dtype(np.float64)
    w_cpu, b_cpu, w_gpu, b_gpu, _ = _epoch_pair(
        "log_loss", "elasticnet", dtype, 256, n_blocks=n_blocks
    )
    assert_close(w_gpu, w_cpu, dtype)
    assert_close(b_gpu, b_cpu, dtype, scale=1.0)


@needs_gpu
def test_sgd_epoch_wide_rows_and_no_intercept():
    # d large enough that the per-block buffers leave shared memory for global scratch.
    dtype = np.dtype(np.float64)
    w_cpu, b_cpu, w_gpu, b_gpu, _ = _epoch_pair(
        "squared_error",
        "l2",
        dtype,
        64,
        n=300,
        d=20000,
        fit_intercept=False,
        weights=False,
        order=False,
        epochs=1,
    )
    assert_close(w_gpu, w_cpu, dtype)
    assert b_gpu[0] == 0 and b_cpu[0] == 0


@needs_gpu
def test_sgd_epoch_is_deterministic():
    dtype = np.dtype(np.float32)
    a = _epoch_pair("hinge", "l1", dtype, 128)
    b = _epoch_pair("hinge", "l1", dtype, 128)
    np.testing.assert_array_equal(a[2], b[2])
    np.testing.assert_array_equal(a[3], b[3])


@needs_gpu
def test_gpu_errors_name_the_argument():
    from fastgd import cuda

    X, y = make_problem(50, 4, np.float64, "hinge")
    Xd = cuda.to_device(X)
    w, b = cuda.to_device(np.zeros(4)), cuda.to_device(np.zeros(1))
    lrs = np.full(50, 0.1)
    with pytest.raises(TypeError, match="coef must be a device array"):
        ops.sgd_epoch(Xd, y, np.zeros(4), b, lrs, batch_size=1)
    with pytest.raises(TypeError, match="coef must have dtype float64"):
        ops.sgd_epoch(Xd, y, cuda.to_device(np.zeros(4, np.float32)), b, lrs, batch_size=1)
    with pytest.raises(ValueError, match="y must hold labels -1 or \\+1"):
        ops.sgd_epoch(Xd, np.arange(50.0), w, b, lrs, batch_size=1, loss="hinge")
    with pytest.raises(ValueError, match="order must hold distinct row indices"):
        ops.sgd_epoch(Xd, y, w, b, lrs, batch_size=1, order=np.zeros(50, np.int64))
    bad = X.copy()
    bad[7, 2] = np.nan
    with pytest.raises(ValueError, match="X contains NaN or inf \\(first in row 7\\)"):
        ops.loss_and_grad(cuda.to_device(bad), y, w)
    with pytest.raises(ValueError, match="lrs must have shape \\(50,\\)"):
        ops.sgd_epoch(Xd, y, w, b, lrs[:3], batch_size=1)
    with pytest.raises(NotImplementedError, match="optimizers"):
        ops.sgd_epoch(Xd, y, w, b, lrs, batch_size=1, optimizer="adam")
    np.testing.assert_array_equal(cuda.to_host(w), 0)  # nothing ran


@needs_gpu
def test_classification_labels_on_device(dtype):
    for loss in CLASSIFICATION_LOSSES:
        _epoch_pair(loss, "l2", dtype, 16, n=100, d=5, epochs=1)


@needs_gpu
def test_torch_cuda_tensors_are_used_in_place():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("PyTorch without CUDA")
    X, y = make_problem(400, 6, np.float32, "squared_error")
    Xt, yt = torch.as_tensor(X, device="cuda"), torch.as_tensor(y, device="cuda")
    w, b = torch.zeros(6, device="cuda"), torch.zeros(1, device="cuda")
    w_cpu, b_cpu = np.zeros(6, np.float32), np.zeros(1, np.float32)
    lrs = np.full(ops.n_steps(400, 20), 0.05)
    ops.sgd_epoch(Xt, yt, w, b, lrs, batch_size=20)
    ops.sgd_epoch(X, y, w_cpu, b_cpu, lrs, batch_size=20)
    assert_close(w.cpu().numpy(), w_cpu, np.float32)
