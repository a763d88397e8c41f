"""KMeans, scikit-learn's estimator: the estimator on top of :mod:`gaussmix.families.kmeans` (the model family: its
statistics, E- and M-steps and the family run by the driver)."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._sources import check_predict_source, fit_engine, n_rows
from .._validation import check_int, check_predict_data, check_sample_weight, check_shared_settings
from ..engines import initialisation_engine, is_chunked_source, make_engine
from ..engines.sparse import is_sparse
from ..families.kmeans import assign, expect_kmeans, kmeans_plusplus, lloyd, mean_feature_variance, squared_distances
from ..fitting.starts import best_of_starts

__all__ = ["KMeans"]


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

        def fit_start(index, best):
            seeds = self._seed(seed_engine, rng)
            if self.verbose:
                print("Initialization complete")
            return lloyd(engine, seeds, max_iter=self.max_iter, tolerance=tolerance, verbose=bool(self.verbose))

        # (centers, statistics, n_iter, converged): the lowest distortion wins
        best = best_of_starts(range(self._n_init), fit_start, lambda result: -result[1].inertia)
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


