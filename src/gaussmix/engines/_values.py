"""What a chunk read from a source may hold: finite numbers, or also NaN (a missing value) when asked.

Files, iterables and dask arrays are checked chunk by chunk as they are read (in-memory arrays are
validated whole by the estimators). The policy is the estimator's ``missing``:

* values must be finite (``missing='error'``): NaN, a null or an empty field, or infinity is an error;
* missing values allowed (``missing='em'``): NaN marks a missing value, infinity is still an error, and
  so is a row with every feature missing (it carries no information).

Each reader names the offending entry in its own terms (file and column, or block of a dask array).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..exceptions import DataError

__all__ = ["check_values"]


def _first(mask: np.ndarray) -> tuple[int, int]:
    rows, cols = np.nonzero(mask)
    return int(rows[0]), int(cols[0])


def check_values(block: np.ndarray, start: int, *, allow_missing: bool, source: str,
                 column_name: Callable[[int], str], where: str) -> None:
    """Raise a :class:`DataError` for the first entry of ``block`` a fit cannot use.

    Parameters
    ----------
    block : ndarray of shape (n_rows, n_features)
        Numeric values as read, rows ``start, start + 1, ...`` of the source.
    start : int
        Position of the block's first row in the source (rows are named by their position).
    allow_missing : bool
        Whether NaN is a missing value (see the module docstring).
    source : str
        What the data are, for the message (a path, ``'dask array'``).
    column_name : callable
        Column position in the block -> its name in messages.
    where : str
        The block's place in the source, for the message (e.g. ``'rows 0-999 of the source'``).
    """
    if not allow_missing:
        finite = np.isfinite(block)
        if not finite.all():
            row, col = _first(~finite)
            raise DataError(
                f"{source}: column {column_name(col)} has a missing, NaN or infinite value at row {start + row} "
                f"({where}); remove or impute such rows first, or fit with missing='em' to treat NaN and empty "
                "values as missing at random")
        return
    infinite = np.isinf(block)
    if infinite.any():
        row, col = _first(infinite)
        raise DataError(f"{source}: column {column_name(col)} has an infinite value at row {start + row} ({where}); "
                        "only NaN (a null or an empty field) marks a missing value")
    missing = np.isnan(block)
    if missing.any() and block.shape[1]:
        empty = np.flatnonzero(missing.all(axis=1))
        if empty.size:
            raise DataError(f"{source}: row {start + int(empty[0])} has every feature missing ({where}); it carries "
                            "no information: drop it")
