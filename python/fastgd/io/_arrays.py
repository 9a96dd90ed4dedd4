"""NumPy files: ``.npy`` (a 2-D table, the target one of its columns) and ``.npz`` (arrays
``X`` and ``y``, optionally ``feature_names``), loaded without pickle."""

from __future__ import annotations

import numpy as np

from ._errors import DataFileError


def _load(path: str):
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:  # an object array (pickle) or a damaged file
        raise DataFileError(path, f"not a NumPy file fastgd can read: {exc}") from None


def read_npy_table(path: str) -> np.ndarray:
    """The 2-D array of a ``.npy`` file, with real (integer, bool or float) values."""
    table = _load(path)
    if not isinstance(table, np.ndarray) or table.ndim != 2:
        shape = getattr(table, "shape", None)
        raise DataFileError(
            path,
            f"a .npy data file holds a 2-D table (features and target "
            f"columns), got an array of shape {shape}",
        )
    return _real(path, table, "the array")


def read_npz(path: str) -> tuple[np.ndarray, np.ndarray | None, list | None]:
    """``(X, y, names)`` of a ``.npz`` file: ``X`` 2-D, ``y`` 1-D (optional: prediction needs
    none), ``feature_names`` 1-D strings (optional)."""
    with _load(path) as archive:
        if "X" not in archive.files:
            raise DataFileError(
                path,
                f"a .npz data file holds arrays 'X' and 'y' "
                f"(np.savez(path, X=X, y=y)); this one has {archive.files}",
            )
        X = _real(path, archive["X"], "X")
        y = _real(path, archive["y"], "y") if "y" in archive.files else None
        names = archive["feature_names"] if "feature_names" in archive.files else None
    if X.ndim != 2:
        raise DataFileError(path, f"X must be 2-D, got shape {X.shape}")
    if y is not None and y.shape != (X.shape[0],):
        raise DataFileError(
            path, f"y must have shape ({X.shape[0]},) as X has {X.shape[0]} rows, got {y.shape}"
        )
    if names is not None:
        if names.dtype.kind not in "US" or names.shape != (X.shape[1],):
            raise DataFileError(
                path,
                f"feature_names must be {X.shape[1]} strings, got "
                f"{names.dtype} of shape {names.shape}",
            )
        names = [str(n) for n in names]
    return X, y, names


def _real(path: str, array: np.ndarray, name: str) -> np.ndarray:
    """float32 stays float32; integers and bools become float64; anything else is refused, as
    are non-finite values (named by their row and column)."""
    if array.dtype.kind not in "biuf":
        raise DataFileError(path, f"{name} must hold numbers, got dtype {array.dtype}")
    if array.dtype.kind != "f" or array.dtype.itemsize > 8:
        array = array.astype(np.float64)
    finite = np.isfinite(array)
    if not finite.all():
        where = np.unravel_index(int(np.argmin(finite.ravel())), array.shape)
        raise DataFileError(
            path, f"{name}{list(map(int, where))} is {array[where]}: values must be finite"
        )
    return array
