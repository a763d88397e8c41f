"""The sparse engine: a SciPy CSR matrix in RAM, visited in row chunks that stay sparse.

Centring would make every entry non-zero, so this engine never centres: its offset is zero and its
chunks are CSR row slices (``scipy.sparse.csr_array``, whose ``*`` is element-wise). The kernels that
accept sparse chunks (k-means: :func:`gaussmix.families.kmeans.squared_distances`, :func:`~gaussmix.families.kmeans.assign`)
work from ``x . c`` products and row norms, which cost O(nnz) per centre, never O(n d). Sparse data are
non-negative counts or frequencies in practice, with no large common offset to lose precision to.
Rows handed out individually (seeds, re-seeded centres) are dense, as centres are.
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
from scipy import sparse

from .._floating import data_dtype
from ._passes import ChunkPasses
from .memory import HeldRows, resolve_chunk_size, resolve_n_jobs

__all__ = ["SparseEngine", "is_sparse", "row_squared_norms"]


def is_sparse(X) -> bool:
    """A SciPy sparse matrix or array."""
    return sparse.issparse(X)


def row_squared_norms(rows) -> np.ndarray:
    """``||x_n||^2`` of every row of a dense or sparse 2-D array, shape (n_rows,), in the rows' dtype."""
    if is_sparse(rows):
        return np.asarray(rows.multiply(rows).sum(axis=1)).ravel()
    return np.einsum("ij,ij->i", rows, rows)


class SparseEngine(HeldRows):
    """Chunks of a CSR matrix, as they are stored (never centred), with their sample weights.

    An engine (:class:`~gaussmix.engines.Engine`) in its own right: it shares the passes
    (:class:`~gaussmix.engines._passes.ChunkPasses`) and the sizes (:class:`~gaussmix.engines.memory.HeldRows`) with
    the in-memory engine, not its centring.

    Parameters
    ----------
    X : sparse matrix or array of shape (n_samples, n_features)
        Validated data (float32 or float64, finite); converted to ``csr_array`` without copying the
        entries when it already is CSR. Never modified.
    sample_weight : ndarray of shape (n_samples,), optional
        Non-negative weights; ones if omitted.
    chunk_size, n_jobs, n_components
        As for :class:`~gaussmix.engines.memory.InMemoryEngine`; automatic chunks are sized by the stored
        entries per row, not by the number of features.
    """

    in_memory = True

    def __init__(self, X, sample_weight: np.ndarray | None = None, *, chunk_size: int | None = None,
                 n_jobs: int | None = 1, n_components: int = 1):
        X = sparse.csr_array(X)
        X.sort_indices()
        self.X = X
        n_samples, n_features = X.shape
        self.sample_weight = np.ones(n_samples) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        self.n_jobs = resolve_n_jobs(n_jobs)
        stored_per_row = max(1, -(-X.nnz // max(1, n_samples)))
        # Sized by the stored entries per row: a chunk's temporaries grow with them, not with n_features.
        self.chunk_size = resolve_chunk_size(chunk_size, n_samples, stored_per_row, n_components, self.n_jobs)
        self.offset = np.zeros(n_features)  # never centred: centring would fill in every entry
        self.dtype = data_dtype(X.dtype)
        self._passes = ChunkPasses(n_samples, self.chunk_size, self.n_jobs, self._chunk)

    def with_chunk_size(self, chunk_size: int) -> "SparseEngine":
        """The same data, visited in chunks of another size."""
        return SparseEngine(self.X, self.sample_weight, chunk_size=chunk_size, n_jobs=self.n_jobs)

    def _chunk(self, start: int, centred: bool = True):
        stop = start + self.chunk_size
        rows = self.X[start:stop]
        return (self.centred(rows) if centred else rows), self.sample_weight[start:stop]

    def chunks(self, centred: bool = True) -> Iterator[tuple]:
        """Yield ``(chunk, weights)``: CSR row slices in the engine's dtype (``centred`` changes nothing)."""
        return self._passes.chunks(centred)

    def reduce(self, function: Callable, centred: bool = True):
        """``sum(function(chunk, weights))`` over the sparse chunks, in chunk order."""
        return self._passes.reduce(function, centred)

    def map(self, function: Callable, centred: bool = True) -> np.ndarray:
        """Row-wise results of ``function`` on every sparse chunk, concatenated in row order."""
        return self._passes.map(function, centred)

    def centred(self, rows):
        """Rows as stored, in the engine's dtype (the offset is zero): sparse rows stay sparse."""
        if is_sparse(rows):
            return rows.astype(self.dtype, copy=False)
        return np.asarray(rows, dtype=self.dtype)

    def rows(self, indices: np.ndarray) -> np.ndarray:
        """Dense rows at the given positions."""
        return self.X[np.asarray(indices)].toarray().astype(self.dtype, copy=False)

    def raw_rows(self, indices: np.ndarray) -> np.ndarray:
        """Dense rows at the given positions (the offset is zero: the same as :meth:`rows`)."""
        return self.rows(indices)

    def raw_weights(self, indices: np.ndarray) -> np.ndarray:
        """Weights at the given positions."""
        return self.sample_weight[np.asarray(indices)]

    def rows_with_lowest(self, score: Callable, n_rows: int) -> np.ndarray:
        """The ``n_rows`` dense rows (with positive weight) of lowest ``score``, lowest first."""
        scores = self.map(lambda chunk, weights: np.where(weights > 0, score(chunk), np.inf))
        return self.rows(np.argsort(scores, kind="stable")[:n_rows])
