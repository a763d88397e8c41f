"""The Dask engine: each pass runs one task per block of rows on the workers and adds the results in a tree.

::

    block_k  --delayed(function)-->  result_k  --pairwise delayed(+)-->  one result  --> client

``function`` (the E-step with the current parameters inside it), the offset and the dtype are one
object in the task graph of a pass, so they travel to each worker once per pass; the blocks stay where
they are; only per-block results (K x d x d numbers for EM statistics) move, and the client receives one.
A worker lost in the middle of a pass costs only the recomputation of its blocks: Dask reruns their
tasks elsewhere (from the array's own graph, or from the persisted copies' lineage).

Works with whichever scheduler is active: a ``dask.distributed.Client`` or the local threaded one.
"""

from __future__ import annotations

import operator
from typing import Callable, Iterator, TypeVar

import numpy as np

from .._floating import data_dtype
from ..exceptions import DataError
from ._passes import centre, sum_in_order
from ._values import check_values
from .memory import first_chunk_offset, resolve_chunk_size, resolve_n_jobs

__all__ = ["DaskEngine", "is_dask_array"]

T = TypeVar("T")


def is_dask_array(X) -> bool:
    """Whether ``X`` is a ``dask.array.Array`` (without importing dask when it is not installed)."""
    return type(X).__module__.startswith("dask.array") and hasattr(X, "to_delayed")


class _PassContext:
    """What every block task of one pass needs: the per-chunk function, the offset, the kernel dtype, the
    rows per chunk (a block is processed in chunks the size the in-memory engine uses: the kernel's
    temporaries stay in cache however large the blocks are) and whether NaN marks a missing value."""

    def __init__(self, function: Callable, offset: np.ndarray, dtype: np.dtype, chunk_size: int,
                 allow_missing: bool = False, centred: bool = True):
        self.function, self.offset, self.dtype, self.chunk_size = function, offset, dtype, chunk_size
        self.allow_missing = allow_missing
        self.centred = centred

    def results(self, chunk: np.ndarray, weights: np.ndarray) -> Iterator:
        for start in range(0, chunk.shape[0], self.chunk_size):
            stop = start + self.chunk_size
            yield self.function(chunk[start:stop], weights[start:stop])


def _checked(block: np.ndarray, start: int, allow_missing: bool) -> np.ndarray:
    block = np.asarray(block)
    check_values(block, start, allow_missing=allow_missing, source="dask array", column_name=str,
                 where=f"block of rows {start}-{start + block.shape[0] - 1}")
    return block


def _checked_centred(block: np.ndarray, start: int, context: _PassContext) -> np.ndarray:
    """The block checked, and centred unless the pass asked for the rows as stored."""
    block = _checked(block, start, context.allow_missing)
    if not context.centred:
        return np.ascontiguousarray(block)
    return centre(block, context.offset, context.dtype)


def _block_and_weights(context: _PassContext, block: np.ndarray, weights, start: int):
    chunk = _checked_centred(block, start, context)
    return chunk, (np.ones(chunk.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64))


def _sum(context: _PassContext, block: np.ndarray, weights, start: int):
    """The block's chunk results added in order."""
    return sum_in_order(context.results(*_block_and_weights(context, block, weights, start)))


def _concatenate(context: _PassContext, block: np.ndarray, weights, start: int) -> np.ndarray:
    """The block's row-wise results."""
    return np.concatenate(list(context.results(*_block_and_weights(context, block, weights, start))), axis=0)


def _lowest(context: _PassContext, block: np.ndarray, weights, start: int, n_rows: int):
    """A block's shortlist for ``rows_with_lowest``: its ``n_rows`` rows of lowest score, lowest first."""
    chunk = _checked_centred(block, start, context)
    scores = np.concatenate([context.function(chunk[i:i + context.chunk_size])
                             for i in range(0, chunk.shape[0], context.chunk_size)])
    if weights is not None:
        scores = np.where(np.asarray(weights) > 0, scores, np.inf)
    keep = np.argsort(scores, kind="stable")[:n_rows]
    return scores[keep], chunk[keep]


class DaskEngine:
    """Chunks of a ``dask.array`` (rows split into blocks, all columns in each), processed where they live.

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features)
        Numeric. Persist it first (``X = X.persist()`` or ``client.persist(X)``) when it fits in the
        cluster's memory; otherwise every pass recomputes it from its graph (e.g. re-reads the files).
    sample_weight : ndarray or dask array of shape (n_samples,), optional
    offset : ndarray of shape (n_features,), optional
        Defaults to the mean of the first ``chunk_size`` rows (the in-memory engine's rule).
    chunk_size : int, optional
        Rows per chunk within a block (default: :func:`~gaussmix.engines.memory.resolve_chunk_size`, the
        in-memory engine's rule, so both cut the same chunks and take the same offset). The array keeps
        its own blocks (of any number of rows); the columns are gathered into one block.
    n_jobs : int or None, optional
        Only sizes the default chunks, as for the in-memory engine; Dask's workers decide the parallelism.
    n_components : int
    allow_missing : bool, default=False
        NaN entries are missing values, not errors (``missing='em'``).
    """

    in_memory = False

    def __init__(self, X, sample_weight=None, *, offset: np.ndarray | None = None, chunk_size: int | None = None,
                 n_jobs: int | None = None, n_components: int = 1, allow_missing: bool = False):
        import dask.array as da

        self.allow_missing = bool(allow_missing)
        if X.ndim != 2:
            raise DataError(f"dask array: expected 2-D data (rows, features), got shape {X.shape}")
        if X.dtype.kind not in "biuf":
            raise DataError(f"dask array: data must be numeric, got dtype {X.dtype}")
        if any(np.isnan(size) for size in X.shape):
            X = X.compute_chunk_sizes()
        X = X.rechunk({1: -1})  # whole rows in each block
        self.X = X
        self.dtype = data_dtype(X.dtype)
        self.n_jobs = resolve_n_jobs(n_jobs)
        self.chunk_size = resolve_chunk_size(chunk_size, int(X.shape[0]), int(X.shape[1]), n_components,
                                             self.n_jobs)
        self._starts = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]]).astype(int)
        self._blocks = list(X.to_delayed().ravel())
        if sample_weight is None:
            self.sample_weight = None
            self._weight_blocks = [None] * len(self._blocks)
            self._weight_sum = float(X.shape[0])
        else:
            # Persisted once, aligned with the blocks: the weights are not sent again with every pass.
            weights = da.asarray(sample_weight).astype(np.float64).rechunk((X.chunks[0],)).persist()
            self.sample_weight = sample_weight
            self._persisted_weights = weights  # holds the persisted blocks (on a cluster, their futures)
            self._weight_blocks = list(weights.to_delayed().ravel())
            self._weight_sum = float(weights.sum().compute())
        if offset is None:  # the in-memory engine's rule, on the chunks it would cut
            offset = first_chunk_offset(_checked(X[start:start + self.chunk_size].compute(), start, self.allow_missing)
                                        for start in range(0, self.n_samples, self.chunk_size))
        self.offset = np.asarray(offset, dtype=np.float64)

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def weight_sum(self) -> float:
        return self._weight_sum

    def centred(self, rows: np.ndarray) -> np.ndarray:
        """Rows in the kernel's coordinates: offset removed in float64, then in the engine's dtype."""
        return centre(rows, self.offset, self.dtype)

    def _tasks(self, kernel: Callable, function: Callable, *extra, centred: bool = True) -> list:
        """One delayed ``kernel(context, block, weights, start, *extra)`` per block; the context is one node."""
        from dask import delayed

        context = delayed(_PassContext(function, self.offset, self.dtype, self.chunk_size, self.allow_missing,
                                       centred), pure=False)
        return [delayed(kernel, pure=True)(context, block, weights, int(start), *extra)
                for block, weights, start in zip(self._blocks, self._weight_blocks, self._starts)]

    def reduce(self, function: Callable[[np.ndarray, np.ndarray], T], centred: bool = True) -> T:
        """``sum(function(chunk, weights))`` over the blocks, added pairwise in a tree on the workers.

        ``centred=False`` hands ``function`` the rows as stored, as for the in-memory engine.
        """
        from dask import delayed

        level = self._tasks(_sum, function, centred=centred)
        while len(level) > 1:  # neighbours first: a fixed order, and log2(blocks) rounds
            level = [delayed(operator.add, pure=True)(level[i], level[i + 1]) if i + 1 < len(level) else level[i]
                     for i in range(0, len(level), 2)]
        return level[0].compute()

    def map(self, function: Callable[[np.ndarray, np.ndarray], np.ndarray], centred: bool = True) -> np.ndarray:
        """Row-wise results of ``function`` on every block, concatenated in row order (a numpy array)."""
        import dask

        return np.concatenate(dask.compute(*self._tasks(_concatenate, function, centred=centred)), axis=0)

    def chunks(self, centred: bool = True) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(centred_chunk, weights)`` block by block, each computed and brought to the client."""
        for start, size, block, weights in zip(self._starts, self.X.chunks[0], self._blocks, self._weight_blocks):
            chunk = _checked_centred(block.compute(), int(start),
                                     _PassContext(None, self.offset, self.dtype, size, self.allow_missing,
                                                  centred))
            yield chunk, (np.ones(size) if weights is None else np.asarray(weights.compute(), dtype=np.float64))

    def raw_rows(self, indices: np.ndarray) -> np.ndarray:
        """Uncentred rows at the given positions (any order, repeats allowed), as numpy."""
        unique, inverse = np.unique(np.asarray(indices, dtype=np.int64), return_inverse=True)
        return np.asarray(self.X[unique].compute())[inverse]

    def rows(self, indices: np.ndarray) -> np.ndarray:
        """Centred rows at the given positions, as numpy."""
        return self.centred(self.raw_rows(indices))

    def raw_weights(self, indices: np.ndarray) -> np.ndarray | None:
        """Weights at the given positions (None when all are one)."""
        if self.sample_weight is None:
            return None
        import dask.array as da

        unique, inverse = np.unique(np.asarray(indices, dtype=np.int64), return_inverse=True)
        return np.asarray(da.asarray(self.sample_weight)[unique].compute(), dtype=np.float64)[inverse]

    def rows_with_lowest(self, score: Callable[[np.ndarray], np.ndarray], n_rows: int) -> np.ndarray:
        """The ``n_rows`` centred rows (with positive weight) of lowest ``score``: shortlists per block."""
        import dask

        shortlists = dask.compute(*self._tasks(_lowest, score, n_rows))
        scores = np.concatenate([s for s, _ in shortlists])
        rows = np.concatenate([r for _, r in shortlists])
        return rows[np.argsort(scores, kind="stable")[:n_rows]]
