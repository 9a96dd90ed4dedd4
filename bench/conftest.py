"""Benchmark options and the data sets, made once per session.

Run: ``python -m pytest bench`` (scale 1: the full sizes of problems.py) or, quick,
``python -m pytest bench --bench-scale 0.05``. The scale multiplies every problem's row count;
``FASTGD_BENCH_SCALE`` sets the default.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import problems as P


def pytest_addoption(parser):
    parser.addoption(
        "--bench-scale",
        type=float,
        default=float(os.environ.get("FASTGD_BENCH_SCALE", "1.0")),
        help="multiply the benchmark problems' row counts by this (default 1: the full sizes)",
    )


@pytest.fixture(scope="session")
def scale(request) -> float:
    return request.config.getoption("--bench-scale")


class Data:
    """A problem with its data, F(0) and the optimum F* of a direct solver."""

    def __init__(self, p: P.Problem):
        self.p = p
        self.X, self.y = P.make_data(p)
        self.f_star = P.optimum(p, self.X, self.y)
        self.f_zero = P.objective(p, self.X, self.y, np.zeros(p.d), 0.0)


_cache: dict[tuple[str, float], Data] = {}


@pytest.fixture(scope="session")
def data(scale):
    """data(name) -> Data, made on first use and kept for the session (one data set in memory
    at a time: the largest is 800 MB)."""

    def get(name: str) -> Data:
        key = (name, scale)
        if key not in _cache:
            _cache.clear()
            _cache[key] = Data(P.problems(scale)[name])
        return _cache[key]

    return get
