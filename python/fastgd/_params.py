"""Parameter domains, declared once: the estimators' ``_parameter_constraints`` and ``ops``.

A parameter is declared as a list of domains (as scikit-learn's ``_parameter_constraints``): a
value is valid when one of them accepts it, ``None`` in the list allows None. The domains are
:class:`Interval` (numbers between bounds), :class:`Options` (option strings), :class:`Instance`
(objects of a type) and :class:`Satisfies` (a predicate, e.g. callables). A value of the wrong
kind raises TypeError, one of the right kind outside the domain ValueError; both name the
parameter, with the messages of fastgd._validation.

:data:`SHARED_CONSTRAINTS` declares the parameters that :mod:`fastgd.ops` shares with the
estimators; each side checks them with :func:`check_param`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any

import numpy as np

from ._validation import check_bool, check_int, check_option, check_real

__all__ = [
    "SHARED_CONSTRAINTS",
    "Boolean",
    "Instance",
    "Interval",
    "Options",
    "Satisfies",
    "check_param",
    "check_params",
    "check_threads",
]

_CLOSED = ("both", "left", "right", "neither")


class Interval:
    """Numbers of ``kind`` (``numbers.Real`` or ``numbers.Integral``) from ``low`` to ``high``.

    ``None`` for a bound: unbounded on that side. ``closed`` says which bounds belong to the
    interval (as scikit-learn's Interval); integer intervals are closed. Reals must be finite and
    are returned as float, integers as int; bool is not a number here.
    """

    def __init__(
        self, kind: type, low: float | None, high: float | None, *, closed: str = "both"
    ) -> None:
        if kind not in (Real, Integral):
            raise TypeError(f"kind must be numbers.Real or numbers.Integral, got {kind!r}")
        if closed not in _CLOSED or (kind is Integral and closed != "both"):
            raise ValueError(f"closed must be one of {list(_CLOSED)} ('both' for integers)")
        self.kind, self.low, self.high, self.closed = kind, low, high, closed

    def check(self, value: Any, name: str) -> Any:
        if self.kind is Integral:
            return check_int(value, name, low=self.low, high=self.high)
        return check_real(
            value,
            name,
            low=-math.inf if self.low is None else float(self.low),
            high=math.inf if self.high is None else float(self.high),
            low_open=self.closed in ("right", "neither"),
            high_open=self.closed in ("left", "neither"),
        )

    def accepts(self, value: Any) -> bool:
        return _accepts(self, value)

    def of_kind(self, value: Any) -> bool:
        return isinstance(value, self.kind) and not isinstance(value, (bool, np.bool_))

    @property
    def description(self) -> str:
        if self.kind is Integral:
            if self.high is None:
                return f"an integer >= {self.low}"
            if self.low is None:
                return f"an integer <= {self.high}"
            return f"an integer in [{self.low}, {self.high}]"
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        low = "-inf" if self.low is None else self.low
        high = "inf" if self.high is None else self.high
        return f"a real number in {left}{low}, {high}{right}"


class Options:
    """One of a set of option strings, in the order given; or, given a ``fastgd._core`` enum,
    the names of its members (sorted) and the members themselves."""

    def __init__(self, options: Any) -> None:
        self.enum = None if isinstance(options, (tuple, list)) else options
        self.names = sorted(options.__members__) if self.enum is not None else list(options)

    def check(self, value: Any, name: str) -> Any:
        if self.enum is not None:
            check_option(value, name, self.enum)
        elif not (isinstance(value, str) and value in self.names):
            raise ValueError(f"{name} must be one of {self.names}, got {value!r}")
        return value

    def accepts(self, value: Any) -> bool:
        return _accepts(self, value)

    def of_kind(self, value: Any) -> bool:
        return isinstance(value, str) or (self.enum is not None and isinstance(value, self.enum))

    @property
    def description(self) -> str:
        return f"one of {self.names}"


class Boolean:
    """True or False (``np.bool_`` too), not merely something truthy."""

    description = "a bool"

    def check(self, value: Any, name: str) -> bool:
        return check_bool(value, name)

    def accepts(self, value: Any) -> bool:
        return _accepts(self, value)

    of_kind = accepts


class Satisfies:
    """Values for which ``predicate`` holds (e.g. ``callable``); ``description`` says which, for
    the TypeError of any other value."""

    def __init__(self, predicate: Callable[[Any], bool], description: str) -> None:
        self.predicate, self.description = predicate, description

    def check(self, value: Any, name: str) -> Any:
        if not self.predicate(value):
            raise TypeError(f"{name} must be {self.description}, got {value!r}")
        return value

    def accepts(self, value: Any) -> bool:
        return bool(self.predicate(value))

    of_kind = accepts


class Instance(Satisfies):
    """Instances of ``types``."""

    def __init__(self, types: type | tuple[type, ...], description: str) -> None:
        super().__init__(lambda value: isinstance(value, types), description)


def _accepts(domain: Any, value: Any) -> bool:
    try:
        domain.check(value, "value")
    except (TypeError, ValueError):
        return False
    return True


def check_param(value: Any, name: str, constraints: list[Any] | None = None) -> Any:
    """``value`` of parameter ``name``, checked against its declared domains (default: its
    entry in :data:`SHARED_CONSTRAINTS`); returned as the accepting domain gives it (reals as
    float, integers as int).

    With one domain (and perhaps None) its own check raises; with several, the error lists them.
    """
    if constraints is None:
        constraints = SHARED_CONSTRAINTS[name]
    if value is None and None in constraints:
        return None
    domains = [c for c in constraints if c is not None]
    if len(domains) == 1:
        return domains[0].check(value, name)
    for domain in domains:
        if domain.accepts(value):
            return domain.check(value, name)
    names = ["None" if c is None else c.description for c in constraints]
    expected = ", ".join(names[:-1]) + " or " + names[-1]
    if any(domain.of_kind(value) for domain in domains):
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    raise TypeError(f"{name} must be {expected}, got {type(value).__name__} {value!r}")


def check_params(obj: Any, constraints: dict[str, list[Any]]) -> None:
    """Every parameter of ``constraints``, read from the same-named attribute of ``obj``."""
    for name, domains in constraints.items():
        check_param(getattr(obj, name), name, domains)


def check_threads(n_threads: Any, default: int) -> int:
    """``n_threads``: None means ``default`` (the OpenMP default); otherwise as declared."""
    n = check_param(n_threads, "n_threads")
    return default if n is None else n


#: The domains of the parameters that :mod:`fastgd.ops` shares with the estimators.
SHARED_CONSTRAINTS: dict[str, list[Any]] = {
    "alpha": [Interval(Real, 0, None)],
    "l1_ratio": [Interval(Real, 0, 1)],
    "epsilon": [Interval(Real, 0, None)],
    "label_smoothing": [Interval(Real, 0, 1)],
    "batch_size": [Interval(Integral, 1, None)],
    "n_threads": [None, Interval(Integral, 1, None)],
}
