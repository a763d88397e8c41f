"""The sparse engine: a SciPy CSR matrix in RAM, visited in row chunks that stay sparse.

Centring would make every entry non-zero, so this engine never centres: its offset is zero and its
chunks are CSR row slices (``scipy.sparse.csr_array``, whose ``*`` is element-wise). The kernels that
accept sparse chunks (k-means: :func:`gaussmix.kmeans.squared_distances`, :func:`~gaussmix.kmeans.assign`)
work from ``x . c`` products and row norms, which cost O(nnz) per centre, never O(n d). Sparse data are
non-negative counts or frequencies in practice, with no large common offset to lose precision to.
Rows handed out individually (seeds, re-seeded centres) are dense, as centres are.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy import sparse

from .memory import InMemoryEngine, auto_chunk_size, resolve_n_jobs

__all__ = ["SparseEngine", "is_sparse", "row_squared_norms"]


def is_sparse(X) -> bool:
    """A SciPy sparse matrix or array."""
    return sparse.issparse(X)


def row_squared_norms(rows) -> np.ndarray:
    """``||x_n||^2`` of every row of a dense or sparse 2-D array, shape (n_rows,), in the rows' dtype."""
    if is_sparse(rows):
        return np.asarray(rows.multiply(rows).sum(axis=1)).ravel()
    return np.einsum("ij,ij->i", rows, rows)


class SparseEngine(InMemoryEngine):
    """Chunks of a CSR matrix, as they are stored (never centred), with their sample weights.

    Parameters
    ----------
    X : sparse matrix or array of shape (n_samples, n_features)
        Validated data (float32 or float64, finite); converted to ``csr_array`` without copying the
        entries when it already is CSR. Never modified.
    sample_weight, chunk_size, n_jobs, n_components
        As for :class:`~gaussmix.engines.memory.InMemoryEngine`; automatic chunks are sized by the stored
        entries per row, not by the number of features.
    """

    def __init__(self, X, sample_weight: np.ndarray | None = None, *, chunk_size: int | None = None,
                 n_jobs: int | None = 1, n_components: int = 1):
        X = sparse.csr_array(X)
        X.sort_indices()
        stored_per_row = max(1, -(-X.nnz // max(1, X.shape[0])))
        if not chunk_size:
            chunk_size = auto_chunk_size(stored_per_row, n_components, n_samples=X.shape[0],
                                         n_jobs=resolve_n_jobs(n_jobs))
        super().__init__(X, sample_weight, offset=np.zeros(X.shape[1]), chunk_size=chunk_size, n_jobs=n_jobs,
                         n_components=n_components)

    def with_chunk_size(self, chunk_size: int) -> "SparseEngine":
        return SparseEngine(self.X, self.sample_weight, chunk_size=chunk_size, n_jobs=self.n_jobs)

    def centred(self, rows):
        """Rows as stored, in the engine's dtype (the offset is zero): sparse rows stay sparse."""
        if is_sparse(rows):
            return rows.astype(self.dtype, copy=False)
        return np.asarray(rows, dtype=self.dtype)

    def rows(self, indices: np.ndarray) -> np.ndarray:
        """Dense rows at the given positions."""
        return self.X[np.asarray(indices)].toarray().astype(self.dtype, copy=False)

    def rows_with_lowest(self, score: Callable, n_rows: int) -> np.ndarray:
        """The ``n_rows`` dense rows (with positive weight) of lowest ``score``, lowest first."""
        scores = self.map(lambda chunk, weights: np.where(weights > 0, score(chunk), np.inf))
        return self.rows(np.argsort(scores, kind="stable")[:n_rows])
