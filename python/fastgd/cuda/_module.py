"""The compiled module fastgd._cuda, loaded on first use: CUDAUnavailableError says why when it
was not built or finds no usable device."""

from __future__ import annotations

from typing import Any

__all__ = ["CUDAUnavailableError", "available", "load"]


class CUDAUnavailableError(RuntimeError):
    """fastgd was built without its CUDA module, or found no usable CUDA device."""


def load() -> Any:
    """The loaded fastgd._cuda with at least one device, or CUDAUnavailableError saying why."""
    try:
        from .. import _cuda
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
        load()
    except CUDAUnavailableError:
        return False
    return True
