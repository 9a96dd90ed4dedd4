"""Checks of options and scalars, and the one-time conversions of read-only inputs.

The split of work: this module checks what Python sees best (option strings, scalar types and
ranges, whether something is an array at all) and converts small read-only inputs (y,
sample_weight, lrs, order) to the dtype the kernel needs. The compiled layer checks every buffer
(shapes, dtypes, strides, NaN/inf, label values, permutations) before it starts, so no check is
written twice. Every error names the argument.
"""

from __future__ import annotations

import inspect
import math
import numbers
from typing import Any

import numpy as np


def check_option(value: Any, name: str, enum: Any) -> Any:
    """Map an option string (e.g. ``loss="hinge"``) to its member of a ``_core`` enum."""
    members = enum.__members__
    if isinstance(value, enum):
        return value
    if not isinstance(value, str) or value not in members:
        raise ValueError(f"{name} must be one of {sorted(members)}, got {value!r}")
    return members[value]


def check_real(
    value: Any,
    name: str,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A finite real scalar (not bool) in the interval from low to high, as a Python float.

    The bounds are inclusive unless ``low_open``/``high_open`` say otherwise.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    v = float(value)
    ok = math.isfinite(v)
    ok = ok and (v > low if low_open else v >= low)
    ok = ok and (v < high if high_open else v <= high)
    if not ok:
        interval = ("(" if low_open else "[") + f"{low!r}, {high!r}" + (")" if high_open else "]")
        raise ValueError(f"{name} must be a finite number in {interval}, got {value!r}")
    return v


def check_bool(value: Any, name: str) -> bool:
    """A real bool (True/False or np.bool_), not merely something truthy."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__} {value!r}")
    return bool(value)


def check_int(value: Any, name: str, *, low: int | None = 1, high: int | None = None) -> int:
    """An integer (not bool, not float, even 10.0) from low to high (None: unbounded)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if high is None and low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value!r}")
    if low is None and high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value!r}")
    if low is not None and high is not None and not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value!r}")
    return int(value)


def check_data_matrix(X: Any) -> np.ndarray:
    """X is used in place, so it must already be a float32/float64 NumPy array.

    Converting here would copy the training data on every call; convert once instead.
    """
    if not isinstance(X, np.ndarray):
        raise TypeError(
            f"X must be a NumPy array, got {type(X).__name__}; convert it once with "
            "np.asarray(X, dtype=np.float64) (or float32) before training"
        )
    return X


def as_vector(a: Any, name: str, dtype: Any) -> np.ndarray:
    """A read-only 1-D input converted to `dtype` and made contiguous (no copy when it already is).

    Integer and float inputs are accepted (e.g. labels given as ints); bool, complex, object and
    string arrays are refused. The shape is checked by the compiled layer.
    """
    arr = np.asarray(a)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers (int or float), got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=dtype)


def as_order(order: Any) -> np.ndarray:
    """The permutation of rows, as contiguous int64."""
    arr = np.asarray(order)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"order must be an integer array (a permutation), got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def as_intercept_value(intercept: Any) -> float:
    """loss_and_grad's intercept: a real number or a one-element array (host values)."""
    b = np.asarray(intercept)
    if b.size != 1 or b.dtype.kind not in "iuf":
        raise ValueError(
            f"intercept must be a real number or a one-element array, got {intercept!r}"
        )
    return float(b.reshape(-1)[0])


def check_inplace(a: Any, name: str) -> np.ndarray:
    """Buffers updated in place must be NumPy arrays; the compiled layer checks dtype and shape."""
    if not isinstance(a, np.ndarray):
        raise TypeError(
            f"{name} must be a NumPy array updated in place (dtype of X), got {type(a).__name__}"
        )
    return a


def repr_from_signature(obj: Any) -> str:
    """``ClassName(param=value, ...)`` for the constructor parameters, read from the same-named
    attributes (as scikit-learn's get_params): the one __repr__ of schedules and optimizers."""
    params = inspect.signature(type(obj).__init__).parameters.values()
    args = ", ".join(
        f"{p.name}={getattr(obj, p.name)!r}"
        for p in params
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    )
    return f"{type(obj).__name__}({args})"


def is_sparse(X: Any) -> bool:
    """Whether X is a scipy.sparse matrix or array, without importing scipy (it stays optional:
    only a user who has sparse data has scipy)."""
    return not isinstance(X, np.ndarray) and hasattr(X, "tocsr") and hasattr(X, "format")


def as_csr(X: Any) -> Any:
    """A scipy.sparse matrix as CSR with float32/float64 values and one index dtype.

    CSR input with float values and matching int32/int64 index arrays is used as it is (no copy).
    Other formats (CSC, COO, ...) are converted to CSR, values of other dtypes to float64, and
    index arrays of different dtypes to int64: each a one-time copy, made here. Unsorted and
    repeated column indices are accepted as they are: the kernels sum repeats, as scipy's
    canonical form (``sum_duplicates``) would.
    """
    if X.format != "csr":
        X = X.tocsr()
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    if X.indices.dtype != X.indptr.dtype or X.indices.dtype not in (np.int32, np.int64):
        X = X.copy()
        X.indices = X.indices.astype(np.int64)
        X.indptr = X.indptr.astype(np.int64)
    return X


def check_parallel(parallel: Any) -> bool:
    """``parallel="sync"`` (deterministic) or ``"async"`` (Hogwild!); True for async."""
    if parallel not in ("sync", "async"):
        raise ValueError(f"parallel must be 'sync' or 'async', got {parallel!r}")
    return parallel == "async"
