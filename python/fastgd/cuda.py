"""GPU (CUDA) support: device arrays, and the GPU versions of the kernels of :mod:`fastgd.ops`.

:func:`fastgd.ops.loss_and_grad` and :func:`fastgd.ops.sgd_epoch` run on the GPU when ``X`` is a
device array: any object with ``__cuda_array_interface__`` (a CuPy array, a PyTorch CUDA tensor,
a Numba device array, or this module's :class:`DeviceArray`). Device arrays are used in place,
never copied. The arithmetic and its semantics are those of the CPU kernels (the same formulas,
from the same C++ headers); only the order of the sums differs, so results agree to rounding.

On the GPU:

- ``X`` (2-D, float32/float64, contiguous rows), ``coef`` and ``intercept`` must be device
  arrays of X's dtype on X's device (``coef``/``intercept`` are updated in place).
- ``y``, ``sample_weight`` and ``order`` may be device arrays (X's dtype; int64 for ``order``),
  used in place, or host arrays, copied to the device for the call (an O(n) copy: pass device
  arrays to avoid it). ``lrs`` is a host array (one value per step, read once).
- Plain SGD only: ``optimizer=`` (other than plain SGD), ``average=`` and
  ``loss="multinomial"`` raise NotImplementedError.
- Kernels run on the legacy default stream and the call returns when they are done. An input
  whose ``__cuda_array_interface__`` names another stream is synchronized with first.

For the estimators (``device="cuda"``): :func:`to_device` moves a NumPy array to the GPU once
(a device array is returned as is), :func:`to_host` brings one back, :func:`empty` allocates.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _core
from ._validation import (
    as_intercept_value,
    as_order,
    as_vector,
    check_int,
    check_option,
    check_real,
)

__all__ = [
    "CUDAUnavailableError",
    "DeviceArray",
    "available",
    "empty",
    "is_device_array",
    "loss_and_grad",
    "sgd_epoch",
    "to_device",
    "to_host",
]


class CUDAUnavailableError(RuntimeError):
    """fastgd was built without its CUDA module, or found no usable CUDA device."""


def _module() -> Any:
    """The loaded fastgd._cuda with at least one device, or CUDAUnavailableError saying why."""
    try:
        from . import _cuda
    except ImportError as e:
        raise CUDAUnavailableError(
            "fastgd was built without its CUDA module (fastgd.build_info()['cuda'] is False); "
            "reinstall on a machine with the CUDA toolkit (nvcc), or pass NumPy arrays to run "
            "on the CPU"
        ) from e
    if _cuda.device_count() < 1:
        raise CUDAUnavailableError(
            f"no usable CUDA device ({_cuda.runtime_status()}); pass NumPy arrays to run on the CPU"
        )
    return _cuda


def available() -> bool:
    """Whether the GPU kernels can run here (the same as ``fastgd.HAS_CUDA``, but asked now)."""
    try:
        _module()
    except CUDAUnavailableError:
        return False
    return True


def is_device_array(a: Any) -> bool:
    """Whether ``a`` exposes ``__cuda_array_interface__`` (a GPU array: CuPy, PyTorch, ...).

    A PyTorch CPU tensor raises AttributeError on that attribute, so it counts as a host array.
    """
    return hasattr(a, "__cuda_array_interface__")


# ---------------------------------------------------------------------------------------------
# Device arrays


def _free(ptr: int) -> None:
    from . import _cuda

    _cuda.free(ptr)


class DeviceArray:
    """A C-contiguous array in GPU memory, owned by this object (freed with it).

    Minimal on purpose: fastgd needs neither CuPy nor PyTorch. It exposes
    ``__cuda_array_interface__`` (version 3), so ``cupy.asarray(a)`` and
    ``torch.as_tensor(a, device="cuda")`` wrap it without a copy, and ``np.asarray(a)`` or
    :meth:`get` copies it to the host.
    """

    def __init__(self, shape: Any, dtype: Any) -> None:
        cuda = _module()
        self.shape: tuple[int, ...] = tuple(int(s) for s in np.atleast_1d(shape))
        if any(s < 0 for s in self.shape):
            raise ValueError(f"shape must be non-negative, got {self.shape}")
        self.dtype = np.dtype(dtype)
        self.nbytes = int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize
        self.ptr: int = int(cuda.malloc(self.nbytes))
        weakref.finalize(self, _free, self.ptr)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def __cuda_array_interface__(self) -> dict[str, Any]:
        return {
            "shape": self.shape,
            "typestr": self.dtype.str,
            "data": (self.ptr, False),
            "version": 3,
            "strides": None,
            "stream": None,  # nothing is pending on this memory when a fastgd call returns
        }

    def get(self) -> np.ndarray:
        """A NumPy copy."""
        out = np.empty(self.shape, self.dtype)
        if self.nbytes:
            _module().copy(out.ctypes.data, self.ptr, self.nbytes)
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self.get()
        return out if dtype is None else out.astype(dtype, copy=False)

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"DeviceArray(shape={self.shape}, dtype={self.dtype})"


def empty(shape: Any, dtype: Any = np.float64) -> DeviceArray:
    """An uninitialized :class:`DeviceArray` on the current device."""
    return DeviceArray(shape, dtype)


def to_device(a: Any, dtype: Any = None) -> Any:
    """``a`` in GPU memory: a device array (of the requested dtype) is returned as is; anything
    else goes through ``np.ascontiguousarray(a, dtype)`` and is copied once into a new
    :class:`DeviceArray`. The estimators' ``device="cuda"`` moves X and y with this, once per
    fit."""
    if is_device_array(a):
        view = _view(a, "a")
        if dtype is not None and view.dtype != np.dtype(dtype):
            raise TypeError(
                f"a is a device array of dtype {view.dtype}, not {np.dtype(dtype)}; convert it "
                "on the device with its own library (e.g. .astype)"
            )
        return a
    host = np.ascontiguousarray(a, dtype=dtype)
    out = DeviceArray(host.shape, host.dtype)
    if out.nbytes:
        _module().copy(out.ptr, host.ctypes.data, out.nbytes)
    return out


def to_host(a: Any) -> np.ndarray:
    """A NumPy copy of a C-contiguous device array (NumPy input is returned as is)."""
    if not is_device_array(a):
        return np.asarray(a)
    view = _view(a, "a")
    if not view.c_contiguous:
        raise ValueError("to_host needs a C-contiguous device array")
    out = np.empty(view.shape, view.dtype)
    if out.nbytes:
        view.sync()
        _module().copy(out.ctypes.data, view.ptr, out.nbytes)
    return out


@dataclass
class _View:
    """What __cuda_array_interface__ says about an array (strides in bytes)."""

    ptr: int
    shape: tuple[int, ...]
    dtype: np.dtype
    strides: tuple[int, ...]
    readonly: bool
    stream: Any

    @property
    def c_contiguous(self) -> bool:
        expected, ok = self.dtype.itemsize, True
        for size, stride in zip(reversed(self.shape), reversed(self.strides)):
            ok = ok and (size <= 1 or stride == expected)
            expected *= size
        return ok

    def sync(self) -> None:
        # Version 3 of the interface: work on the array may be pending on `stream` (1 and 2 are
        # the legacy and per-thread default streams, which the legacy stream orders after).
        if self.stream not in (None, 1, 2):
            _module().stream_synchronize(int(self.stream))


def _view(a: Any, name: str) -> _View:
    cai = a.__cuda_array_interface__
    shape = tuple(int(s) for s in cai["shape"])
    try:
        dtype = np.dtype(cai["typestr"])
    except TypeError as e:
        raise TypeError(f"{name}: unknown typestr {cai['typestr']!r}") from e
    if cai.get("mask") is not None:
        raise TypeError(f"{name}: masked device arrays are not supported")
    strides = cai.get("strides")
    if strides is None:  # C-contiguous
        strides, step = [], dtype.itemsize
        for size in reversed(shape):
            strides.insert(0, step)
            step *= size
    ptr, readonly = cai["data"]
    return _View(
        int(ptr or 0),
        shape,
        dtype,
        tuple(int(s) for s in strides),
        bool(readonly),
        cai.get("stream"),
    )


def _describe(v: _View) -> str:
    return f"device array of dtype {v.dtype} and shape {v.shape}"


def _matrix(X: Any) -> _View:
    v = _view(X, "X")
    if v.dtype not in (np.float32, np.float64) or not v.dtype.isnative:
        raise TypeError(
            f"X must be a float32 or float64 device array (native byte order), got {_describe(v)}"
        )
    if len(v.shape) != 2:
        raise ValueError(f"X must be a 2-D array (n_samples, n_features), got {_describe(v)}")
    if v.shape[0] < 1 or v.shape[1] < 1:
        raise ValueError(f"X must have at least one sample and one feature, got {_describe(v)}")
    col_ok = v.shape[1] == 1 or v.strides[1] == v.dtype.itemsize
    row_ok = v.strides[0] % v.dtype.itemsize == 0 and v.strides[0] >= v.dtype.itemsize * v.shape[1]
    if not (col_ok and (row_ok or v.shape[0] == 1)):
        raise ValueError(
            f"X must be row-major with contiguous rows, got strides {v.strides}; make it "
            "contiguous on the device once before training"
        )
    return v


def _device_vector(a: Any, name: str, length: int, dtype: np.dtype, *, writable: bool) -> _View:
    v = _view(a, name)
    if v.dtype != dtype:
        raise TypeError(
            f"{name} must have dtype {dtype} (X's dtype), got {_describe(v)}"
            + ("" if writable else f"; convert it on the device first, e.g. {name}.astype(...)")
        )
    if v.shape != (length,):
        raise ValueError(f"{name} must have shape ({length},), got {_describe(v)}")
    if not v.c_contiguous:
        raise ValueError(f"{name} must be contiguous")
    if writable and v.readonly:
        raise ValueError(f"{name} must be writeable (it is updated in place)")
    return v


class _Inputs:
    """The device pointers of a call; host inputs are copied to the device and kept alive here
    until the call returns."""

    def __init__(self) -> None:
        self.keep: list[Any] = []
        self.views: list[_View] = []

    def device(
        self, a: Any, name: str, length: int, dtype: np.dtype, *, writable: bool = False
    ) -> int:
        if a is None:
            return 0
        if not is_device_array(a):
            if writable:
                raise TypeError(
                    f"{name} must be a device array (X is one): it is updated in place on the "
                    f"GPU, got {type(a).__name__}"
                )
            host = as_order(a) if dtype == np.int64 else as_vector(a, name, dtype)
            a = to_device(host)
            self.keep.append(a)
        v = _device_vector(a, name, length, dtype, writable=writable)
        self.views.append(v)
        return v.ptr

    def sync(self) -> None:
        for v in self.views:
            v.sync()


def _plain_sgd_only(loss: Any, optimizer: Any, average: Any) -> None:
    if loss == "multinomial":
        raise NotImplementedError(
            "loss='multinomial' does not run on the GPU yet; use NumPy arrays (CPU)"
        )
    if optimizer is not None:
        from .optimizers import get_optimizer

        if get_optimizer(optimizer).kind != "sgd":
            raise NotImplementedError(
                "optimizers other than plain SGD do not run on the GPU yet; use NumPy arrays "
                "(CPU) or optimizer=None"
            )
    if average is not None:
        raise NotImplementedError("average= does not run on the GPU yet; use NumPy arrays (CPU)")


def _scalars(
    loss: Any, penalty: Any, alpha: Any, l1_ratio: Any, epsilon: Any, label_smoothing: Any
) -> dict[str, Any]:
    if label_smoothing:
        raise ValueError("label_smoothing applies to loss='multinomial' only")
    return dict(
        loss=int(check_option(loss, "loss", _core.Loss).value),
        penalty=int(check_option(penalty, "penalty", _core.Penalty).value),
        alpha=check_real(alpha, "alpha", low=0.0),
        l1_ratio=check_real(l1_ratio, "l1_ratio", low=0.0, high=1.0),
        epsilon=check_real(epsilon, "epsilon", low=0.0),
    )


def loss_and_grad(
    X: Any,
    y: Any,
    coef: Any,
    intercept: Any = 0.0,
    *,
    loss: str = "squared_error",
    penalty: str = "l2",
    alpha: float = 1e-4,
    l1_ratio: float = 0.15,
    epsilon: float = 0.1,
    sample_weight: Any = None,
    check_input: bool = True,
    label_smoothing: float = 0.0,
) -> tuple[float, DeviceArray, float]:
    """:func:`fastgd.ops.loss_and_grad` on the GPU; ``grad_coef`` is a :class:`DeviceArray`.

    ``coef`` is a device array (X's dtype, shape (d,)); ``intercept`` a number, a one-element
    host array or a one-element device array."""
    _plain_sgd_only(loss, None, None)
    cuda = _module()
    scalars = _scalars(loss, penalty, alpha, l1_ratio, epsilon, label_smoothing)
    Xv = _matrix(X)
    n, d = Xv.shape
    io = _Inputs()
    y_ptr = io.device(y, "y", n, Xv.dtype)
    sw_ptr = io.device(sample_weight, "sample_weight", n, Xv.dtype)
    if not is_device_array(coef):
        raise TypeError(f"coef must be a device array (X is one), got {type(coef).__name__}")
    coef_ptr = io.device(coef, "coef", d, Xv.dtype)
    b = as_intercept_value(to_host(intercept) if is_device_array(intercept) else intercept)
    grad = DeviceArray((d,), Xv.dtype)
    Xv.sync()
    io.sync()
    objective, grad_b = cuda.loss_and_grad(
        dtype=Xv.dtype.name,
        X=Xv.ptr,
        n=n,
        d=d,
        ld=Xv.strides[0] // Xv.dtype.itemsize,
        y=y_ptr,
        sample_weight=sw_ptr,
        coef=coef_ptr,
        intercept=b,
        grad=grad.ptr,
        check_input=bool(check_input),
        **scalars,
    )
    return objective, grad, grad_b


def sgd_epoch(
    X: Any,
    y: Any,
    coef: Any,
    intercept: Any,
    lrs: Any,
    *,
    batch_size: int,
    order: Any = None,
    loss: str = "squared_error",
    penalty: str = "l2",
    alpha: float = 1e-4,
    l1_ratio: float = 0.15,
    epsilon: float = 0.1,
    sample_weight: Any = None,
    fit_intercept: bool = True,
    check_input: bool = True,
    optimizer: Any = None,
    average: Any = None,
    label_smoothing: float = 0.0,
    n_blocks: int | None = None,
) -> float:
    """:func:`fastgd.ops.sgd_epoch` on the GPU: the whole epoch in one cooperative kernel (one
    grid-wide barrier per step). ``n_blocks`` overrides the grid size (for benchmarks; the
    default follows the batch size, at most what fits on the device at once)."""
    _plain_sgd_only(loss, optimizer, average)
    cuda = _module()
    scalars = _scalars(loss, penalty, alpha, l1_ratio, epsilon, label_smoothing)
    batch_size = check_int(batch_size, "batch_size", low=1)
    blocks = 0 if n_blocks is None else check_int(n_blocks, "n_blocks", low=1)
    Xv = _matrix(X)
    n, d = Xv.shape
    io = _Inputs()
    y_ptr = io.device(y, "y", n, Xv.dtype)
    sw_ptr = io.device(sample_weight, "sample_weight", n, Xv.dtype)
    coef_ptr = io.device(coef, "coef", d, Xv.dtype, writable=True)
    b_ptr = io.device(intercept, "intercept", 1, Xv.dtype, writable=True)
    order_len = 0
    order_ptr = 0
    if order is not None:
        if is_device_array(order):
            shape = _view(order, "order").shape
            order_len = shape[0] if len(shape) == 1 else 0
        else:
            order = as_order(order)
            order_len = order.shape[0] if order.ndim == 1 else 0
        if order_len < 1 or order_len > n:
            raise ValueError(f"order must be a 1-D array of 1 to {n} distinct row indices")
        order_ptr = io.device(order, "order", order_len, np.dtype(np.int64))
    lrs_host = to_host(lrs) if is_device_array(lrs) else np.asarray(lrs)
    if lrs_host.dtype.kind not in "iuf":
        raise TypeError(f"lrs must be an array of real learning rates, got dtype {lrs_host.dtype}")
    Xv.sync()
    io.sync()
    return cuda.sgd_epoch(
        dtype=Xv.dtype.name,
        X=Xv.ptr,
        n=n,
        d=d,
        ld=Xv.strides[0] // Xv.dtype.itemsize,
        y=y_ptr,
        coef=coef_ptr,
        intercept=b_ptr,
        lrs=np.ascontiguousarray(lrs_host, dtype=np.float64),
        batch_size=batch_size,
        order=order_ptr,
        order_len=order_len,
        sample_weight=sw_ptr,
        fit_intercept=bool(fit_intercept),
        check_input=bool(check_input),
        n_blocks=blocks,
        **scalars,
    )
