"""Small real data sets that ship inside the package."""

from __future__ import annotations

import csv
from importlib import resources

import numpy as np

__all__ = ["load_faithful"]


def load_faithful() -> tuple[np.ndarray, list[str]]:
    """Old Faithful geyser data (R ``datasets::faithful``): 272 eruptions x (eruptions, waiting).

    ``eruptions`` is the eruption time and ``waiting`` the time to the next eruption, both in minutes.
    Source: Härdle (1991), *Smoothing Techniques with Implementation in S*; Azzalini & Bowman (1990).

    Returns
    -------
    X : ndarray of shape (272, 2)
    feature_names : list of str
    """
    with resources.files("gaussmix").joinpath("data/faithful.csv").open(encoding="utf-8") as stream:
        rows = list(csv.reader(stream))
    return np.array(rows[1:], dtype=np.float64), rows[0]
