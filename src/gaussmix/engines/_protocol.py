"""The engine interface: everything the rest of the library asks of the object that holds the rows.

An engine decides where the rows live and how per-chunk results are combined; nothing else. The model code
(E-steps, initialisation, prediction) sees rows only through these members, so the same fit runs in memory,
out of core and on Dask. ``n`` is the number of rows, ``d`` of features, ``r`` the rows of one chunk.

Coordinates: every chunk handed to a function is *centred* by default, ``rows - offset`` computed in float64
and then stored in :attr:`Engine.dtype`; results in centred coordinates are turned back by adding
:attr:`Engine.offset`. With ``centred=False`` a pass hands over the rows as stored, for kernels that
subtract the offset themselves block by block in cache.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Protocol, TypeVar, runtime_checkable

import numpy as np

__all__ = ["Engine"]

T = TypeVar("T")


@runtime_checkable
class Engine(Protocol):
    """What every engine provides (:class:`~gaussmix.engines.InMemoryEngine`,
    :class:`~gaussmix.engines.OutOfCoreEngine`, :class:`~gaussmix.engines.DaskEngine`,
    :class:`~gaussmix.engines.SparseEngine`).

    Attributes
    ----------
    n_samples : int
        Rows, ``n``.
    n_features : int
        Columns, ``d``.
    weight_sum : float
        ``sum_n w_n`` (``n`` when no weights were given).
    offset : ndarray of shape (d,), float64
        The point subtracted from every row (the mean of the first chunk unless given; zero for sparse
        data, which are never centred). Fixed for the engine's life, so statistics of all passes add up.
    dtype : numpy.dtype
        float32 or float64: the dtype of the chunks handed to functions (statistics are float64 anyway).
    chunk_size : int
        Rows per chunk (the last may be shorter); the same rule in every engine, so that the same rows
        give the same chunks and the same offset.
    n_jobs : int
        Worker threads of a pass (resolved: at least 1). Results never depend on it.
    sample_weight : ndarray of shape (n,) or None
        The weights; None means all ones and happens only where rows are not in memory (out of core,
        Dask). In-memory engines always hold an array.
    X : object
        The rows as held: an ndarray (in memory), a CSR array (sparse), a
        :class:`~gaussmix.engines.Dataset` (out of core) or a ``dask.array`` (Dask). Only code that needs
        every row at once reads it, and only when :attr:`in_memory` is true.
    in_memory : bool
        Whether :attr:`X` is an in-memory array that an initialisation may read whole; otherwise it
        runs on :func:`~gaussmix.engines.initialisation_engine`'s sample.
    """

    n_samples: int
    n_features: int
    weight_sum: float
    offset: np.ndarray
    dtype: np.dtype
    chunk_size: int
    n_jobs: int
    sample_weight: np.ndarray | None
    X: Any
    in_memory: bool

    def chunks(self, centred: bool = True) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(chunk, weights)`` in row order, read in this process.

        Parameters
        ----------
        centred : bool, default=True
            Centred chunks (see the module docstring), or the rows as stored.

        Yields
        ------
        chunk : ndarray of shape (r, d)
        weights : ndarray of shape (r,), float64
        """
        ...

    def reduce(self, function: Callable[[np.ndarray, np.ndarray], T], centred: bool = True) -> T:
        """``sum(function(chunk, weights) for every chunk)``: one pass, results added with ``+``.

        Parameters
        ----------
        function : callable
            ``function(chunk, weights)`` with ``chunk`` of shape (r, d) and ``weights`` of shape (r,);
            returns a value supporting ``+`` (an ndarray, a float, a statistics object). Pure: it may run
            on several threads or Dask workers at once.
        centred : bool, default=True

        Returns
        -------
        The sum, added in a fixed order (chunk order, or a fixed tree on Dask), so a pass does not depend
        on scheduling.
        """
        ...

    def map(self, function: Callable[[np.ndarray, np.ndarray], np.ndarray], centred: bool = True) -> np.ndarray:
        """Row-wise results of ``function(chunk, weights)`` (leading axis r) concatenated in row order.

        Returns
        -------
        ndarray of shape (n, ...)
            A numpy array whatever the engine.
        """
        ...

    def centred(self, rows: np.ndarray) -> np.ndarray:
        """``rows`` (shape (r, d), user coordinates) in the engine's coordinates and dtype."""
        ...

    def rows(self, indices: np.ndarray) -> np.ndarray:
        """Centred rows at the positions ``indices`` (shape (m,), any order), shape (m, d), dense."""
        ...

    def raw_rows(self, indices: np.ndarray) -> np.ndarray:
        """Rows as stored at the positions ``indices`` (any order, repeats allowed), shape (m, d)."""
        ...

    def raw_weights(self, indices: np.ndarray) -> np.ndarray | None:
        """Weights at the positions ``indices``, shape (m,); None when all weights are one and not held."""
        ...

    def rows_with_lowest(self, score: Callable[[np.ndarray], np.ndarray], n_rows: int) -> np.ndarray:
        """The ``n_rows`` centred rows with positive weight of lowest ``score``, lowest first.

        Parameters
        ----------
        score : callable
            ``score(chunk)`` for a centred chunk of shape (r, d) -> shape (r,).
        n_rows : int

        Returns
        -------
        ndarray of shape (min(n_rows, n), d)
            Where degenerate components are re-seeded: the rows the model explains worst.
        """
        ...
