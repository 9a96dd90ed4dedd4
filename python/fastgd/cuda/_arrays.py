"""Device arrays: :class:`DeviceArray` (GPU memory owned by fastgd), what any array's
``__cuda_array_interface__`` says (:class:`View`), and the copies between host and device."""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._module import load

__all__ = ["DeviceArray", "View", "empty", "is_device_array", "to_device", "to_host", "view_of"]


def is_device_array(a: Any) -> bool:
    """Whether ``a`` exposes ``__cuda_array_interface__`` (a GPU array: CuPy, PyTorch, ...).

    A PyTorch CPU tensor raises AttributeError on that attribute, so it counts as a host array.
    """
    return hasattr(a, "__cuda_array_interface__")


def _free(ptr: int) -> None:
    from .. import _cuda

    _cuda.free(ptr)


class DeviceArray:
    """A C-contiguous array in GPU memory, owned by this object (freed with it).

    Minimal on purpose: fastgd needs neither CuPy nor PyTorch. It exposes
    ``__cuda_array_interface__`` (version 3), so ``cupy.asarray(a)`` and
    ``torch.as_tensor(a, device="cuda")`` wrap it without a copy, and ``np.asarray(a)`` or
    :meth:`get` copies it to the host.
    """

    def __init__(self, shape: Any, dtype: Any) -> None:
        cuda = load()
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
            load().copy(out.ctypes.data, self.ptr, self.nbytes)
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
        view = view_of(a, "a")
        if dtype is not None and view.dtype != np.dtype(dtype):
            raise TypeError(
                f"a is a device array of dtype {view.dtype}, not {np.dtype(dtype)}; convert it "
                "on the device with its own library (e.g. .astype)"
            )
        return a
    host = np.ascontiguousarray(a, dtype=dtype)
    out = DeviceArray(host.shape, host.dtype)
    if out.nbytes:
        load().copy(out.ptr, host.ctypes.data, out.nbytes)
    return out


def to_host(a: Any) -> np.ndarray:
    """A NumPy copy of a C-contiguous device array (NumPy input is returned as is)."""
    if not is_device_array(a):
        return np.asarray(a)
    view = view_of(a, "a")
    if not view.c_contiguous:
        raise ValueError("to_host needs a C-contiguous device array")
    out = np.empty(view.shape, view.dtype)
    if out.nbytes:
        view.sync()
        load().copy(out.ctypes.data, view.ptr, out.nbytes)
    return out


@dataclass
class View:
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
            load().stream_synchronize(int(self.stream))


def view_of(a: Any, name: str) -> View:
    """What ``a.__cuda_array_interface__`` says (C-contiguous strides filled in); errors name
    the argument ``name``."""
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
    return View(
        int(ptr or 0),
        shape,
        dtype,
        tuple(int(s) for s in strides),
        bool(readonly),
        cai.get("stream"),
    )
