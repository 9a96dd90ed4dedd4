"""Small real data sets shipped inside the package (their sources and licences:
``fastgd/datasets/README.md``).

- :func:`load_penguins`: the body mass of 333 Palmer penguins from their bill, flipper, sex,
  species and island (CC0): a regression where a linear model explains most of the variance.
"""

from __future__ import annotations

from importlib import resources
from typing import NamedTuple

import numpy as np

__all__ = ["Table", "load_penguins"]


class Table(NamedTuple):
    """A data set: ``X`` (n, d) float64, ``y`` (n,) float64, ``feature_names`` (d names),
    ``target_name`` and a one-paragraph ``description``."""

    X: np.ndarray
    y: np.ndarray
    feature_names: list
    target_name: str | None
    description: str


def load_penguins() -> Table:
    """The Palmer penguins (Gorman, Williams and Fraser 2014; CC0): ``body_mass_g`` of 333
    penguins from ``bill_length_mm``, ``bill_depth_mm``, ``flipper_length_mm``, ``male`` and
    one-hot species (``chinstrap``, ``gentoo``; Adélie the baseline) and islands
    (``island_dream``, ``island_torgersen``; Biscoe the baseline)."""
    from ..io import read_data  # the CSV reader: NumPy only

    with resources.as_file(resources.files(__name__) / "penguins.csv") as path:
        data = read_data(path)
    description = (
        "Palmer penguins (Gorman, Williams & Fraser 2014, CC0): body mass in grams of 333 "
        "adult penguins near Palmer Station, Antarctica, from bill and flipper measurements, "
        "sex, species and island."
    )
    return Table(data.X, data.y, data.feature_names, data.target_name, description)
