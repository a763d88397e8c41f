"""One Lloyd pass over a chunk, compiled: nearest centre, weighted counts, sums and distortion."""

from __future__ import annotations

import numpy as np
from numba import njit

from .numerics import FAST, transpose_block

__all__ = ["kmeans_chunk_statistics"]


@njit(nogil=True, cache=True, error_model="numpy", fastmath=FAST)
def kmeans_chunk_statistics(chunk, sample_weight, centers, block_rows):  # pragma: no cover - compiled
    """One fused Lloyd pass over a chunk: nearest centre, weighted counts, sums and distortion.

    Block by block (features x rows, as in :mod:`.estep`): one GEMM gives ``c_k . x`` for every centre,
    the nearest centre minimises ``||c_k||^2 - 2 c_k . x`` (the NumPy twin's criterion) in a branch-free
    loop over rows, and ``||x||^2`` is added to the nearest distance only.

    Parameters
    ----------
    chunk : ndarray of shape (n, d), float32 or float64
    sample_weight : ndarray of shape (n,), float64
    centers : ndarray of shape (K, d), the chunk's dtype
    block_rows : int

    Returns
    -------
    counts : (K,) float64, weighted_sums : (K, d) float64 (``sum w_n x_n``), inertia : float
    """
    n_rows, n_features = chunk.shape
    n_clusters = centers.shape[0]
    norms = np.zeros(n_clusters)
    for k in range(n_clusters):
        for f in range(n_features):
            norms[k] += centers[k, f] * centers[k, f]
    counts = np.zeros(n_clusters)
    sums = np.zeros((n_clusters, n_features))
    inertia = 0.0
    for start in range(0, n_rows, block_rows):
        size = min(block_rows, n_rows - start)
        transposed = np.empty((n_features, size), dtype=chunk.dtype)
        transpose_block(chunk, start, transposed)
        dots = np.dot(centers, transposed)
        best_value = np.empty(size)
        best = np.zeros(size, dtype=np.int64)
        for b in range(size):
            best_value[b] = norms[0] - 2.0 * dots[0, b]
        for k in range(1, n_clusters):
            norm = norms[k]
            for b in range(size):
                value = norm - 2.0 * dots[k, b]
                closer = value < best_value[b]
                best_value[b] = value if closer else best_value[b]
                best[b] = k if closer else best[b]
        for f in range(n_features):
            row = transposed[f]
            for b in range(size):
                best_value[b] += row[b] * row[b]
        for b in range(size):
            weight = sample_weight[start + b]
            inertia += weight * max(best_value[b], 0.0)
            nearest = best[b]
            counts[nearest] += weight
            for f in range(n_features):
                sums[nearest, f] += weight * chunk[start + b, f]
    return counts, sums, inertia
