"""k-means (Lloyd's algorithm) on the same chunked machinery: hard-assignment E-step, centroid M-step.

k-means is the limit of EM for a mixture with equal weights and shared spherical covariance
``sigma^2 I`` as ``sigma -> 0``: responsibilities become one-hot nearest-centre assignments and the
M-step means become centroids. Its objective is the distortion ``J = sum_n w_n ||x_n - mu_{z_n}||^2``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from . import _numba
from .covariance import KERNEL_BLOCK_ROWS
from .em import centre, feature_variance
from ._validation import check_int, check_n_jobs, check_nonnegative_float, check_predict_data, check_sample_weight
from ._sources import check_predict_source, fit_engine, n_rows
from .engines import ENGINES, initialisation_engine, is_chunked_source, make_engine

__all__ = ["KMeans", "KMeansStatistics", "expect_kmeans", "expect_kmeans_numpy", "kmeans_plusplus", "lloyd", "mean_feature_variance", "squared_distances"]


def squared_distances(chunk: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """``||x_n - c_k||^2`` for every row and centre, shape (n_rows, n_clusters), by one GEMM."""
    distances = chunk @ (-2.0 * centers.T).astype(chunk.dtype)
    distances += np.einsum("ij,ij->i", chunk, chunk)[:, None]
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


def assign(chunk: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centre of each row and the squared distance to it.

    ``argmin_k ||x - c_k||^2 = argmin_k (||c_k||^2 - 2 x . c_k)``: one GEMM, with the centre norms
    folded in through a ones column; ``||x||^2`` is added to the nearest distance only. This reads the
    n x K matrix once (for the argmin) instead of four times.
    """
    n_rows, n_features = chunk.shape
    augmented = np.empty((n_rows, n_features + 1), dtype=chunk.dtype)
    augmented[:, :n_features] = chunk
    augmented[:, n_features] = 1.0
    factors = np.empty((n_features + 1, centers.shape[0]), dtype=chunk.dtype)
    factors[:n_features] = -2.0 * centers.T
    factors[n_features] = np.einsum("ij,ij->i", centers, centers)
    partial = augmented @ factors
    labels = partial.argmin(axis=1)
    nearest = partial[np.arange(n_rows), labels] + np.einsum("ij,ij->i", chunk, chunk)
    return labels, np.maximum(nearest, 0.0)


def expect_kmeans(chunk: np.ndarray, sample_weight: np.ndarray, centers: np.ndarray,
                  offset: np.ndarray | None = None) -> KMeansStatistics:
    """Hard E-step on one chunk (a compiled fused kernel when numba is installed).

    ``chunk - offset`` are the centred rows (``offset=None``: the chunk is centred); the compiled kernel
    centres block by block in cache.
    """
    if _numba.AVAILABLE:
        counts, weighted_sums, inertia = _numba.kmeans_chunk_statistics(
            np.ascontiguousarray(chunk), np.zeros(chunk.shape[1]) if offset is None else np.asarray(offset, float),
            np.ascontiguousarray(sample_weight, dtype=np.float64), np.ascontiguousarray(centers, dtype=chunk.dtype),
            KERNEL_BLOCK_ROWS)
        return KMeansStatistics(float(sample_weight.sum()), float(inertia), counts,
                                weighted_sums - counts[:, None] * centers)
    return expect_kmeans_numpy(chunk if offset is None else centre(chunk, offset), sample_weight, centers)


def expect_kmeans_numpy(chunk: np.ndarray, sample_weight: np.ndarray, centers: np.ndarray) -> KMeansStatistics:
    """Hard E-step on one centred chunk with NumPy only (the compiled kernel's twin)."""
    labels, nearest = assign(chunk, centers)
    n_clusters = centers.shape[0]
    # Per-cluster sums as (K x n sparse assignment matrix) @ chunk. In CSC form with one entry per
    # column it needs no sorting to build, and the product is n x d work in C (5x faster than a
    # bincount per feature, exact).
    n_rows = chunk.shape[0]
    assignment = sparse.csc_array((sample_weight, labels, np.arange(n_rows + 1)), shape=(n_clusters, n_rows))
    counts = np.bincount(labels, weights=sample_weight, minlength=n_clusters)
    sums = np.asarray(assignment @ chunk, dtype=np.float64) - counts[:, None] * centers
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


def lloyd(engine, centers: np.ndarray, *, max_iter: int, tolerance: float) -> tuple[np.ndarray, KMeansStatistics, int, bool]:
    """Lloyd iterations from ``centers`` until the total squared centre shift is at most ``tolerance``,
    or the distortion stops decreasing (strict convergence: the assignments no longer change).

    The distortion ``J`` strictly decreases whenever an assignment changes, so an iteration whose ``J``
    is not below the previous one (to rounding) has reached a fixed point; this also ends ``tol=0`` runs,
    whose centre shift is never exactly zero in floating point. Empty clusters are re-seeded on purpose,
    at the samples farthest from their nearest centre.

    Returns
    -------
    centers, final statistics (of the returned centres), n_iter, converged
    """
    converged = False
    n_iter = 0
    previous_inertia = np.inf
    for n_iter in range(1, max_iter + 1):
        stats = engine.reduce(lambda rows, w: expect_kmeans(rows, w, centers, engine.offset), centred=False)
        stalled = stats.inertia >= previous_inertia * (1.0 - 1e-12)
        previous_inertia = stats.inertia
        empty = stats.counts <= 0
        safe_counts = np.where(empty, 1.0, stats.counts)
        new_centers = centers + stats.sums / safe_counts[:, None]
        if empty.any():
            current = new_centers[~empty]
            new_centers[empty] = engine.rows_with_lowest(lambda chunk: -assign(chunk, current)[1], int(empty.sum()))
        shift = float(((new_centers - centers) ** 2).sum())
        centers = new_centers
        if (shift <= tolerance or stalled) and not empty.any():
            converged = True
            break
    final = engine.reduce(lambda rows, w: expect_kmeans(rows, w, centers, engine.offset), centred=False)
    return centers, final, n_iter, converged


class KMeans(ClusterMixin, TransformerMixin, BaseEstimator):
    """k-means clustering by Lloyd's algorithm, on chunks of rows, with sample weights.

    Parameters
    ----------
    n_clusters : int, default=8
    init : {'k-means++', 'random'} or ndarray of shape (n_clusters, n_features), default='k-means++'
        Seeding: greedy k-means++, ``n_clusters`` distinct samples drawn at random (with probability
        proportional to their weight), or given centres.
    n_init : int or 'auto', default='auto'
        Number of seedings; the run with the lowest inertia is kept. 'auto' means 1 for 'k-means++' and
        given centres, 10 for 'random'.
    max_iter : int, default=300
    tol : float, default=1e-4
        Convergence when the total squared centre shift is at most ``tol`` times the mean feature variance.
    random_state : int, RandomState instance or None
    verbose : int, default=0
    chunk_size : int or None, default=None
        Rows per chunk (None: chosen from a memory budget).
    n_jobs : int or None, default=None
        Threads that process chunks concurrently (None: all cores). Results do not depend on it.
    engine : {'auto', 'memory', 'ooc', 'dask'}, default='auto'
        Where the data live, as for :class:`~gaussmix.GaussianMixture` ('auto': from the type of ``X``).
        Out-of-core and Dask fits seed on a uniform sample of at most 100,000 rows.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,)
    inertia_ : float
        The distortion ``J = sum_n w_n ||x_n - mu_{z_n}||^2`` of the returned centres.
    n_iter_ : int
    converged_ : bool
    n_features_in_ : int
    """

    def __init__(self, n_clusters=8, *, init="k-means++", n_init="auto", max_iter=300, tol=1e-4,
                 random_state=None, verbose=0, chunk_size=None, n_jobs=None, engine="auto"):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs
        self.engine = engine

    def _check_parameters(self, n_features):
        check_int("n_clusters", self.n_clusters, 1)
        check_int("max_iter", self.max_iter, 1)
        check_nonnegative_float("tol", self.tol)
        check_n_jobs(self.n_jobs)
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {list(ENGINES)}, got {self.engine!r}")
        if isinstance(self.init, str):
            if self.init not in ("k-means++", "random"):
                raise ValueError(f"init must be 'k-means++', 'random' or an array of centres, got {self.init!r}")
        else:
            init = np.asarray(self.init, dtype=np.float64)
            if init.shape != (self.n_clusters, n_features) or not np.all(np.isfinite(init)):
                raise ValueError(
                    f"init array must be finite with shape (n_clusters, n_features) = ({self.n_clusters}, {n_features}), "
                    f"got shape {init.shape}"
                )
        check_int("n_init", self._n_init(), 1)

    def _n_init(self):
        """``n_init`` with 'auto' resolved as scikit-learn does (1 for k-means++ or given centres, else 10)."""
        if self.n_init != "auto":
            return self.n_init
        return 10 if isinstance(self.init, str) and self.init == "random" else 1

    def _seed(self, engine, rng):
        if not isinstance(self.init, str):
            return engine.centred(np.asarray(self.init, dtype=np.float64))
        if self.init == "k-means++":
            return kmeans_plusplus(engine, self.n_clusters, rng)
        weights = engine.sample_weight
        candidates = np.flatnonzero(weights > 0)
        chosen = rng.choice(candidates, size=self.n_clusters, replace=False, p=weights[candidates] / weights.sum())
        return engine.rows(np.sort(chosen))

    def fit(self, X, y=None, sample_weight=None):
        """Compute the k-means clustering of ``X`` (n_samples, n_features): an array, or any source
        :class:`~gaussmix.GaussianMixture` accepts (``labels_`` is then a numpy array all the same)."""
        check_int("n_clusters", self.n_clusters, 1)
        engine = fit_engine(self, X, sample_weight, n_components=self.n_clusters, what="n_clusters",
                            engine=self.engine, chunk_size=self.chunk_size, n_jobs=self.n_jobs,
                            check_shape=lambda n_samples, n_features: self._check_parameters(n_features)).engine
        n_init = self._n_init()
        tolerance = self.tol * mean_feature_variance(engine)
        rng = check_random_state(self.random_state)
        # Out-of-core and Dask data: seed on a sample (Lloyd itself runs on all the data).
        seed_engine = initialisation_engine(engine, rng) if isinstance(self.init, str) else engine
        best = None
        for _ in range(n_init):
            centers, stats, n_iter, converged = lloyd(engine, self._seed(seed_engine, rng), max_iter=self.max_iter,
                                                      tolerance=tolerance)
            if best is None or stats.inertia < best[1].inertia:
                best = (centers, stats, n_iter, converged)
        centers, stats, self.n_iter_, self.converged_ = best
        self.cluster_centers_ = centers + engine.offset
        self.inertia_ = stats.inertia
        self.labels_ = engine.map(lambda chunk, w: assign(chunk, centers)[0])
        return self

    def _engine(self, X, sample_weight=None):
        return make_engine(X, sample_weight, offset=self.cluster_centers_.mean(axis=0), n_jobs=self.n_jobs,
                           chunk_size=self.chunk_size, n_components=self.n_clusters)

    def _check_predict(self, X):
        return check_predict_source(self, X) if is_chunked_source(X) else check_predict_data(self, X)

    def predict(self, X):
        """Index of the nearest centre for each row of ``X`` (an array or a chunked source)."""
        check_is_fitted(self)
        X = self._check_predict(X)
        engine = self._engine(X)
        centers = engine.centred(self.cluster_centers_)
        return engine.map(lambda chunk, w: assign(chunk, centers)[0])

    def transform(self, X):
        """Euclidean distances to every centre, shape (n_samples, n_clusters)."""
        check_is_fitted(self)
        X = self._check_predict(X)
        engine = self._engine(X)
        centers = engine.centred(self.cluster_centers_)
        return np.sqrt(engine.map(lambda chunk, w: squared_distances(chunk, centers)))

    def fit_transform(self, X, y=None, sample_weight=None):
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def fit_predict(self, X, y=None, sample_weight=None):
        return self.fit(X, sample_weight=sample_weight).labels_

    def score(self, X, y=None, sample_weight=None):
        """Minus the distortion of ``X`` under the fitted centres."""
        check_is_fitted(self)
        X = self._check_predict(X)
        engine = self._engine(X, None if sample_weight is None else check_sample_weight(sample_weight, n_rows(X)))
        centers = engine.centred(self.cluster_centers_)
        return -engine.reduce(lambda chunk, w: expect_kmeans(chunk, w, centers)).inertia


def mean_feature_variance(engine) -> float:
    """Mean over features of the weighted variance of the data (the unit of k-means' ``tol``)."""
    return float(np.mean(feature_variance(engine)))
