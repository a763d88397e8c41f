"""k-means (Lloyd's algorithm) on the same chunked machinery: hard-assignment E-step, centroid M-step.

k-means is the limit of EM for a mixture with equal weights and shared spherical covariance
``sigma^2 I`` as ``sigma -> 0``: responsibilities become one-hot nearest-centre assignments and the
M-step means become centroids. Its objective is the distortion ``J = sum_n w_n ||x_n - mu_{z_n}||^2``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import sparse
from sklearn.utils import check_random_state

from .. import _numba
from ..covariance import KERNEL_BLOCK_ROWS
from ..engines.sparse import is_sparse, row_squared_norms
from ..fitting.driver import Step, drive
from .em import centre, feature_variance

__all__ = ["KMeansStatistics", "LloydFamily", "expect_kmeans", "expect_kmeans_numpy", "kmeans_plusplus", "lloyd",
           "mean_feature_variance", "squared_distances"]


def squared_distances(chunk, centers: np.ndarray) -> np.ndarray:
    """``||x_n - c_k||^2`` for every row and centre, shape (n_rows, n_clusters), by one GEMM.

    ``chunk`` may be a dense array or a SciPy sparse (CSR) one: the product ``x . c_k`` then costs O(nnz)
    per centre and nothing is densified. The result has the chunk's floating dtype.
    """
    distances = np.asarray(chunk @ (-2.0 * centers.T).astype(chunk.dtype))
    distances += row_squared_norms(chunk)[:, None]
    distances += np.einsum("ij,ij->i", centers, centers)
    return np.maximum(distances, 0.0, out=distances)


@dataclass(frozen=True, eq=False)
class KMeansStatistics:
    """Additive statistics of one Lloyd pass under fixed centres ``c_k``.

    ``counts`` (K,): weight assigned to each centre; ``sums`` (K, d): ``sum w_n (x_n - c_k)`` over the
    rows assigned to ``k``; ``inertia``: the distortion ``J`` of the centres.
    """

    weight_sum: float
    inertia: float
    counts: np.ndarray
    sums: np.ndarray

    def __add__(self, other: "KMeansStatistics") -> "KMeansStatistics":
        return KMeansStatistics(self.weight_sum + other.weight_sum, self.inertia + other.inertia,
                                self.counts + other.counts, self.sums + other.sums)


def assign(chunk, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centre of each row and the squared distance to it.

    ``argmin_k ||x - c_k||^2 = argmin_k (||c_k||^2 - 2 x . c_k)``: one GEMM, with the centre norms
    folded in through a ones column; ``||x||^2`` is added to the nearest distance only. This reads the
    n x K matrix once (for the argmin) instead of four times. A sparse chunk gets the sparse product
    and the centre norms added afterwards (appending a column would copy its entries).
    """
    n_rows, n_features = chunk.shape
    if is_sparse(chunk):
        partial = np.asarray(chunk @ (-2.0 * centers.T).astype(chunk.dtype))
        partial += np.einsum("ij,ij->i", centers, centers)
    else:
        augmented = np.empty((n_rows, n_features + 1), dtype=chunk.dtype)
        augmented[:, :n_features] = chunk
        augmented[:, n_features] = 1.0
        factors = np.empty((n_features + 1, centers.shape[0]), dtype=chunk.dtype)
        factors[:n_features] = -2.0 * centers.T
        factors[n_features] = np.einsum("ij,ij->i", centers, centers)
        partial = augmented @ factors
    labels = partial.argmin(axis=1)
    nearest = partial[np.arange(n_rows), labels] + row_squared_norms(chunk)
    return labels, np.maximum(nearest, 0.0)


def expect_kmeans(chunk: np.ndarray, sample_weight: np.ndarray, centers: np.ndarray,
                  offset: np.ndarray | None = None) -> KMeansStatistics:
    """Hard E-step on one chunk (a compiled fused kernel when numba is installed).

    ``chunk - offset`` are the centred rows (``offset=None``: the chunk is centred); the compiled kernel
    centres block by block in cache. A sparse chunk is never centred (its engine's offset is zero:
    :class:`~gaussmix.engines.sparse.SparseEngine`) and runs the NumPy path on its stored entries.
    """
    if is_sparse(chunk):
        return expect_kmeans_numpy(chunk, sample_weight, centers)
    if _numba.AVAILABLE:
        counts, weighted_sums, inertia = _numba.kmeans_chunk_statistics(
            np.ascontiguousarray(chunk), np.zeros(chunk.shape[1]) if offset is None else np.asarray(offset, float),
            np.ascontiguousarray(sample_weight, dtype=np.float64), np.ascontiguousarray(centers, dtype=chunk.dtype),
            KERNEL_BLOCK_ROWS)
        return KMeansStatistics(float(sample_weight.sum()), float(inertia), counts,
                                weighted_sums - counts[:, None] * centers)
    return expect_kmeans_numpy(chunk if offset is None else centre(chunk, offset), sample_weight, centers)


def expect_kmeans_numpy(chunk, sample_weight: np.ndarray, centers: np.ndarray) -> KMeansStatistics:
    """Hard E-step on one centred chunk (dense, or sparse CSR) with NumPy only (the compiled kernel's twin)."""
    labels, nearest = assign(chunk, centers)
    n_clusters = centers.shape[0]
    # Per-cluster sums as (K x n sparse assignment matrix) @ chunk. In CSC form with one entry per
    # column it needs no sorting to build, and the product is n x d work in C (5x faster than a
    # bincount per feature, exact).
    n_rows = chunk.shape[0]
    assignment = sparse.csc_array((sample_weight, labels, np.arange(n_rows + 1)), shape=(n_clusters, n_rows))
    counts = np.bincount(labels, weights=sample_weight, minlength=n_clusters)
    weighted_sums = assignment @ chunk
    if is_sparse(weighted_sums):
        weighted_sums = weighted_sums.toarray()
    sums = np.asarray(weighted_sums, dtype=np.float64) - counts[:, None] * centers
    return KMeansStatistics(float(sample_weight.sum()), float(sample_weight @ nearest), counts, sums)


def kmeans_plusplus(engine, n_clusters: int, random_state, n_local_trials: int | None = None) -> np.ndarray:
    """Greedy k-means++ seeding (Arthur & Vassilvitskii 2007) with sample weights; centred centres (K, d).

    Each new centre is the best of ``n_local_trials`` candidates drawn with probability proportional to
    ``w_n D(x_n)^2``, judged by the resulting potential (as in scikit-learn's variant).
    """
    rng = check_random_state(random_state)
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    weights = engine.sample_weight
    first = _draw_by_mass(weights, 1, rng)
    centers = [engine.rows(first)[0]]
    closest = engine.map(lambda chunk, w: squared_distances(chunk, centers[0][None])[:, 0])
    for _ in range(1, n_clusters):
        candidates = engine.rows(_draw_by_mass(weights * closest, n_local_trials, rng))
        candidate_closest = np.minimum(closest[:, None], engine.map(lambda chunk, w: squared_distances(chunk, candidates)))
        best = int(np.argmin(weights @ candidate_closest))
        closest = candidate_closest[:, best]
        centers.append(candidates[best])
    return np.array(centers)


def _draw_by_mass(mass: np.ndarray, size: int, rng) -> np.ndarray:
    """Row indices drawn with probability proportional to ``mass``, by inverting the cumulative sum.

    Inverting the cumulative mass (rather than ``rng.choice``) makes an integer sample weight act
    exactly like repeating the row, and never selects a row of zero mass.
    """
    cumulative = np.cumsum(mass)
    draws = rng.uniform(size=size) * cumulative[-1]
    return np.minimum(np.searchsorted(cumulative, draws, side="right"), mass.shape[0] - 1)


def lloyd(engine, centers: np.ndarray, *, max_iter: int, tolerance: float,
          verbose: bool = False) -> tuple[np.ndarray, KMeansStatistics, int, bool]:
    """Lloyd iterations from ``centers`` until the total squared centre shift is at most ``tolerance``,
    or the distortion stops decreasing (strict convergence: the assignments no longer change).

    The distortion ``J`` strictly decreases whenever an assignment changes, so an iteration whose ``J``
    is not below the previous one (to rounding) has reached a fixed point; this also ends ``tol=0`` runs,
    whose centre shift is never exactly zero in floating point. Empty clusters are re-seeded on purpose
    (:func:`_relocate_empty`).

    Returns
    -------
    centers, final statistics (of the returned centres), n_iter, converged
    """
    family = LloydFamily(engine)
    def report(n_iter: int, objective: float, change: float) -> None:
        print(f"Iteration {n_iter}, inertia {-objective}.")

    callback = report if verbose else None
    result = drive(family, engine, centers, tol=tolerance, max_iter=max_iter, callback=callback)
    if verbose and result.converged:
        print(f"Converged at iteration {result.n_iter}: {family.stop_reason}.")
    return result.state, result.statistics, result.n_iter, result.converged


def _expect_rows(rows, weights: np.ndarray, centers: np.ndarray, *, offset: np.ndarray) -> KMeansStatistics:
    return expect_kmeans(rows, weights, centers, offset)


class LloydFamily:
    """Lloyd's k-means as a :class:`~gaussmix.fitting.driver.Family`: hard assignments to the nearest centre
    (:func:`expect_kmeans`), centroids as the M-step, empty clusters re-seeded on purpose (:func:`_relocate_empty`).

    The objective is the negated distortion ``-J`` (a total, not per sample: scikit-learn's tolerance is on the
    centres, and ``J`` only decides when assignments stopped changing). The run stops when the total squared
    centre shift is at most ``tol`` or ``J`` did not decrease (to rounding), unless clusters were just relocated.
    """

    centred = False  # the kernels compare the rows as stored with centres shifted by the offset (sparse rows)
    monotone = False  # J decreases by construction; a stall ends the run instead (see converged)
    final_e_step = True
    held_statistics = None
    expect: Callable[..., KMeansStatistics]  # set per instance: a partial of expect_kmeans (travels to workers)

    def __init__(self, engine):
        self.engine = engine  # for relocations; never sent to Dask's workers (expect is a partial)
        self.stop_reason = ""  # why the run stopped, for verbose output
        self.expect = functools.partial(_expect_rows, offset=engine.offset)

    def objective(self, stats: KMeansStatistics, centers: np.ndarray) -> float:
        return -stats.inertia

    def maximize(self, stats: KMeansStatistics, centers: np.ndarray) -> Step:
        relocated = False
        if np.any(stats.counts <= 0):
            new_centers, relocated = _relocate_empty(self.engine, stats, centers)
        else:
            new_centers = centers + stats.sums / stats.counts[:, None]
        shift = float(((new_centers - centers) ** 2).sum())
        return Step(new_centers, detail=(shift, relocated, stats.inertia))

    def recover(self, step: Step, centers: np.ndarray) -> np.ndarray:
        raise AssertionError("empty clusters are relocated inside the M-step")

    def converged(self, value: float, previous: float, tol: float, step: Step) -> bool:
        shift, relocated, inertia = step.detail
        # J strictly decreases whenever an assignment changes: a J not below the previous one is a fixed point.
        stalled = previous != -np.inf and inertia >= -previous * (1.0 - 1e-12)
        self.stop_reason = ("strict convergence" if stalled or shift == 0.0 else
                            f"center shift {shift} within tolerance {tol}")
        return (shift <= tol or stalled) and not relocated


@dataclass(frozen=True, eq=False)
class _FarthestRows:
    """The ``size`` rows farthest from their nearest centre, with their weights: a statistic that adds
    (``a + b`` keeps the farthest of both), so every engine finds them in one pass."""

    distances: np.ndarray
    rows: np.ndarray
    weights: np.ndarray
    size: int

    @classmethod
    def of_chunk(cls, chunk, sample_weight: np.ndarray, centers: np.ndarray, size: int) -> "_FarthestRows":
        distances = np.where(sample_weight > 0, assign(chunk, centers)[1], -np.inf)  # weightless rows never
        keep = np.argsort(-distances, kind="stable")[:size]
        rows = chunk[keep]
        return cls(distances[keep], rows.toarray() if is_sparse(rows) else np.asarray(rows, dtype=np.float64),
                   sample_weight[keep], size)

    def __add__(self, other: "_FarthestRows") -> "_FarthestRows":
        keep = np.argsort(-np.concatenate([self.distances, other.distances]), kind="stable")[:self.size]
        return _FarthestRows(np.concatenate([self.distances, other.distances])[keep],
                             np.concatenate([self.rows, other.rows])[keep],
                             np.concatenate([self.weights, other.weights])[keep], self.size)


def _relocate_empty(engine, stats: KMeansStatistics, centers: np.ndarray) -> tuple[np.ndarray, bool]:
    """The M-step when clusters are empty: each empty cluster takes one of the samples farthest from
    their nearest centre, and that sample leaves its cluster (so that every sample counts once and the
    distortion still decreases; scikit-learn's rule).

    When every sample sits on a centre (more clusters than distinct samples) no sample can start a new
    cluster: empty centres stay where they are and nothing is relocated.

    Returns
    -------
    new_centers : ndarray of shape (n_clusters, n_features)
    relocated : bool
    """
    empty = np.flatnonzero(stats.counts <= 0)
    totals = stats.sums + stats.counts[:, None] * centers  # sum_n w_n x_n per cluster
    counts = stats.counts.copy()
    farthest = engine.reduce(lambda chunk, w: _FarthestRows.of_chunk(chunk, w, centers, empty.size))
    relocated = bool(np.any(farthest.distances > 0))
    if relocated:
        previous = assign(farthest.rows, centers)[0]
        for cluster, row, weight, old in zip(empty, farthest.rows, farthest.weights, previous):
            totals[old] -= weight * row
            counts[old] -= weight
            totals[cluster] = weight * row
            counts[cluster] = weight
    occupied = counts > 0
    new_centers = centers.copy()
    new_centers[occupied] = totals[occupied] / counts[occupied, None]
    return new_centers, relocated


def mean_feature_variance(engine) -> float:
    """Mean over features of the weighted variance of the data (the unit of k-means' ``tol``)."""
    return float(np.mean(feature_variance(engine)))
