"""Tables (CSV, .npy, Parquet): which column is the target, and the feature matrix without it."""

from __future__ import annotations

from typing import Union

import numpy as np

from ._errors import DataFileError

Target = Union[int, str, None]


def target_index(
    path: str, target: Target, names: list | None, n_columns: int, n_features: int | None
) -> int | None:
    """The column of y in a table of ``n_columns``, or None when the table holds features only.

    ``target``: a column name (tables with names), an index (negative from the end) or None
    (the last column). ``n_features`` (a model's, at prediction time): a table of exactly that
    many columns has no target; one of ``n_features + 1`` has one.
    """
    if n_features is not None:
        if n_columns == n_features and (
            target is None or not isinstance(target, str) or names is None or target not in names
        ):
            return None
        if n_columns != n_features + 1:
            raise DataFileError(
                path,
                f"the table has {n_columns} columns; the model takes {n_features} features "
                f"(and optionally the target column)",
                1,
            )
    if isinstance(target, str) and names is not None and target in names:
        return names.index(target)
    if isinstance(target, str):
        try:
            target = int(target)
        except ValueError:
            where = f"columns {names}" if names is not None else "no column names"
            raise DataFileError(
                path, f"no target column {target!r}: the table has {where}", 1
            ) from None
    index = -1 if target is None else int(target)
    if not -n_columns <= index < n_columns:
        raise DataFileError(
            path, f"target column {index} is out of range for a table of {n_columns} columns", 1
        )
    if n_columns < 2 and n_features is None:
        raise DataFileError(path, "the table has one column: no features besides the target", 1)
    return index % n_columns


def split_target(table: np.ndarray, index: int | None) -> tuple[np.ndarray, np.ndarray | None]:
    """(X, y) of a 2-D table: X C-contiguous without column ``index`` (one copy), y that column."""
    if index is None:
        return np.ascontiguousarray(table), None
    keep = np.r_[0:index, index + 1 : table.shape[1]]
    return np.ascontiguousarray(table[:, keep]), np.ascontiguousarray(table[:, index])
