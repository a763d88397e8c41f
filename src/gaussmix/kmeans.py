"""k-means (Lloyd's algorithm) on the same chunked machinery: hard-assignment E-step, centroid M-step.

k-means is the limit of EM for a mixture with equal weights and shared spherical covariance
``sigma^2 I`` as ``sigma -> 0``: responsibilities become one-hot nearest-centre assignments and the
M-step means become centroids. Its objective is the distortion ``J = sum_n w_n ||x_n - mu_{z_n}||^2``.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from . import _numba
from .covariance import KERNEL_BLOCK_ROWS
from .driver import Step, drive
from .em import centre, feature_variance
from ._validation import check_int, check_predict_data, check_sample_weight, check_shared_settings
from ._sources import check_predict_source, fit_engine, n_rows
from .engines import initialisation_engine, is_chunked_source, make_engine
from .engines.sparse import is_sparse, row_squared_norms

__all__ = ["KMeans", "KMeansStatistics", "expect_kmeans", "expect_kmeans_numpy", "kmeans_plusplus", "lloyd", "mean_feature_variance", "squared_distances"]


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
    """Lloyd's k-means as a :class:`~gaussmix.driver.Family`: hard assignments to the nearest centre
    (:func:`expect_kmeans`), centroids as the M-step, empty clusters re-seeded on purpose (:func:`_relocate_empty`).

    The objective is the negated distortion ``-J`` (a total, not per sample: scikit-learn's tolerance is on the
    centres, and ``J`` only decides when assignments stopped changing). The run stops when the total squared
    centre shift is at most ``tol`` or ``J`` did not decrease (to rounding), unless clusters were just relocated.
    """

    centred = False  # the kernels compare the rows as stored with centres shifted by the offset (sparse rows)
    monotone = False  # J decreases by construction; a stall ends the run instead (see converged)
    final_e_step = True
    held_statistics = None

    def __init__(self, engine):
        self.engine = engine  # for relocations; never sent to Dask's workers (expect is a partial)
        self.stop_reason = ""  # why the run stopped, for verbose output
        self.expect = functools.partial(_expect_rows, offset=engine.offset)

    def expect(self, rows, weights: np.ndarray, centers: np.ndarray) -> KMeansStatistics:
        """Replaced per instance by a partial of :func:`expect_kmeans` with the engine's offset."""
        raise NotImplementedError

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


ALGORITHMS = ("lloyd", "elkan")


class KMeans(ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin, BaseEstimator):
    """k-means clustering by Lloyd's algorithm, on chunks of rows, with sample weights.

    Parameters
    ----------
    n_clusters : int, default=8
    init : {'k-means++', 'random'}, callable or ndarray of shape (n_clusters, n_features), default='k-means++'
        Seeding: greedy k-means++, ``n_clusters`` distinct samples drawn at random (with probability
        proportional to their weight), given centres, or ``init(X, n_clusters, random_state)`` returning
        centres. The callable receives the rows as given (scikit-learn's receives them centred), or for
        out-of-core and Dask data the seeding sample.
    n_init : int or 'auto', default='auto'
        Number of seedings; the run with the lowest inertia is kept. 'auto' means 1 for 'k-means++' and
        given centres, 10 for 'random' and a callable. Given centres are used once (a RuntimeWarning says
        so when ``n_init`` asks for more).
    max_iter : int, default=300
    tol : float, default=1e-4
        Convergence when the total squared centre shift is at most ``tol`` times the mean feature variance.
    verbose : int, default=0
        Print the seeding, each iteration's inertia and the reason for stopping.
    random_state : int, RandomState instance or None
    copy_x : bool, default=True
        Accepted for scikit-learn compatibility and without effect: gaussmix never modifies ``X`` (chunks
        are centred one block at a time, in cache), so no copy of the data is ever made.
    algorithm : {'lloyd', 'elkan'}, default='lloyd'
        Both run the same exact Lloyd iterations, so both give the same clustering. Elkan's algorithm
        is an exact acceleration of Lloyd's that skips distance computations by triangle-inequality bounds;
        gaussmix's blocked kernel computes all ``n x K`` distances as one matrix product per cache block,
        which on current hardware is as fast without the bounds' O(n K) memory. 'elkan' with one cluster
        warns, as scikit-learn does.
    chunk_size : int or None, default=None
        Rows per chunk (None: chosen from a memory budget).
    n_jobs : int or None, default=None
        Threads that process chunks concurrently (None: all cores). Results do not depend on it.
    engine : {'auto', 'memory', 'ooc', 'dask'}, default='auto'
        Where the data live, as for :class:`~gaussmix.GaussianMixture` ('auto': from the type of ``X``).
        Out-of-core and Dask fits seed on a uniform sample of at most 100,000 rows. A SciPy sparse matrix
        (CSR) is clustered in memory without being densified.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        In the dtype of ``X`` (float32 stays float32; the statistics are accumulated in float64).
    labels_ : ndarray of shape (n_samples,)
    inertia_ : float
        The distortion ``J = sum_n w_n ||x_n - mu_{z_n}||^2`` of the returned centres.
    n_iter_ : int
    converged_ : bool
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined when ``X`` has column names that are all strings.
    """

    def __init__(self, n_clusters=8, *, init="k-means++", n_init="auto", max_iter=300, tol=1e-4, verbose=0,
                 random_state=None, copy_x=True, algorithm="lloyd", chunk_size=None, n_jobs=None, engine="auto"):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.copy_x = copy_x
        self.algorithm = algorithm
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs
        self.engine = engine

    def _check_parameters(self, n_features):
        check_int("n_clusters", self.n_clusters, 1)
        check_shared_settings(self, own=("n_init", "verbose"))  # scikit-learn's meanings: 'auto', any truth value
        check_int("max_iter", self.max_iter, 1)  # scikit-learn's KMeans runs at least one iteration
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {list(ALGORITHMS)}, got {self.algorithm!r}")
        if not isinstance(self.copy_x, (bool, np.bool_)):
            raise ValueError(f"copy_x must be a bool, got {self.copy_x!r}")
        if isinstance(self.init, str):
            if self.init not in ("k-means++", "random"):
                raise ValueError(f"init must be 'k-means++', 'random', a callable or an array of centres, "
                                 f"got {self.init!r}")
        elif not callable(self.init):
            self._check_centres(self.init, n_features, "init array")
        if self.n_init != "auto":
            check_int("n_init", self.n_init, 1)

    def _check_centres(self, centres, n_features: int, what: str) -> np.ndarray:
        """Given or computed initial centres as a finite float64 array of shape (n_clusters, n_features)."""
        centres = np.asarray(centres.toarray() if is_sparse(centres) else centres, dtype=np.float64)
        if centres.shape != (self.n_clusters, n_features) or not np.all(np.isfinite(centres)):
            raise ValueError(
                f"{what} must be finite with shape (n_clusters, n_features) = ({self.n_clusters}, {n_features}), "
                f"got shape {centres.shape}"
            )
        return centres

    def _resolve_n_init(self) -> int:
        """``n_init`` as scikit-learn resolves it: 'auto' is 1 for k-means++ or given centres, 10 for
        'random' or a callable; given centres are used once, with a RuntimeWarning if more were asked."""
        given = not isinstance(self.init, str) and not callable(self.init)
        if self.n_init == "auto":
            return 1 if given or self.init == "k-means++" else 10
        if given and self.n_init != 1:
            warnings.warn(f"Explicit initial center position passed: performing only one init in KMeans instead "
                          f"of n_init={self.n_init}.", RuntimeWarning, stacklevel=3)
            return 1
        return self.n_init

    def _seed(self, engine, rng):
        if callable(self.init):
            centres = self._check_centres(self.init(engine.X, self.n_clusters, random_state=rng),
                                          engine.n_features, "the centres returned by the init callable")
            return engine.centred(centres)
        if not isinstance(self.init, str):
            return engine.centred(np.asarray(self.init, dtype=np.float64))
        if self.init == "k-means++":
            return kmeans_plusplus(engine, self.n_clusters, rng)
        weights = engine.sample_weight
        candidates = np.flatnonzero(weights > 0)
        chosen = rng.choice(candidates, size=self.n_clusters, replace=False, p=weights[candidates] / weights.sum())
        return engine.rows(np.sort(chosen))

    def fit(self, X, y=None, sample_weight=None):
        """Compute the k-means clustering of ``X`` (n_samples, n_features): an array, a SciPy sparse
        matrix, or any source :class:`~gaussmix.GaussianMixture` accepts (``labels_`` is then a numpy array
        all the same)."""
        check_int("n_clusters", self.n_clusters, 1)
        engine = fit_engine(self, X, sample_weight, n_components=self.n_clusters, what="n_clusters",
                            engine=self.engine, chunk_size=self.chunk_size, n_jobs=self.n_jobs, accept_sparse=True,
                            check_shape=lambda n_samples, n_features: self._check_parameters(n_features)).engine
        if self.algorithm == "elkan" and self.n_clusters == 1:
            warnings.warn("algorithm='elkan' doesn't make sense for a single cluster. Using 'lloyd' instead.",
                          RuntimeWarning, stacklevel=2)
        self._n_init = self._resolve_n_init()
        tolerance = self.tol * mean_feature_variance(engine)
        rng = check_random_state(self.random_state)
        # Out-of-core and Dask data: seed on a sample (Lloyd itself runs on all the data).
        seeded_from_data = isinstance(self.init, str) or callable(self.init)
        seed_engine = initialisation_engine(engine, rng) if seeded_from_data else engine
        best = None
        for _ in range(self._n_init):
            seeds = self._seed(seed_engine, rng)
            if self.verbose:
                print("Initialization complete")
            centers, stats, n_iter, converged = lloyd(engine, seeds, max_iter=self.max_iter, tolerance=tolerance,
                                                      verbose=bool(self.verbose))
            if best is None or stats.inertia < best[1].inertia:
                best = (centers, stats, n_iter, converged)
        centers, stats, self.n_iter_, self.converged_ = best
        self.cluster_centers_ = (centers + engine.offset).astype(engine.dtype, copy=False)
        self._n_features_out = self.n_clusters
        self.inertia_ = stats.inertia
        self.labels_ = engine.map(lambda chunk, w: assign(chunk, centers)[0])
        n_distinct = int(np.count_nonzero(stats.counts > 0))
        if n_distinct < self.n_clusters:
            warnings.warn(f"Number of distinct clusters ({n_distinct}) found smaller than n_clusters "
                          f"({self.n_clusters}). Possibly due to duplicate points in X.", ConvergenceWarning,
                          stacklevel=2)
        return self

    def _engine(self, X, sample_weight=None):
        return make_engine(X, sample_weight, offset=self.cluster_centers_.mean(axis=0, dtype=np.float64),
                           n_jobs=self.n_jobs, chunk_size=self.chunk_size, n_components=self.n_clusters)

    def _check_predict(self, X):
        return check_predict_source(self, X) if is_chunked_source(X) else check_predict_data(self, X,
                                                                                            accept_sparse=True)

    def predict(self, X):
        """Index of the nearest centre for each row of ``X`` (an array, a sparse matrix or a chunked source)."""
        check_is_fitted(self)
        X = self._check_predict(X)
        engine = self._engine(X)
        centers = engine.centred(self.cluster_centers_)
        return engine.map(lambda chunk, w: assign(chunk, centers)[0])

    def transform(self, X):
        """Euclidean distances to every centre, shape (n_samples, n_clusters), in the dtype of ``X``."""
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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def mean_feature_variance(engine) -> float:
    """Mean over features of the weighted variance of the data (the unit of k-means' ``tol``)."""
    return float(np.mean(feature_variance(engine)))
