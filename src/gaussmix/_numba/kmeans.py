"""One Lloyd pass over a chunk, compiled: nearest centre, weighted counts, sums and distortion."""

from __future__ import annotations

import numpy as np
from numba import njit

from .numerics import FAST

__all__ = ["kmeans_chunk_statistics"]


@njit(nogil=True, cache=True, error_model="numpy", fastmath=FAST)
def kmeans_chunk_statistics(chunk, offset, sample_weight, centers, block_rows):  # pragma: no cover - compiled
    """One fused Lloyd pass over a chunk: nearest centre, weighted counts, sums and distortion.

    Block by block: the block is centred in cache, one GEMM gives ``c_k . x`` for every centre and row of the block, laid out centres x
    rows (the block enters BLAS transposed, without a copy); the nearest centre minimises
    ``||c_k||^2 - 2 c_k . x`` (the NumPy twin's criterion) in a branch-free loop over rows, and ``||x||^2``
    is added to the nearest distance only.

    Parameters
    ----------
    chunk : ndarray of shape (n, d), float32 or float64, C-contiguous
        Rows as stored; ``chunk - offset`` are the centred rows.
    offset : ndarray of shape (d,), float64
        Subtracted block by block, in cache (zeros for a centred chunk).
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
    full_block = np.empty((n_clusters, block_rows), dtype=chunk.dtype)
    centred = np.empty((block_rows, n_features), dtype=chunk.dtype)
    best_value = np.empty(block_rows)
    best_label = np.zeros(block_rows)
    for start in range(0, n_rows, block_rows):
        size = min(block_rows, n_rows - start)
        block = centred[:size]
        for b in range(size):  # centred as the engines centre: in float64, stored in the chunk's dtype
            source = chunk[start + b]
            target = block[b]
            for f in range(n_features):
                target[f] = np.float64(source[f]) - offset[f]
        if size == block_rows:
            np.dot(centers, block.T, full_block)
            dots = full_block
        else:
            dots = np.dot(centers, block.T)
        for b in range(size):
            best_value[b] = norms[0] - 2.0 * dots[0, b]
            best_label[b] = 0.0
        for k in range(1, n_clusters):
            norm = norms[k]
            products = dots[k]
            label = np.float64(k)  # float labels: both selects vectorise as one blend each
            for b in range(size):
                value = norm - 2.0 * products[b]
                closer = value < best_value[b]
                best_value[b] = value if closer else best_value[b]
                best_label[b] = label if closer else best_label[b]
        for b in range(size):
            row_norm = 0.0
            for f in range(n_features):
                row_norm += block[b, f] * block[b, f]
            weight = sample_weight[start + b]
            inertia += weight * max(best_value[b] + row_norm, 0.0)
            nearest = np.int64(best_label[b])
            counts[nearest] += weight
            for f in range(n_features):
                sums[nearest, f] += weight * block[b, f]
    return counts, sums, inertia
