"""CSV of numbers, with or without a header line of column names.

NumPy's compiled ``loadtxt`` reads a well-formed file; a file it refuses is read again by a
vectorized parse that locates the first bad field or ragged row (line, column) for the error.
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np

from ._errors import DataFileError, field_column, show


def _is_number(field: bytes) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def read_csv_table(path: str, *, delimiter: str = ",") -> tuple[np.ndarray, list | None]:
    """``(table, names)``: the float64 table of a CSV file and its column names (None without a
    header). The first line is a header when one of its fields is not a number. Every other
    field must be a finite number (blank lines are skipped)."""
    with open(path, "rb") as f:
        first = f.readline().removeprefix(b"\xef\xbb\xbf").strip()
    names = None
    if first and not all(_is_number(f) for f in first.split(delimiter.encode())):
        text = first.decode("utf-8", "replace")
        names = [n.strip() for n in next(csv.reader([text], delimiter=delimiter))]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "no data": the slow parse says it
            table = np.loadtxt(
                path,
                delimiter=delimiter,
                skiprows=int(names is not None),
                comments=None,
                ndmin=2,
                dtype=np.float64,
                encoding="utf-8-sig",
            )
    except ValueError:
        table = None
    if (
        table is not None
        and table.size
        and np.isfinite(table).all()
        and (names is None or table.shape[1] == len(names))
    ):
        return table, names
    return _parse_locating_errors(path, delimiter)


def _parse_locating_errors(path: str, delimiter: str) -> tuple[np.ndarray, list | None]:
    """The slow parse of a file loadtxt refused: the table, or the DataFileError of the first
    bad field or ragged row."""
    data = Path(path).read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark, as spreadsheets write
        data = data[3:]
    sep = delimiter.encode()
    lines = data.splitlines()
    rows = [i for i, line in enumerate(lines) if line.strip()]
    if not rows:
        raise DataFileError(path, "no data: the file is empty")
    names = None
    first = lines[rows[0]]
    if not all(_is_number(f) for f in first.split(sep)):
        text = first.decode("utf-8", "replace")
        names = [n.strip() for n in next(csv.reader([text], delimiter=delimiter))]
        rows = rows[1:]
        if not rows:
            raise DataFileError(path, "no data: the file has a header and no rows")
    body = [lines[i] for i in rows]
    n_columns = len(names) if names is not None else body[0].count(sep) + 1
    counts = np.fromiter((line.count(sep) for line in body), dtype=np.int64, count=len(body))
    ragged = np.flatnonzero(counts != n_columns - 1)
    if ragged.size:
        r = int(ragged[0])
        line = body[r]
        column = field_column(line, n_columns, sep) if counts[r] >= n_columns else len(line) + 1
        expected = "the header has" if names is not None else "the first row has"
        raise DataFileError(
            path,
            f"ragged row: {counts[r] + 1} fields where {expected} {n_columns}",
            rows[r] + 1,
            column,
        )
    fields = np.array(sep.join(body).split(sep), dtype=bytes)
    try:
        values = fields.astype(np.float64)
        bad = np.flatnonzero(~np.isfinite(values))
    except ValueError:
        bad = [next(i for i, f in enumerate(fields) if not _is_number(f))]
    if len(bad):
        i = int(bad[0])
        r, j = divmod(i, n_columns)
        name = f" {names[j]!r}" if names is not None else ""
        what = "an empty field" if not fields[i].strip() else show(fields[i].strip())
        raise DataFileError(
            path,
            f"column{name} (field {j + 1}): {what} is not a finite number "
            "(fastgd reads numeric columns only)",
            rows[r] + 1,
            field_column(body[r], j, sep),
        )
    return values.reshape(len(body), n_columns), names
