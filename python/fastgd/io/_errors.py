"""The error of a malformed data file, and where in the file it points."""

from __future__ import annotations

import re


class DataFileError(ValueError):
    """A data file that cannot be read: ``str()`` is ``FILE:LINE:COLUMN: message`` (line and
    column 1-based, as compilers write them; either is left out where it does not apply).

    Attributes ``path``, ``line``, ``column`` and ``reason`` (the message without the place).
    """

    def __init__(
        self, path: str, reason: str, line: int | None = None, column: int | None = None
    ) -> None:
        self.path = str(path)
        self.line = line
        self.column = column
        self.reason = reason
        place = self.path + "".join(f":{n}" for n in (line, column) if n is not None)
        super().__init__(f"{place}: {reason}")


_TOKEN = re.compile(rb"\S+")


def token_column(line: bytes, k: int) -> int:
    """The 1-based character column where the k-th (0-based) whitespace-separated token of
    ``line`` starts (the end of the line when it has fewer tokens)."""
    for i, match in enumerate(_TOKEN.finditer(line)):
        if i == k:
            return match.start() + 1
    return len(line) + 1


def field_column(line: bytes, k: int, delimiter: bytes) -> int:
    """The 1-based character column where the k-th (0-based) field of a delimited line starts."""
    start = 0
    for _ in range(k):
        start = line.index(delimiter, start) + 1
    return start + 1


def show(token: bytes) -> str:
    """A token as an error message quotes it."""
    return repr(token.decode("utf-8", "replace"))
