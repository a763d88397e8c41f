"""One Lloyd pass over a chunk, compiled: nearest centre, weighted counts, sums and distortion."""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["kmeans_chunk_statistics"]


@njit(nogil=True, cache=True)
def kmeans_chunk_statistics(chunk, sample_weight, centers):  # pragma: no cover - compiled
    """One fused Lloyd pass over a chunk: nearest centre, weighted counts, sums and distortion.

    The distances come from one GEMM (``||c||^2 - 2 x . c``, as in the NumPy twin); the argmin and
    the accumulation run row by row without materialising anything n x K beyond that GEMM's output.

    Returns
    -------
    counts : (K,) float64, weighted_sums : (K, d) float64 (``sum w_n x_n``), inertia : float
    """
    n_rows, n_features = chunk.shape
    n_clusters = centers.shape[0]
    norms = np.empty(n_clusters)
    for k in range(n_clusters):
        total = 0.0
        for f in range(n_features):
            total += centers[k, f] * centers[k, f]
        norms[k] = total
    dots = chunk @ np.ascontiguousarray(centers.T)
    counts = np.zeros(n_clusters)
    sums = np.zeros((n_clusters, n_features))
    inertia = 0.0
    for i in range(n_rows):
        best = 0
        best_value = norms[0] - 2.0 * dots[i, 0]
        for k in range(1, n_clusters):
            value = norms[k] - 2.0 * dots[i, k]
            if value < best_value:
                best_value = value
                best = k
        row_norm = 0.0
        for f in range(n_features):
            row_norm += chunk[i, f] * chunk[i, f]
        weight = sample_weight[i]
        inertia += weight * max(best_value + row_norm, 0.0)
        counts[best] += weight
        for f in range(n_features):
            sums[best, f] += weight * chunk[i, f]
    return counts, sums, inertia
