"""The in-memory engine: an array in RAM, visited in row chunks sized by a memory budget."""

from __future__ import annotations

import itertools
import os
import warnings
from typing import Callable, Iterable, Iterator, TypeVar

import numpy as np

from .._floating import data_dtype
# ordered_map and the BLAS limiter live with the passes; imported here under their old names, which other
# modules use (gaussmix.families.conditional imports _single_threaded_blas).
from ._passes import ChunkPasses, centre, lowest_rows, ordered_map  # noqa: F401
from ._passes import single_threaded_blas as _single_threaded_blas  # noqa: F401

__all__ = ["InMemoryEngine", "auto_chunk_size", "first_chunk_offset", "resolve_chunk_size", "DEFAULT_MEMORY_BUDGET"]

T = TypeVar("T")

DEFAULT_MEMORY_BUDGET = 16 * 2**20
"""Bytes of per-chunk temporaries the kernel may use; small enough to stay near the caches."""


def available_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def resolve_n_jobs(n_jobs: int | None) -> int:
    """scikit-learn's convention: None means all cores here, -1 all cores, -2 all but one, ..."""
    cores = available_cores()
    if n_jobs is None:
        return cores
    if n_jobs < 0:
        return max(1, cores + 1 + n_jobs)
    return max(1, int(n_jobs))


MIN_PARALLEL_CHUNK = 2048
"""Rows below which splitting a chunk further for more threads costs more than it gains."""


def auto_chunk_size(n_features: int, n_components: int, memory_budget: int = DEFAULT_MEMORY_BUDGET,
                    n_samples: int | None = None, n_jobs: int = 1) -> int:
    """Rows per chunk so that the per-chunk temporaries fit in ``memory_budget`` bytes.

    The widest per-row temporaries of the NumPy paths are the responsibilities and log-densities (K per
    row each) and a centred copy of the chunk and a residual (d per row each); wider ones (the whitened
    residuals of 'full', K x d per row) are formed in sub-blocks of bounded size. The compiled E-step
    kernels need nothing per row beyond a cache-sized block, so large chunks cost them no memory and save
    per-chunk overhead. Given ``n_samples`` and ``n_jobs``, the number of chunks is a multiple of
    ``n_jobs`` (every worker gets the same share) unless that makes chunks smaller than
    :data:`MIN_PARALLEL_CHUNK`.
    """
    bytes_per_row = 8 * (2 * n_components + 2 * n_features + 2)
    rows = int(np.clip(memory_budget // bytes_per_row, 256, 65536))
    if n_samples is not None and n_jobs > 1:
        n_chunks = -(-n_samples // rows)
        n_chunks = -(-n_chunks // n_jobs) * n_jobs  # a multiple of n_jobs: balanced workers
        rows = min(rows, max(MIN_PARALLEL_CHUNK, -(-n_samples // n_chunks)))
    return rows


def resolve_chunk_size(chunk_size: int | None, n_samples: int, n_features: int, n_components: int,
                       n_jobs: int) -> int:
    """Rows per chunk of every engine: ``chunk_size`` if given, else :func:`auto_chunk_size` for the data's
    shape, the model's ``n_components`` and ``n_jobs`` (already resolved by :func:`resolve_n_jobs`).

    One rule for all engines, so that the same data cut into chunks in memory, out of core or on Dask
    give the same chunks and the same offset (the mean of the first chunk).
    """
    if chunk_size:
        return int(chunk_size)
    return auto_chunk_size(n_features, n_components, n_samples=n_samples, n_jobs=n_jobs)


def first_chunk_offset(chunks: Iterable[np.ndarray]) -> np.ndarray:
    """The offset every engine centres by: the mean of the first chunk, shape (n_features,), float64.

    With missing values (NaN) each feature takes the mean of its observed values in the first chunk that
    has any, so ``chunks`` is read only until every feature has been seen (one chunk unless a feature is
    missing throughout it); a feature never observed gets zero (the estimators reject it). Any point works
    as an offset; one near the data keeps the moments well conditioned. Engines that cut the same chunks
    get the same offset.
    """
    chunks = iter(chunks)
    first = np.asarray(next(chunks), dtype=np.float64)
    offset = first.mean(axis=0)
    if np.all(np.isfinite(offset)):
        return offset
    offset = np.full(offset.shape, np.nan)
    for chunk in itertools.chain([first], chunks):
        unseen = np.isnan(offset)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # "mean of empty slice" for all-NaN columns
            offset[unseen] = np.nanmean(np.asarray(chunk, dtype=np.float64)[:, unseen], axis=0)
        if not np.isnan(offset).any():
            break
    return np.nan_to_num(offset, nan=0.0)


class HeldRows:
    """The sizes of an engine that holds its rows (``X``, dense or sparse) and ``sample_weight`` in memory."""

    X: object
    sample_weight: np.ndarray

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def weight_sum(self) -> float:
        return float(self.sample_weight.sum())


class InMemoryEngine(HeldRows):
    """Chunks of an in-memory array, centred by a fixed offset and paired with their sample weights.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Validated data (float32 or float64): finite, or with NaN for missing values. Never modified.
    sample_weight : ndarray of shape (n_samples,), optional
        Non-negative weights; ones if omitted.
    offset : ndarray of shape (n_features,), optional
        The point subtracted from every row. Defaults to the mean of the first chunk (of the observed
        values, with NaN: :func:`first_chunk_offset`), which is enough to remove a large common offset and
        can be computed in one look at the data by any engine.
    chunk_size : int, optional
        Rows per chunk; default from :func:`resolve_chunk_size` (``n_components`` and ``n_jobs`` size it).
    n_jobs : int or None, optional
        Threads that process chunks concurrently (None: all cores). Results do not depend on it:
        per-chunk results are always combined in chunk order.
    n_components : int, optional
        Components (or clusters) of the model the chunks are for; sizes the automatic chunks.
    """

    in_memory = True

    def __init__(self, X: np.ndarray, sample_weight: np.ndarray | None = None, *,
                 offset: np.ndarray | None = None, chunk_size: int | None = None, n_jobs: int | None = 1,
                 n_components: int = 1):
        self.X = X
        n_samples, n_features = X.shape
        self.sample_weight = np.ones(n_samples) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        self.n_jobs = resolve_n_jobs(n_jobs)
        self.chunk_size = resolve_chunk_size(chunk_size, n_samples, n_features, n_components, self.n_jobs)
        if offset is None:
            offset = first_chunk_offset(X[start:start + self.chunk_size]
                                        for start in range(0, n_samples, self.chunk_size))
        self.offset = np.asarray(offset, dtype=np.float64)
        # float32 data stay float32 in the kernel (float32 BLAS, half the memory traffic); statistics
        # are still accumulated in float64.
        self.dtype = data_dtype(X.dtype)
        self._passes = ChunkPasses(n_samples, self.chunk_size, self.n_jobs, self._chunk)

    def with_chunk_size(self, chunk_size: int) -> "InMemoryEngine":
        """The same data and offset, visited in chunks of another size."""
        return InMemoryEngine(self.X, self.sample_weight, offset=self.offset, chunk_size=chunk_size, n_jobs=self.n_jobs)

    def chunks(self, centred: bool = True) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(centred_chunk, sample_weight_chunk)``; the chunk is a new array of the engine's dtype.

        With ``centred=False`` the chunk holds the rows as stored (views of ``X``, no copy): the caller
        subtracts :attr:`offset` itself, as the compiled kernels do block by block in cache, which saves
        a pass through memory (see :meth:`reduce`).
        """
        return self._passes.chunks(centred)

    def _chunk(self, start: int, centred: bool = True) -> tuple[np.ndarray, np.ndarray]:
        stop = start + self.chunk_size
        rows = self.X[start:stop]
        return (self.centred(rows) if centred else rows), self.sample_weight[start:stop]

    def centred(self, rows: np.ndarray) -> np.ndarray:
        """Rows in the kernel's coordinates: offset removed in float64, then in the engine's dtype."""
        return centre(rows, self.offset, self.dtype)

    def reduce(self, function: Callable[[np.ndarray, np.ndarray], T], centred: bool = True) -> T:
        """``sum(function(chunk, weights) for every chunk)`` in chunk order (results support ``+``).

        ``centred=False`` hands ``function`` the rows as stored (see :meth:`chunks`); every engine
        accepts it.
        """
        return self._passes.reduce(function, centred)

    def map(self, function: Callable[[np.ndarray, np.ndarray], np.ndarray], centred: bool = True) -> np.ndarray:
        """Row-wise results of ``function`` on every chunk, concatenated in row order."""
        return self._passes.map(function, centred)

    def rows(self, indices: np.ndarray) -> np.ndarray:
        """Centred rows at the given positions."""
        return self.centred(self.X[np.asarray(indices)])

    def raw_rows(self, indices: np.ndarray) -> np.ndarray:
        """Rows as stored at the given positions (any order, repeats allowed)."""
        return self.X[np.asarray(indices)]

    def raw_weights(self, indices: np.ndarray) -> np.ndarray:
        """Weights at the given positions."""
        return self.sample_weight[np.asarray(indices)]

    def rows_with_lowest(self, score: Callable[[np.ndarray], np.ndarray], n_rows: int) -> np.ndarray:
        """The ``n_rows`` centred rows (with positive weight) of lowest ``score``, lowest first.

        Used to re-seed degenerate components at the points the model explains worst; one pass,
        keeping only a running shortlist.
        """
        return lowest_rows(self.chunks(), score, n_rows, self.n_features)
