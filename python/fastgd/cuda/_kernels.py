"""The GPU kernels' entry points, :func:`loss_and_grad` and :func:`sgd_epoch`, and the checks of
their arguments: device arrays are read through their ``__cuda_array_interface__`` and passed
to fastgd._cuda as raw pointers; host inputs are copied to the device for the call."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _core
from .._params import check_param
from .._validation import as_intercept_value, as_order, as_vector, check_int, check_option
from ._arrays import DeviceArray, View, is_device_array, to_device, to_host, view_of
from ._module import load

__all__ = ["loss_and_grad", "sgd_epoch"]


def _describe(v: View) -> str:
    return f"device array of dtype {v.dtype} and shape {v.shape}"


def _matrix(X: Any) -> View:
    v = view_of(X, "X")
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


def _device_vector(a: Any, name: str, length: int, dtype: np.dtype, *, writable: bool) -> View:
    v = view_of(a, name)
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
        self.views: list[View] = []

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
        from ..optimizers import get_optimizer

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
        loss=check_option(loss, "loss", _core.Loss),
        penalty=check_option(penalty, "penalty", _core.Penalty),
        alpha=check_param(alpha, "alpha"),
        l1_ratio=check_param(l1_ratio, "l1_ratio"),
        epsilon=check_param(epsilon, "epsilon"),
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
    cuda = load()
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
    cuda = load()
    scalars = _scalars(loss, penalty, alpha, l1_ratio, epsilon, label_smoothing)
    batch_size = check_param(batch_size, "batch_size")
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
            shape = view_of(order, "order").shape
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
