"""GaussianMixture: maximum-likelihood Gaussian mixtures by EM, a drop-in for scikit-learn's."""

from __future__ import annotations

import logging
import warnings

import numpy as np
from sklearn.utils import check_random_state

from ._base import BaseMixture
from ._validation import check_fit_data, check_int, check_n_jobs, check_nonnegative_float, check_sample_weight
from .covariance import get_structure
from .degeneracy import degeneracy_advice, reseed_degenerate
from .em import COLLAPSE_RELATIVE_VARIANCE, degenerate_error, feature_variance, run_em
from ._sources import check_fit_source
from .engines import ENGINES, initialisation_engine, is_chunked_source, make_engine
from .exceptions import ConvergenceWarning
from .init import INIT_METHODS, initial_params
from .params import MixtureParams

__all__ = ["GaussianMixture"]

logger = logging.getLogger("gaussmix")

ON_DEGENERATE = ("reseed", "raise")


class GaussianMixture(BaseMixture):
    """Gaussian mixture model fitted by expectation-maximisation.

    Parameters and fitted attributes are scikit-learn's (``sklearn.mixture.GaussianMixture``), plus
    ``sample_weight`` in :meth:`fit`, a policy for degenerate components and a progress callback.

    Parameters
    ----------
    n_components : int, default=1
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
    tol : float, default=1e-3
        EM stops when the per-sample mean log-likelihood changes by less than ``tol``.
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance.
    max_iter : int, default=100
    n_init : int, default=1
        Number of initialisations; the one with the highest final log-likelihood is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, default='kmeans'
        'kmeans' runs k-means (k-means++ seeding); 'k-means++' and 'random_from_data' take seed points
        and assign every sample to the nearest (scikit-learn gives each seed a single point instead);
        'random' draws random responsibilities.
    weights_init : array of shape (n_components,), optional
    means_init : array of shape (n_components, n_features), optional
        Given means also replace k-means when estimating what was not given.
    precisions_init : array, optional
        Inverse covariances in the ``covariance_type`` shape.
    random_state : int, RandomState instance or None
    warm_start : bool, default=False
        Start from the previous fit's parameters (one initialisation).
    verbose : int, default=0
    verbose_interval : int, default=10
    on_degenerate : {'reseed', 'raise'}, default='reseed'
        When a component becomes empty or singular: re-seed it at the worst-explained samples with a
        :class:`~gaussmix.exceptions.DegenerateComponentWarning`, or raise
        :class:`~gaussmix.exceptions.DegenerateComponentError` with advice.
    detect_collapse : bool, default=True
        Treat a component as degenerate when its variance in some direction falls below ``1e-8`` times
        the data's variance along the features (it sits on one point, on tied values or in a subspace).
        ``reg_covar`` keeps such a component finite, but its likelihood is unbounded and the fit spurious.
        Set False for scikit-learn's behaviour.
    chunk_size : int or None, default=None
        Rows per chunk (None: chosen from a memory budget). Results do not depend on it.
    n_jobs : int or None, default=None
        Threads that process chunks concurrently (None: all cores, -1 likewise); BLAS runs single-threaded
        meanwhile. Results do not depend on it: chunk statistics are always added in the same order.
    callback : callable or None, default=None
        ``callback(iteration, mean_log_likelihood, change)`` after each EM iteration.
    engine : {'auto', 'memory', 'ooc', 'dask'}, default='auto'
        Where the data live (see :mod:`gaussmix.engines`); 'auto' decides from the type of ``X``: an
        array is fitted in memory; a path, :func:`~gaussmix.open_dataset` or a list of 2-D arrays
        out of core (one streaming pass per iteration); a ``dask.array`` on Dask's workers. Out-of-core
        and Dask fits initialise on a uniform sample of at most 100,000 rows (unless ``means_init`` is
        given) and are otherwise identical to the in-memory fit.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
    covariances_, precisions_, precisions_cholesky_ : ndarray in the ``covariance_type`` shape
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Per-sample mean log-likelihood of the *returned* parameters (a final E-step computes it;
        scikit-learn reports that of the parameters one M-step earlier).
    lower_bounds_ : list of float
        Per-sample mean log-likelihood of the parameters entering each iteration of the best
        initialisation (identical to scikit-learn's ``lower_bounds_``).
    n_reseeded_ : int
        Degenerate components re-seeded during the best initialisation's fit.
    n_features_in_ : int
    feature_names_in_ : ndarray of str, when X has string column names
    """

    def __init__(self, n_components=1, *, covariance_type="full", tol=1e-3, reg_covar=1e-6, max_iter=100,
                 n_init=1, init_params="kmeans", weights_init=None, means_init=None, precisions_init=None,
                 random_state=None, warm_start=False, verbose=0, verbose_interval=10, on_degenerate="reseed",
                 detect_collapse=True, chunk_size=None, n_jobs=None, callback=None, engine="auto"):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.on_degenerate = on_degenerate
        self.detect_collapse = detect_collapse
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs
        self.callback = callback
        self.engine = engine

    # ------------------------------------------------------------------------------------ validation
    def _check_parameters(self):
        check_int("n_components", self.n_components, 1)
        get_structure(self.covariance_type)
        check_nonnegative_float("tol", self.tol)
        check_nonnegative_float("reg_covar", self.reg_covar)
        check_int("max_iter", self.max_iter, 0)
        check_int("n_init", self.n_init, 1)
        check_int("verbose", self.verbose, 0)
        check_int("verbose_interval", self.verbose_interval, 1)
        if self.init_params not in INIT_METHODS:
            raise ValueError(f"init_params must be one of {list(INIT_METHODS)}, got {self.init_params!r}")
        if self.on_degenerate not in ON_DEGENERATE:
            raise ValueError(f"on_degenerate must be one of {list(ON_DEGENERATE)}, got {self.on_degenerate!r}")
        if not isinstance(self.detect_collapse, (bool, np.bool_)):
            raise ValueError(f"detect_collapse must be True or False, got {self.detect_collapse!r}")
        if self.chunk_size is not None:
            check_int("chunk_size", self.chunk_size, 1)
        check_n_jobs(self.n_jobs)
        if self.callback is not None and not callable(self.callback):
            raise ValueError(f"callback must be callable or None, got {self.callback!r}")
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {list(ENGINES)}, got {self.engine!r}")

    def _check_initial_parameters(self, n_features):
        n_components = self.n_components
        if self.weights_init is not None:
            weights = _finite_array("weights_init", self.weights_init, (n_components,))
            if np.any(weights < 0) or np.any(weights > 1):
                raise ValueError("weights_init must be in [0, 1]")
            if not np.isclose(weights.sum(), 1.0, rtol=0, atol=1e-6):
                raise ValueError(f"weights_init must sum to 1, got sum {weights.sum():.8g}")
        if self.means_init is not None:
            _finite_array("means_init", self.means_init, (n_components, n_features))
        if self.precisions_init is not None:
            shape = get_structure(self.covariance_type).covariance_shape(n_components, n_features)
            precisions = _finite_array("precisions_init", self.precisions_init, shape)
            get_structure(self.covariance_type).precisions_cholesky_from_precisions(precisions)

    # ------------------------------------------------------------------------------------------- fit
    def fit(self, X, y=None, sample_weight=None):
        """Estimate the parameters by EM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights; an integer weight acts like repeating the row.

        Returns
        -------
        self
        """
        self._fit(X, sample_weight)
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then return the labels of ``X`` under the returned parameters."""
        return self.fit(X, sample_weight=sample_weight).predict(X)

    def _fit(self, X, sample_weight):
        self._check_parameters()
        warm = self.warm_start and hasattr(self, "converged_")
        if is_chunked_source(X):
            engine = check_fit_source(self, X, sample_weight, min_samples=max(2, self.n_components),
                                      what="n_components", n_components=self.n_components, engine=self.engine,
                                      chunk_size=self.chunk_size, n_jobs=self.n_jobs)
            self._check_initial_parameters(engine.n_features)
        else:
            X = check_fit_data(self, X, min_samples=max(2, self.n_components), what="n_components")
            sample_weight = check_sample_weight(sample_weight, X.shape[0])
            if np.count_nonzero(sample_weight) < self.n_components:
                raise ValueError(
                    f"n_components={self.n_components} needs at least that many samples with positive "
                    f"sample_weight, got {np.count_nonzero(sample_weight)}"
                )
            self._check_initial_parameters(X.shape[1])
            engine = make_engine(X, sample_weight, engine=self.engine, chunk_size=self.chunk_size,
                                 n_jobs=self.n_jobs, n_components=self.n_components)

        structure = get_structure(self.covariance_type)
        data_variance = feature_variance(engine)  # one pass, for the collapse floor and k-means' tol
        floor = COLLAPSE_RELATIVE_VARIANCE * data_variance if self.detect_collapse else None
        advice = degeneracy_advice(self.reg_covar, self.n_components)
        max_reseeds = max(10, 2 * self.n_components)

        def make_recover():
            # Per run: first try the worst-explained samples; if components keep degenerating (an
            # isolated point attracts them again), split heavy components; give up with advice after
            # a budget.
            reseeds = 0

            def recover(estimate, params):
                nonlocal reseeds
                if self.on_degenerate == "raise" or reseeds >= max_reseeds:
                    raise degenerate_error(estimate.degenerate, advice)
                strategy = "worst" if reseeds == 0 else "split"
                reseeds += len(estimate.degenerate)
                return reseed_degenerate(estimate, engine, structure, advice, strategy, previous=params)

            return recover

        callback = self._progress_callback()
        rng = check_random_state(self.random_state)
        # Out-of-core and Dask data: initialise on a sample (given means need one pass over all the data).
        init_engine = engine if warm or self.means_init is not None else initialisation_engine(engine, rng)
        best = None
        for init in range(1 if warm else self.n_init):
            recover = make_recover()
            if warm:
                start = self._fitted_params(engine.offset)
            else:
                start = initial_params(init_engine, structure, self.n_components, method=self.init_params,
                                       random_state=rng, reg_covar=self.reg_covar, recover=recover,
                                       variance_floor=floor, data_variance=data_variance,
                                       weights_init=self.weights_init, means_init=self.means_init,
                                       precisions_init=self.precisions_init)
            result = run_em(engine, start, structure, tol=self.tol, max_iter=self.max_iter,
                            reg_covar=self.reg_covar, variance_floor=floor, recover=recover, callback=callback)
            if self.verbose:
                print(f"Initialization {init}: converged={result.converged} after {result.n_iter} iterations, "
                      f"mean log-likelihood {result.log_likelihood:.6f}")
            if best is None or result.log_likelihood > best.log_likelihood:
                best = result

        if not best.converged and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init parameters, or increase "
                "max_iter, tol, or check for degenerate data.",
                ConvergenceWarning,
            )
        self._set_fitted(best.params, structure)
        self.converged_ = best.converged
        self.n_iter_ = best.n_iter
        self.lower_bound_ = best.log_likelihood
        self.lower_bounds_ = list(best.trace)
        self.n_reseeded_ = best.n_reseeded
        return self

    def _set_fitted(self, params: MixtureParams, structure):
        self.weights_ = params.weights
        self.means_ = params.absolute_means
        self.precisions_cholesky_ = params.precisions_cholesky
        self.covariances_ = (params.covariances if params.covariances is not None
                             else structure.covariances_from_precisions_cholesky(params.precisions_cholesky))
        self.precisions_ = structure.precisions_from_precisions_cholesky(params.precisions_cholesky)

    def _progress_callback(self):
        user_callback = self.callback
        verbose, interval = self.verbose, self.verbose_interval
        if user_callback is None and verbose < 2:
            return None

        def progress(iteration, mean_log_likelihood, change):
            if verbose >= 2 and iteration % interval == 0:
                print(f"  Iteration {iteration}: mean log-likelihood {mean_log_likelihood:.8f}, change {change:.3g}")
            if user_callback is not None:
                user_callback(iteration, mean_log_likelihood, change)

        return progress


def _finite_array(name, value, shape):
    array = np.asarray(value, dtype=np.float64)
    if array.shape != tuple(shape):
        raise ValueError(f"{name} has shape {array.shape}, expected {tuple(shape)}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinity")
    return array
