"""Reading data files: svmlight/libsvm, CSV, NumPy (.npy/.npz) and Parquet.

:func:`read_data` reads any of them into a :class:`Dataset` (X, y and the feature names): what
the command line (``fastgd train DATA``) trains on. The readers need NumPy only, and scipy for
the sparse svmlight format, pyarrow for Parquet. A malformed file raises :class:`DataFileError`
(a ValueError) whose message starts ``FILE:LINE:COLUMN:``.

- **svmlight** (``.svm``, ``.svmlight``, ``.libsvm``, ``.txt``): ``label index:value ...`` per
  line, the indices strictly increasing, 0- or 1-based (detected as scikit-learn's
  ``zero_based="auto"``), ``#`` comments; X is a scipy.sparse CSR matrix.
- **csv** (``.csv``): numbers separated by commas; a first line holding a non-number is the
  header (the feature names); y is the column ``target``.
- **npy** (``.npy``): a 2-D array; y is its column ``target``.
- **npz** (``.npz``): arrays ``X`` (2-D) and ``y`` (1-D; optional for prediction), optionally
  ``feature_names`` (1-D strings), as ``np.savez(path, X=X, y=y)`` writes them.
- **parquet** (``.parquet``, ``.pq``): numeric and boolean columns, read by pyarrow; y is the
  column ``target``.

``target`` (tables only) is a column name or index (negative from the end); the default is the
last column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._arrays import read_npy_table, read_npz
from ._csv import read_csv_table
from ._errors import DataFileError
from ._parquet import read_parquet_table
from ._svmlight import read_svmlight
from ._table import split_target, target_index

__all__ = ["FORMATS", "DataFileError", "Dataset", "format_of", "read_data", "read_svmlight"]

FORMATS = {
    "svmlight": (".svm", ".svmlight", ".libsvm", ".txt"),
    "csv": (".csv",),
    "npy": (".npy",),
    "npz": (".npz",),
    "parquet": (".parquet", ".pq"),
}


@dataclass
class Dataset:
    """A data file's contents: ``X`` (float32/float64 ndarray, or CSR for svmlight), ``y``
    (1-D float, None for a prediction file without a target), ``feature_names`` (from a CSV
    header, Parquet, an .npz's ``feature_names``; else None), ``target_name``, ``path``,
    ``format``."""

    X: Any
    y: np.ndarray | None
    feature_names: list | None
    target_name: str | None
    path: str
    format: str


def format_of(path: str | Path, format: str | None = None) -> str:
    """The format of a data file: ``format`` if given, else from the file's extension."""
    if format is not None:
        if format not in FORMATS:
            raise ValueError(f"format must be one of {sorted(FORMATS)}, got {format!r}")
        return format
    suffix = Path(path).suffix.lower()
    for name, suffixes in FORMATS.items():
        if suffix in suffixes:
            return name
    raise ValueError(
        f"cannot tell the format of {str(path)!r} from its extension {suffix!r}: name it "
        f"(format= / --format: one of {sorted(FORMATS)})"
    )


def read_data(
    path: str | Path,
    *,
    format: str | None = None,
    target: int | str | None = None,
    n_features: int | None = None,
    zero_based: bool | str = "auto",
) -> Dataset:
    """Read a data file (formats in the module's docstring) into a :class:`Dataset`.

    ``n_features``: the number of features a model takes (prediction): an svmlight index past it
    is an error, and a table of exactly ``n_features`` columns has no target (y is None).
    Without it (training data) the target is required.
    ``zero_based``: for svmlight (see :func:`read_svmlight`). Raises :class:`DataFileError` for a
    malformed file, FileNotFoundError for a missing one, ImportError naming the package an
    optional format needs.
    """
    kind = format_of(path, format)
    path = str(path)
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if kind == "svmlight":
        X, y = read_svmlight(path, n_features=n_features, zero_based=zero_based)
        return Dataset(X, y, None, None, path, kind)
    if kind == "npz":
        X, y, names = read_npz(path)
        if n_features is None and y is None:  # training data: the target is needed
            raise DataFileError(path, "no array 'y' (the target) next to 'X'")
        if n_features is not None and X.shape[1] != n_features:
            raise DataFileError(path, f"X has {X.shape[1]} columns; the model takes {n_features}")
        return Dataset(X, y, names, None, path, kind)
    names = None
    if kind == "csv":
        table, names = read_csv_table(path)
    elif kind == "npy":
        table = read_npy_table(path)
    else:
        table, names = read_parquet_table(path)
    index = target_index(path, target, names, table.shape[1], n_features)
    X, y = split_target(table, index)
    feature_names = None if names is None else [n for j, n in enumerate(names) if j != index]
    target_name = None if names is None or index is None else names[index]
    return Dataset(X, y, feature_names, target_name, path, kind)
