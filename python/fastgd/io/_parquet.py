"""Parquet files, through pyarrow (an optional dependency: ``pip install "fastgd[parquet]"``)."""

from __future__ import annotations

import numpy as np

from ._errors import DataFileError


def read_parquet_table(path: str) -> tuple[np.ndarray, list]:
    """``(table, names)``: the float64 table of a Parquet file (numeric and boolean columns
    only, no nulls) and its column names."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ImportError(
            'reading Parquet needs pyarrow: pip install "fastgd[parquet]" (or pip install pyarrow)'
        ) from exc
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataFileError(path, f"not a Parquet file pyarrow can read: {exc}") from None
    names = list(table.column_names)
    out = np.empty((table.num_rows, len(names)), dtype=np.float64)
    for j, (name, column) in enumerate(zip(names, table.columns)):
        kind = column.type
        if not (
            pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
        ):
            raise DataFileError(
                path,
                f"column {name!r} (column {j + 1}) has type {kind}: "
                "fastgd reads numeric columns only",
            )
        if column.null_count:
            row = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
            raise DataFileError(
                path,
                f"column {name!r} (column {j + 1}) has a null in row "
                f"{row + 1}: values must be finite numbers",
            )
        out[:, j] = column.to_numpy(zero_copy_only=False)
    finite = np.isfinite(out)
    if not finite.all():
        row, j = np.unravel_index(int(np.argmin(finite.ravel())), out.shape)
        raise DataFileError(
            path,
            f"column {names[j]!r} (column {j + 1}) is {out[row, j]} in row "
            f"{row + 1}: values must be finite",
        )
    return out, names
