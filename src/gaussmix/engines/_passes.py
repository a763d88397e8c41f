"""What the engines share, as parts they hold rather than a class they inherit: centring and one pass.

:class:`ChunkPasses` runs the passes of an engine whose rows are cut into chunks of ``chunk_size`` rows
in one process (in memory, sparse, out of core): it knows how to visit the chunks in order, on a thread
pool when that pays, and how to add or concatenate the per-chunk results. The engine supplies only how
one chunk is read. Each engine keeps its own reading, centring and row access, so none of them is a
special case of another.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from typing import Callable, Iterable, Iterator, TypeVar

import numpy as np
from threadpoolctl import ThreadpoolController

__all__ = ["ChunkPasses", "centre", "lowest_rows", "ordered_map", "single_threaded_blas", "sum_in_order"]

T = TypeVar("T")

_BLAS_CONTROLLER: ThreadpoolController | None = None
_BLAS_LIBRARIES: list = []


def single_threaded_blas():
    """Limit BLAS to one thread while chunks run in parallel (workers, not BLAS, use the cores), and for
    ``n_jobs=1`` (one core was asked for; the compiled kernels' block-sized GEMMs gain nothing from BLAS
    threads either)."""
    global _BLAS_CONTROLLER, _BLAS_LIBRARIES
    if _BLAS_CONTROLLER is None:
        _BLAS_CONTROLLER = ThreadpoolController()
        _BLAS_LIBRARIES = [library for library in _BLAS_CONTROLLER.lib_controllers if library.user_api == "blas"]
    # Already one thread (e.g. a worker process of select_model): no limiter, which costs ~0.05 ms a call, as
    # much as a whole E-step of a small data set.
    if all(library.num_threads == 1 for library in _BLAS_LIBRARIES):
        return nullcontext()
    return _BLAS_CONTROLLER.limit(limits=1, user_api="blas")


def ordered_map(function: Callable, items: Iterable, n_jobs: int) -> Iterator:
    """``map(function, items)`` on ``n_jobs`` threads, yielding results in input order.

    At most ``2 * n_jobs`` items are in flight, so a lazily produced sequence of chunks is never
    materialised. The caller's reduction sees results in a fixed order, so sums do not depend on
    ``n_jobs`` or on thread scheduling.
    """
    if n_jobs <= 1:
        yield from map(function, items)
        return
    pool = _thread_pool(n_jobs)
    pending: deque = deque()
    try:
        for item in items:
            pending.append(pool.submit(function, item))
            if len(pending) >= 2 * n_jobs:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:  # an error or an abandoned generator: drop the queued work
            future.cancel()


_THREAD_POOLS: dict[int, ThreadPoolExecutor] = {}


def _thread_pool(n_jobs: int) -> ThreadPoolExecutor:
    """One long-lived pool per worker count: an EM pass should not pay for starting threads."""
    pool = _THREAD_POOLS.get(n_jobs)
    if pool is None:
        pool = _THREAD_POOLS[n_jobs] = ThreadPoolExecutor(max_workers=n_jobs, thread_name_prefix="gaussmix")
    return pool


if hasattr(os, "register_at_fork"):  # a forked child inherits the pools but not their threads
    os.register_at_fork(after_in_child=_THREAD_POOLS.clear)


ChunkFunction = Callable[[np.ndarray, np.ndarray], T]
"""``function(chunk, weights)``: a chunk of shape (rows, n_features) and its weights, shape (rows,)."""


def centre(rows: np.ndarray, offset: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Rows in the kernels' coordinates: ``rows - offset`` in float64, then in ``dtype`` (float32 or float64).

    Subtracting in float64 first keeps a large common offset from eating the float32 digits.
    """
    return np.subtract(rows, offset, dtype=np.float64).astype(dtype, copy=False)


def sum_in_order(results: Iterable[T]) -> T:
    """``results[0] + results[1] + ...`` left to right: a fixed order, so sums do not depend on threads."""
    total = None
    for result in results:
        total = result if total is None else total + result
    return total


def lowest_rows(chunks: Iterable[tuple[np.ndarray, np.ndarray]], score: Callable[[np.ndarray], np.ndarray],
                n_rows: int, n_features: int) -> np.ndarray:
    """The ``n_rows`` rows (with positive weight) of lowest ``score`` among ``chunks``, lowest first.

    One pass, keeping only a running shortlist of ``n_rows`` rows; ties keep the earlier row.

    Parameters
    ----------
    chunks : iterable of (ndarray of shape (rows, n_features), ndarray of shape (rows,))
        Chunks and their weights, in row order.
    score : callable
        ``score(chunk)`` -> ndarray of shape (rows,).
    n_rows, n_features : int

    Returns
    -------
    ndarray of shape (min(n_rows, n_samples), n_features)
    """
    best_scores = np.empty(0)
    best_rows = np.empty((0, n_features))
    for chunk, weights in chunks:
        scores = np.where(weights > 0, score(chunk), np.inf)
        candidates = np.concatenate([best_scores, scores])
        rows = np.concatenate([best_rows, chunk])
        keep = np.argsort(candidates, kind="stable")[:n_rows]
        best_scores, best_rows = candidates[keep], rows[keep]
    return best_rows


class ChunkPasses:
    """The passes over the chunks of one engine in this process: ``reduce``, ``map`` and chunk iteration.

    Parameters
    ----------
    n_samples, chunk_size, n_jobs : int
        Rows, rows per chunk (the last chunk may be shorter) and worker threads (already resolved).
    read : callable
        ``read(start, centred)`` -> ``(chunk, weights)`` for the chunk whose first row is ``start``;
        ``centred=False`` asks for the rows as stored. Worker threads call it concurrently when
        ``stream`` is None.
    stream : callable, optional
        ``stream(centred)`` -> the chunks in order, for sources that can only be read front to back (then
        the calling thread reads and the workers only compute). None: chunks are read by position.

    Notes
    -----
    Whatever ``n_jobs``, the per-chunk results are combined in chunk order (:func:`sum_in_order`), so a
    fit is the same bit for bit on one thread or many.
    """

    def __init__(self, n_samples: int, chunk_size: int, n_jobs: int,
                 read: Callable[[int, bool], tuple[np.ndarray, np.ndarray]],
                 stream: Callable[[bool], Iterator[tuple[np.ndarray, np.ndarray]]] | None = None):
        self.n_samples, self.chunk_size, self.n_jobs = n_samples, chunk_size, n_jobs
        self._read, self._stream = read, stream

    @property
    def parallel(self) -> bool:
        """Whether chunks go to a thread pool: several workers, and more than one chunk for them."""
        return self.n_jobs > 1 and self.n_samples > self.chunk_size

    def _blas(self):
        """One BLAS thread while chunks run in parallel (the workers use the cores), and for ``n_jobs=1``."""
        return single_threaded_blas() if self.n_jobs == 1 or self.parallel else nullcontext()

    def chunks(self, centred: bool = True) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(chunk, weights)`` in row order, read by the calling thread."""
        if self._stream is not None:
            return self._stream(centred)
        return (self._read(start, centred) for start in range(0, self.n_samples, self.chunk_size))

    def results(self, function: ChunkFunction, centred: bool = True) -> Iterator[T]:
        """``function(chunk, weights)`` for every chunk, in chunk order, possibly on several threads."""
        if not self.parallel:
            return (function(chunk, weights) for chunk, weights in self.chunks(centred))
        if self._stream is not None:
            return ordered_map(lambda pair: function(*pair), self.chunks(centred), self.n_jobs)
        # Random access: the workers read their own chunks.
        return ordered_map(lambda start: function(*self._read(start, centred)),
                           range(0, self.n_samples, self.chunk_size), self.n_jobs)

    def reduce(self, function: ChunkFunction, centred: bool = True) -> T:
        """``sum(function(chunk, weights))`` over the chunks, added in chunk order."""
        with self._blas():
            return sum_in_order(self.results(function, centred))

    def map(self, function: Callable[[np.ndarray, np.ndarray], np.ndarray], centred: bool = True) -> np.ndarray:
        """Row-wise results of ``function`` on every chunk, concatenated in row order."""
        with self._blas():
            return np.concatenate(list(self.results(function, centred)), axis=0)
