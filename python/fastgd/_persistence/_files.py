"""Model files on disk: ``save`` (through a temporary file, so that a file is complete or
absent) and ``load`` (every problem with the file a ValueError naming it)."""

from __future__ import annotations

import os
import uuid
from typing import Any

from ._archive import Invalid, read_archive, write_archive
from ._model import build, describe


def save(estimator: Any, path: Any) -> None:
    """Write a fitted estimator to ``path`` (the format: fastgd._persistence's docstring): the
    file is complete or absent, never partial (a temporary file in the same folder, then
    ``os.replace``)."""
    data = write_archive(*describe(estimator))  # every refusal comes before any file is touched
    path = os.fspath(path)
    folder, base = os.path.split(os.path.abspath(path))
    tmp = os.path.join(folder, f".{base}.{uuid.uuid4().hex}.tmp")
    # os.open with mode 0o666 gives the permissions the umask allows, as open(path, "wb") would.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def load(path: Any) -> Any:
    """The estimator saved at ``path`` by ``estimator.save(path)``: fitted, with its parameters,
    classes, feature names and the state that ``partial_fit`` continues, bit for bit.

    Raises ValueError naming the file when it is not a fastgd model (truncated, altered, of
    another kind, or written by a newer fastgd in a format this version cannot read), and
    OSError when it cannot be read. Nothing in the file is executed: no pickle, no eval.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:  # a missing or unreadable file raises OSError, as open() does
        raw = f.read()
    try:
        meta, arrays = read_archive(raw)
    except Invalid as exc:
        raise ValueError(f"{path}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any failure to parse untrusted bytes
        raise ValueError(
            f"{path}: not a fastgd model file, or a truncated or damaged one "
            f"({type(exc).__name__}: {exc})"
        ) from None
    try:
        return build(meta, arrays)
    except (TypeError, ValueError) as exc:  # Invalid, or a check meeting a value of a wrong kind
        raise ValueError(f"{path}: {exc}") from None
