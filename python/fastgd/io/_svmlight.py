"""svmlight / libsvm text: ``label index:value index:value ...`` per line, read into CSR.

The parse is vectorized over the file's bytes: the token boundaries, each token's line and
whether a colon precedes or follows it come from array operations, and the numbers from one
NumPy conversion of all the tokens of a kind. A malformed token is described (its line and
column, its text) from the same offsets, on the error path only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ._errors import DataFileError, show

_WHITESPACE = np.frombuffer(b" \t\r\n\v\f", dtype=np.uint8)
_COLON = ord(":")
# Tokens are converted to numbers this many bytes of fixed-width strings at a time.
_CHUNK_BYTES = 1 << 24


def _scipy_sparse() -> Any:
    try:
        import scipy.sparse
    except ImportError as exc:  # scipy is optional for fastgd, but CSR needs it
        raise ImportError(
            "reading svmlight/libsvm files needs scipy (for scipy.sparse's CSR matrix): "
            "pip install scipy"
        ) from exc
    return scipy.sparse


class _Tokens:
    """The whitespace- and colon-separated tokens of a text: their byte offsets, lines, and the
    colons around them."""

    def __init__(self, path: str, data: bytes) -> None:
        if b"#" in data:  # a comment runs to the end of its line; lines and columns stay put
            data = b"\n".join(line.partition(b"#")[0] for line in data.split(b"\n"))
        self.path = path
        self.data = data
        self.buf = buf = np.frombuffer(data, dtype=np.uint8)
        self.newlines = np.flatnonzero(buf == ord("\n"))
        colon = buf == _COLON
        self.text = text = ~(np.isin(buf, _WHITESPACE) | colon)
        edges = np.diff(text.view(np.int8), prepend=np.int8(0), append=np.int8(0))
        self.starts = np.flatnonzero(edges == 1)
        self.ends = np.flatnonzero(edges == -1)
        self.lines = np.searchsorted(self.newlines, self.starts, side="right")
        after = self.starts > 0
        after[after] = buf[self.starts[after] - 1] == _COLON
        before = self.ends < buf.size
        before[before] = buf[self.ends[before]] == _COLON
        self.after_colon, self.before_colon = after, before
        self.colons = np.flatnonzero(colon)

    def where(self, offset: int) -> tuple[int, int]:
        """(line, column), both 1-based, of a byte offset."""
        line = int(np.searchsorted(self.newlines, offset, side="right"))
        start = int(self.newlines[line - 1]) + 1 if line else 0
        return line + 1, offset - start + 1

    def error(self, offset: int, reason: str) -> DataFileError:
        return DataFileError(self.path, reason, *self.where(offset))

    def word_at(self, offset: int) -> tuple[int, bytes]:
        """The whitespace-separated word around a byte offset: (its start, its bytes)."""
        start = offset
        while start > 0 and self.buf[start - 1] not in _WHITESPACE:
            start -= 1
        end = offset
        while end < self.buf.size and self.buf[end] not in _WHITESPACE:
            end += 1
        return start, self.data[start:end]

    def numbers(self, which: np.ndarray, dtype: Any) -> tuple[np.ndarray | None, int]:
        """The tokens ``which`` (indices into the tokens) as numbers of ``dtype``: (array, -1),
        or (None, k) when the k-th of them is not a number of that type."""
        starts, ends = self.starts[which], self.ends[which]
        out = np.empty(which.size, dtype=dtype)
        width = int((ends - starts).max()) if which.size else 1
        step = max(1, _CHUNK_BYTES // width)
        columns = np.arange(width)
        for lo in range(0, which.size, step):
            s, e = starts[lo : lo + step], ends[lo : lo + step]
            at = np.minimum(s[:, None] + columns, self.buf.size - 1)
            chars = np.where(columns < (e - s)[:, None], self.buf[at], 0).astype(np.uint8)
            try:
                out[lo : lo + step] = chars.view(f"S{width}").ravel().astype(dtype)
            except (ValueError, OverflowError):
                kind = int if np.issubdtype(dtype, np.integer) else float
                for k in range(lo, lo + s.size):
                    if not _is_number(self.data[starts[k] : ends[k]], kind):
                        return None, k
                raise  # pragma: no cover - each token converts alone but not together
        return out, -1

    def token(self, i: int) -> bytes:
        return self.data[self.starts[i] : self.ends[i]]


def _is_number(token: bytes, kind: type) -> bool:
    try:
        value = kind(token)
    except (ValueError, OverflowError):
        return False
    return -(2**63) <= value < 2**63 if kind is int else True


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
    t = _Tokens(path, Path(path).read_bytes())
    if t.starts.size == 0:
        raise DataFileError(path, "no data: the file has no svmlight lines")
    first = np.ones(t.starts.size, dtype=bool)
    first[1:] = t.lines[1:] != t.lines[:-1]  # a line's first token is its label

    qid = t.data.find(b"qid:")
    if qid >= 0:
        raise t.error(qid, "query ids (qid:) are not supported: remove them to train on the rows")
    lonely = t.colons[
        ~(t.text[np.maximum(t.colons - 1, 0)] & t.text[np.minimum(t.colons + 1, t.buf.size - 1)])
        | (t.colons == 0)
        | (t.colons == t.buf.size - 1)
    ]
    odd = np.flatnonzero(first & (t.after_colon | t.before_colon))
    bad = np.flatnonzero(~first & (t.after_colon == t.before_colon))
    problems = []
    if lonely.size:
        problems.append((int(lonely[0]), "is not an index:value pair"))
    if bad.size:
        problems.append((int(t.starts[bad[0]]), "is not an index:value pair"))
    if odd.size:
        problems.append((int(t.starts[odd[0]]), "is where the line's label should be"))
    if problems:
        offset, what = min(problems)
        start, word = t.word_at(offset)
        raise t.error(start, f"{show(word)} {what}")

    labels = np.flatnonzero(first)
    y, k = t.numbers(labels, np.float64)
    if y is None or not np.isfinite(y).all():
        k = k if y is None else int(np.argmin(np.isfinite(y)))
        label = t.token(labels[k])
        raise t.error(
            int(t.starts[labels[k]]),
            f"the label {show(label)} is not a finite number"
            + (" (multi-label lines are not supported)" if b"," in label else ""),
        )
    which_index = np.flatnonzero(t.before_colon)
    which_value = np.flatnonzero(t.after_colon)  # the colon checks pair them one to one
    index, k = t.numbers(which_index, np.int64)
    if index is None:
        i = which_index[k]
        raise t.error(int(t.starts[i]), f"the index {show(t.token(i))} is not an integer")
    values, k = t.numbers(which_value, np.float64)
    if values is None or not np.isfinite(values).all():
        i = which_value[k if values is None else int(np.argmin(np.isfinite(values)))]
        raise t.error(int(t.starts[i]), f"the value {show(t.token(i))} is not a finite number")

    row = np.cumsum(first)[which_index] - 1
    indptr = np.zeros(labels.size + 1, dtype=np.int64)
    np.cumsum(np.bincount(row, minlength=labels.size), out=indptr[1:])

    def fail(k: int, reason: str) -> DataFileError:
        return t.error(int(t.starts[which_index[k]]), reason)

    step = np.diff(index) <= 0
    step &= row[1:] == row[:-1]  # only within a line
    if step.any():
        k = int(np.argmax(step)) + 1
        raise fail(
            k,
            f"the index {index[k]} does not follow {index[k - 1]}: the indices of "
            "a line must be strictly increasing",
        )
    one_based = zero_based is False or (
        zero_based == "auto" and (index.size == 0 or index.min() > 0)
    )
    if one_based:
        index -= 1
    low = int(np.argmin(index)) if index.size else 0
    if index.size and index[low] < 0:
        raise fail(
            low,
            f"the index {index[low] + one_based} is out of range (indices are "
            f"{'1' if one_based else '0'}-based)",
        )
    if n_features is None:
        n_features = int(index.max()) + 1 if index.size else 0
    elif index.size and index.max() >= n_features:
        k = int(np.argmax(index >= n_features))
        raise fail(
            k,
            f"the index {index[k] + one_based} is out of range: the data has "
            f"{n_features} features ({'1' if one_based else '0'}-based indices)",
        )
    index_dtype = np.int32 if max(n_features, index.size) < 2**31 else np.int64
    X = sparse.csr_matrix(
        (values, index.astype(index_dtype), indptr.astype(index_dtype)),
        shape=(labels.size, n_features),
    )
    return X, y
