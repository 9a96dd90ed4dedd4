"""What the installed extension can do: build information, threads, and the optional CUDA module."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from . import _core


def _probe_cuda() -> bool:
    # The CUDA module is optional twice: it may not have been built, and a built one may find no
    # usable device at import time. Either way fastgd works on the CPU.
    try:
        cuda = importlib.import_module("fastgd._cuda")
    except ImportError:
        return False
    return bool(getattr(cuda, "device_count", lambda: 0)() > 0)


HAS_CUDA: bool = _probe_cuda()


def _cuda_built() -> bool:
    return importlib.util.find_spec("fastgd._cuda") is not None


def default_threads() -> int:
    """Threads the kernels use when ``n_threads=None``: OpenMP's default (``OMP_NUM_THREADS``)."""
    return int(_core.max_threads())


def build_info() -> dict[str, Any]:
    """How this fastgd was built.

    Returns a dict with ``version``, ``compiler``, ``openmp`` (bool), ``openmp_version``,
    ``max_threads`` (int: threads used by default), ``simd`` (the widest instruction set the
    kernels were compiled for), ``cuda`` (bool: whether the CUDA module was built) and
    ``cuda_available`` (bool: whether it found a usable GPU).
    """
    info = dict(_core.build_info())
    info["cuda"] = _cuda_built()
    info["cuda_available"] = HAS_CUDA
    return info
