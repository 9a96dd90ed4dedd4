"""svmlight / libsvm text: ``label index:value index:value ...`` per line, read into CSR.

The parse is vectorized: one pass of bytes methods over the lines, then NumPy's conversion of
all the index and value tokens at once. A malformed token is located (line, column) only on the
error path, by scanning again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ._errors import DataFileError, show, token_column


def _scipy_sparse() -> Any:
    try:
        import scipy.sparse
    except ImportError as exc:  # scipy is optional for fastgd, but CSR needs it
        raise ImportError(
            "reading svmlight/libsvm files needs scipy (for scipy.sparse's CSR matrix): "
            "pip install scipy"
        ) from exc
    return scipy.sparse


def read_svmlight(
    path: str | Path,
    *,
    n_features: int | None = None,
    zero_based: bool | str = "auto",
) -> tuple[Any, np.ndarray]:
    """Read an svmlight/libsvm file into ``(X, y)``: X a float64 ``scipy.sparse.csr_matrix``,
    y a float64 array of the labels.

    Each non-blank line is ``label index:value ...`` with the indices strictly increasing; ``#``
    starts a comment. ``zero_based``: ``"auto"`` takes the indices as 1-based unless one of them
    is 0 (scikit-learn's ``load_svmlight_file(zero_based="auto")``), ``True``/``False`` says
    which. ``n_features``: the number of columns (an index at or past it is an error); default
    the largest index + 1. Query ids (``qid:``) and multi-label lines are refused.

    Raises :class:`DataFileError` (a ValueError) naming the line and column of the first
    malformed token: a bad number, a token without ``index:value``, an index out of range or not
    increasing, a non-finite value.
    """
    sparse = _scipy_sparse()
    path = str(path)
    data = Path(path).read_bytes()
    lines = data.splitlines()
    body = [line.partition(b"#")[0] for line in lines] if b"#" in data else lines
    parts = [line.split(None, 1) for line in body]
    rows = [i for i, p in enumerate(parts) if p]  # 0-based line numbers of the data lines
    if not rows:
        raise DataFileError(path, "no data: the file has no svmlight lines")
    labels = [parts[i][0] for i in rows]
    tails = [parts[i][1] if len(parts[i]) > 1 else b"" for i in rows]

    def fail(row: int, k: int, reason: str, offset: int = 0) -> DataFileError:
        # k: the token of the row (0 = the label); offset: from the token's start
        line = rows[row]
        return DataFileError(path, reason, line + 1, token_column(body[line], k) + offset)

    if b"qid:" in data:
        row = next(r for r, t in enumerate(tails) if b"qid:" in t)
        k = 1 + [tok.startswith(b"qid:") for tok in tails[row].split()].index(True)
        raise fail(row, k, "query ids (qid:) are not supported: remove them to train on the rows")

    y = _numbers(labels, np.float64)
    if y is None or not np.isfinite(y).all():
        row = _first_bad_number(labels)
        raise fail(
            row,
            0,
            f"the label {show(labels[row])} is not a finite number"
            + (" (multi-label lines are not supported)" if b"," in labels[row] else ""),
        )

    per_row = np.fromiter((t.count(b":") for t in tails), dtype=np.int64, count=len(tails))
    tokens = np.array(b" ".join(tails).split(), dtype=bytes)
    if tokens.size != per_row.sum() or (
        tokens.size
        and not (
            (np.char.count(tokens, b":") == 1)
            & ~np.char.startswith(tokens, b":")
            & ~np.char.endswith(tokens, b":")
        ).all()
    ):
        row, k = _first_bad_pair(tails)
        tok = tails[row].split()[k]
        raise fail(row, k + 1, f"{show(tok)} is not an index:value pair")
    indptr = np.zeros(len(tails) + 1, dtype=np.int64)
    np.cumsum(per_row, out=indptr[1:])
    pairs = np.array(b" ".join(tails).replace(b":", b" ").split(), dtype=bytes)

    def fail_pair(i: int, reason: str, offset: int = 0) -> DataFileError:
        row = int(np.searchsorted(indptr, i, side="right")) - 1
        return fail(row, 1 + i - int(indptr[row]), reason, offset)

    index = _numbers(pairs[0::2], np.int64)
    if index is None:
        i = _first_bad_number(pairs[0::2], int)
        raise fail_pair(i, f"the index {show(pairs[2 * i])} is not an integer")
    values = _numbers(pairs[1::2], np.float64)
    if values is None or not np.isfinite(values).all():
        i = (
            _first_bad_number(pairs[1::2])
            if values is None
            else int(np.argmin(np.isfinite(values)))
        )
        raise fail_pair(
            i,
            f"the value {show(pairs[2 * i + 1])} is not a finite number",
            offset=len(pairs[2 * i]) + 1,
        )

    step = np.diff(index) <= 0
    step[indptr[1:-1][(indptr[1:-1] > 0) & (indptr[1:-1] < index.size)] - 1] = False  # row starts
    if step.any():
        i = int(np.argmax(step)) + 1
        raise fail_pair(
            i,
            f"the index {index[i]} does not follow {index[i - 1]}: the indices of "
            "a line must be strictly increasing",
        )
    one_based = zero_based is False or (
        zero_based == "auto" and (index.size == 0 or index.min() > 0)
    )
    if one_based:
        index -= 1
    low = int(np.argmin(index)) if index.size else 0
    if index.size and index[low] < 0:
        raise fail_pair(
            low,
            f"the index {index[low] + one_based} is out of range (indices are "
            f"{'1' if one_based else '0'}-based)",
        )
    if n_features is None:
        n_features = int(index.max()) + 1 if index.size else 0
    elif index.size and index.max() >= n_features:
        i = int(np.argmax(index >= n_features))
        raise fail_pair(
            i,
            f"the index {index[i] + one_based} is out of range: the data has "
            f"{n_features} features ({'1' if one_based else '0'}-based indices)",
        )
    index_dtype = np.int32 if max(n_features, index.size) < 2**31 else np.int64
    X = sparse.csr_matrix(
        (values, index.astype(index_dtype), indptr.astype(index_dtype)),
        shape=(len(tails), n_features),
    )
    return X, y


def _numbers(tokens: Any, dtype: Any) -> np.ndarray | None:
    """All tokens as numbers of ``dtype`` in one conversion, or None if one is not a number."""
    try:
        return np.asarray(tokens, dtype=bytes).astype(dtype)
    except (ValueError, OverflowError):
        return None


def _first_bad_number(tokens: Any, kind: type = float) -> int:
    """The position of the first token that is not a finite number of ``kind`` (error path)."""
    for i, tok in enumerate(tokens):
        try:
            value = kind(tok)
        except (ValueError, OverflowError):
            return i
        if (kind is int and not -(2**63) <= value < 2**63) or not np.isfinite(float(value)):
            return i
    raise AssertionError("no bad token")  # only called after a conversion failed


def _first_bad_pair(tails: list) -> tuple[int, int]:
    """(row, token) of the first token that is not ``index:value`` (error path)."""
    for row, tail in enumerate(tails):
        for k, tok in enumerate(tail.split()):
            index, colon, value = tok.partition(b":")
            if not (index and colon and value) or b":" in value:
                return row, k
    raise AssertionError("no bad pair")
