"""BayesianGaussianMixture: variational Dirichlet and Dirichlet-process mixtures, a drop-in for scikit-learn's.

The model and the fitting loop are scikit-learn's (see :mod:`gaussmix.variational`); on top come
sample weights, every engine, the trace of the bound, the effective number of components with optional
pruning, weight credible intervals and the Student-t posterior predictive density
(:mod:`gaussmix.predictive`).
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from scipy.special import logsumexp
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._base import BaseMixture, progress_callback
from ._validation import check_fit_data, check_iteration_parameters, check_predict_data, check_sample_weight
from .covariance import get_structure
from .em import statistics_from_responsibilities
from .engines import InMemoryEngine
from .exceptions import ConvergenceWarning
from .init import INIT_METHODS, initial_statistics
from .predictive import predictive_log_density, weight_credible_intervals
from .stats import SufficientStatistics
from .variational import (PRIOR_TYPES, VariationalPosterior, VariationalPrior, expected_weights, lower_bound_constant,
                          run_variational, update_posterior, variational_log_density)

try:  # the engine factory of CONTRACTS.md section 2, once merged; until then the in-memory engine
    from .engines import make_engine
except ImportError:  # pragma: no cover - depends on the merge order
    make_engine = None

__all__ = ["BayesianGaussianMixture"]

VARIATIONAL_STRUCTURES = ("full", "tied", "diag", "spherical")


class BayesianGaussianMixture(BaseMixture):
    """Variational Bayesian Gaussian mixture (finite Dirichlet or truncated Dirichlet process).

    Parameters, fitted attributes and results are scikit-learn's
    (``sklearn.mixture.BayesianGaussianMixture``; with the same initial responsibilities the bound
    trace and every fitted attribute agree to rounding), plus ``sample_weight`` in :meth:`fit`, pruning
    of unused components and posterior summaries.

    Parameters
    ----------
    n_components : int, default=1
        Upper bound on the number of components; the posterior decides how many are used.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
    tol : float, default=1e-3
        Stop when the lower bound (a total over samples, as in scikit-learn) changes by less than this.
    reg_covar : float, default=1e-6
    max_iter : int, default=100
    n_init : int, default=1
        Initialisations; the one with the highest final lower bound is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, default='kmeans'
        How the starting responsibilities are drawn (see :class:`~gaussmix.GaussianMixture`).
    weight_concentration_prior_type : {'dirichlet_process', 'dirichlet_distribution'}, default='dirichlet_process'
    weight_concentration_prior : float > 0 or None, default=None
        ``alpha_0``; None means ``1 / n_components``.
    mean_precision_prior : float > 0 or None, default=None
        ``beta_0``; None means 1.
    mean_prior : array of shape (n_features,) or None, default=None
        ``m_0``; None means the (weighted) mean of the data.
    degrees_of_freedom_prior : float > n_features - 1 or None, default=None
        ``nu_0``; None means ``n_features``.
    covariance_prior : float or array or None, default=None
        ``W_0^{-1}``: (n_features, n_features) for 'full'/'tied', (n_features,) for 'diag', a float for
        'spherical'; None means the (weighted, unbiased) covariance of the data in that shape.
    random_state, warm_start, verbose, verbose_interval
        As in scikit-learn.
    weight_threshold : float in [0, 1), default=0.01
        Components whose expected weight is at least this count as effective
        (``n_effective_components_``) and survive pruning.
    prune : bool, default=False
        After convergence, drop the components below ``weight_threshold`` and continue the variational
        iterations with the others until convergence. scikit-learn keeps every component.
    responsibilities_init : array of shape (n_samples, n_components) or None, default=None
        Explicit starting responsibilities (rows sum to one) instead of ``init_params``.
    chunk_size, n_jobs, callback
        As in :class:`~gaussmix.GaussianMixture`; ``callback(iteration, lower_bound, change)``.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components_,)
        Normalised expected weights ``E[pi_k]``.
    means_ : ndarray of shape (n_components_, n_features)
        Posterior means ``m_k`` of the component means.
    covariances_, precisions_, precisions_cholesky_ : ndarray in the ``covariance_type`` shape
        ``W_k^{-1} / nu_k`` (the inverse of the expected precision), its inverse and Cholesky factors.
    weight_concentration_prior_, mean_precision_prior_, mean_prior_, degrees_of_freedom_prior_, covariance_prior_
        The prior actually used.
    weight_concentration_ : ndarray of shape (n_components_,) or tuple of two such arrays
        Dirichlet concentrations, or stick-breaking Beta parameters.
    mean_precision_ : ndarray of shape (n_components_,)
    degrees_of_freedom_ : ndarray of shape (n_components_,), or float for 'tied'
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Lower bound (ELBO up to an additive constant, as scikit-learn's) of the returned posterior.
    lower_bounds_ : list of float
        The bound after every iteration of the best initialisation; non-decreasing. With ``prune=True``
        the iterations after pruning follow; at the pruning step the omitted constant changes with the
        number of components, so values on either side are not comparable (``elbos_`` are).
    elbo_, elbos_ : float, list of float
        The evidence lower bound itself: ``lower_bound_`` and ``lower_bounds_`` plus the constant
        scikit-learn omits (:func:`gaussmix.variational.lower_bound_constant`). For ``n_components=1``,
        'full' or 'tied' and ``reg_covar=0`` it is the exact log marginal likelihood. 'diag' and
        'spherical' use scikit-learn's approximate Wishart updates, for which it is the same constant
        added to their bound.
    n_components_ : int
        Components kept (``n_components`` unless pruned).
    n_effective_components_ : int
        Components with ``weights_ >= weight_threshold``.
    n_features_in_, feature_names_in_
    """

    def __init__(self, n_components=1, *, covariance_type="full", tol=1e-3, reg_covar=1e-6, max_iter=100,
                 n_init=1, init_params="kmeans", weight_concentration_prior_type="dirichlet_process",
                 weight_concentration_prior=None, mean_precision_prior=None, mean_prior=None,
                 degrees_of_freedom_prior=None, covariance_prior=None, random_state=None, warm_start=False,
                 verbose=0, verbose_interval=10, weight_threshold=1e-2, prune=False, responsibilities_init=None,
                 chunk_size=None, n_jobs=None, callback=None):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.weight_threshold = weight_threshold
        self.prune = prune
        self.responsibilities_init = responsibilities_init
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs
        self.callback = callback

    # ------------------------------------------------------------------------------------ validation
    def _check_parameters(self):
        check_iteration_parameters(self, INIT_METHODS)
        if self.covariance_type not in VARIATIONAL_STRUCTURES:
            raise ValueError(f"covariance_type must be one of {list(VARIATIONAL_STRUCTURES)}, "
                             f"got {self.covariance_type!r}")
        if self.weight_concentration_prior_type not in PRIOR_TYPES:
            raise ValueError(f"weight_concentration_prior_type must be one of {list(PRIOR_TYPES)}, "
                             f"got {self.weight_concentration_prior_type!r}")
        for name in ("weight_concentration_prior", "mean_precision_prior"):
            value = getattr(self, name)
            if value is not None and not _is_positive_number(value):
                raise ValueError(f"The parameter '{name}' must be a strictly positive number or None, got {value!r}")
        threshold = self.weight_threshold
        if not (_is_real(threshold) and 0.0 <= threshold < 1.0):
            raise ValueError(f"weight_threshold must be a number in [0, 1), got {threshold!r}")
        if not isinstance(self.prune, (bool, np.bool_)):
            raise ValueError(f"prune must be True or False, got {self.prune!r}")

    def _check_prior_parameters(self, n_features: int):
        """Validate the user-given hyper-parameters that depend on the data's dimension."""
        dof = self.degrees_of_freedom_prior
        if dof is not None and not (_is_real(dof) and dof > n_features - 1.0):
            raise ValueError(f"The parameter 'degrees_of_freedom_prior' should be greater than {n_features - 1}, "
                             f"but got {dof!r} (it must exceed n_features - 1)")
        if self.mean_prior is not None:
            _checked_array("mean_prior", self.mean_prior, (n_features,))
        if self.covariance_prior is not None:
            _check_covariance_prior(self.covariance_prior, self.covariance_type, n_features)

    def _check_responsibilities(self, n_samples: int):
        if self.responsibilities_init is None:
            return None
        responsibilities = _checked_array("responsibilities_init", self.responsibilities_init,
                                          (n_samples, self.n_components))
        if np.any(responsibilities < 0) or not np.allclose(responsibilities.sum(axis=1), 1.0, rtol=0, atol=1e-8):
            raise ValueError("responsibilities_init must be non-negative with rows summing to one")
        return responsibilities

    # ------------------------------------------------------------------------------------------- fit
    def _fit(self, X, sample_weight):
        self._check_parameters()
        warm = self.warm_start and hasattr(self, "converged_")
        X = check_fit_data(self, X, min_samples=max(2, self.n_components), what="n_components")
        n_samples, n_features = X.shape
        sample_weight = check_sample_weight(sample_weight, n_samples)
        if np.count_nonzero(sample_weight) < 2:
            raise ValueError("at least two samples with positive sample_weight are needed")
        self._check_prior_parameters(n_features)
        responsibilities = self._check_responsibilities(n_samples)

        structure = get_structure(self.covariance_type)
        engine = self._make_engine(X, sample_weight)
        prior = self._prior(engine, structure)
        callback = progress_callback(self.callback, self.verbose, self.verbose_interval, "lower bound")
        rng = check_random_state(self.random_state)

        best = None
        for init in range(1 if warm else self.n_init):
            if warm:
                start, previous = self._fitted_posterior(engine.offset), self.lower_bound_
            else:
                stats, reference = self._initial_statistics(engine, structure, responsibilities, sample_weight, rng)
                start, previous = update_posterior(stats, reference, prior, structure, self.reg_covar), -np.inf
            result = run_variational(engine, start, prior, structure, tol=self.tol, max_iter=self.max_iter,
                                     reg_covar=self.reg_covar, previous_bound=previous, callback=callback)
            if self.verbose:
                print(f"Initialization {init}: converged={result.converged} after {result.n_iter} iterations, "
                      f"lower bound {result.lower_bound:.6f}")
            if best is None or result.lower_bound > best.lower_bound:
                best = result

        def constant(n_components):
            return lower_bound_constant(prior, n_components, n_features, engine.weight_sum, structure)

        posterior, trace, n_iter, converged = best.posterior, list(best.trace), best.n_iter, best.converged
        elbos = [bound + constant(posterior.n_components) for bound in trace]
        if self.prune and self.max_iter > 0:
            keep = _kept_components(expected_weights(posterior), self.weight_threshold)
            if keep.size < posterior.n_components:
                result = run_variational(engine, posterior.subset(keep), prior, structure, tol=self.tol,
                                         max_iter=self.max_iter, reg_covar=self.reg_covar, callback=callback)
                posterior, converged, n_iter = result.posterior, result.converged, n_iter + result.n_iter
                trace += result.trace
                elbos += [bound + constant(keep.size) for bound in result.trace]
                best = result
        if not converged and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init parameters, or increase "
                "max_iter, tol, or check for degenerate data.",
                ConvergenceWarning,
            )
        self._set_prior(prior, engine.offset)
        self._set_posterior(posterior, engine.offset, structure)
        self.converged_ = converged
        self.n_iter_ = n_iter
        self.lower_bound_ = best.lower_bound
        self.lower_bounds_ = trace
        self.elbo_ = best.lower_bound + constant(posterior.n_components)
        self.elbos_ = elbos
        return self

    def _make_engine(self, X, sample_weight):
        if make_engine is not None:
            return make_engine(X, sample_weight, chunk_size=self.chunk_size, n_jobs=self.n_jobs,
                               n_components=self.n_components)
        return InMemoryEngine(X, sample_weight, chunk_size=self.chunk_size, n_jobs=self.n_jobs,
                              n_components=self.n_components)

    def _initial_statistics(self, engine, structure, responsibilities, sample_weight,
                            rng) -> tuple[SufficientStatistics, np.ndarray]:
        if responsibilities is None:
            return initial_statistics(engine, structure, self.n_components, self.init_params, rng)
        # Explicit responsibilities belong to rows, so they are applied to all rows at once.
        reference = np.zeros((self.n_components, engine.n_features))
        rows = engine.rows(np.arange(engine.n_samples))
        return statistics_from_responsibilities(rows, sample_weight, responsibilities, reference, structure), reference

    # ----------------------------------------------------------------------------------------- prior
    def _prior(self, engine, structure) -> VariationalPrior:
        """The prior in centred coordinates; defaults from the (weighted) data."""
        n_features = engine.n_features
        mean = (np.asarray(self.mean_prior, dtype=np.float64) - engine.offset if self.mean_prior is not None
                else _weighted_mean(engine))
        if self.covariance_prior is not None:
            covariance = _as_prior_shape(self.covariance_prior, self.covariance_type)
        else:
            covariance = _default_covariance_prior(engine, structure, self.reg_covar)
        return VariationalPrior(
            prior_type=self.weight_concentration_prior_type,
            weight_concentration=(1.0 / self.n_components if self.weight_concentration_prior is None
                                  else float(self.weight_concentration_prior)),
            mean_precision=1.0 if self.mean_precision_prior is None else float(self.mean_precision_prior),
            mean=mean,
            degrees_of_freedom=(float(n_features) if self.degrees_of_freedom_prior is None
                                else float(self.degrees_of_freedom_prior)),
            covariance=covariance,
        )

    def _set_prior(self, prior: VariationalPrior, offset: np.ndarray):
        self.weight_concentration_prior_ = prior.weight_concentration
        self.mean_precision_prior_ = prior.mean_precision
        self.mean_prior_ = prior.mean + offset
        self.degrees_of_freedom_prior_ = prior.degrees_of_freedom
        self.covariance_prior_ = prior.covariance

    # ------------------------------------------------------------------------------------- posterior
    def _set_posterior(self, posterior: VariationalPosterior, offset: np.ndarray, structure):
        self.weight_concentration_ = posterior.weight_concentration
        self.mean_precision_ = posterior.mean_precision
        self.means_ = posterior.means + offset
        self.degrees_of_freedom_ = posterior.degrees_of_freedom
        self.covariances_ = posterior.covariances
        self.precisions_cholesky_ = posterior.precisions_cholesky
        self.precisions_ = structure.precisions_from_precisions_cholesky(posterior.precisions_cholesky)
        self.weights_ = expected_weights(posterior)
        self.n_components_ = posterior.n_components
        self.n_effective_components_ = int(np.count_nonzero(self.weights_ >= self.weight_threshold))

    def _fitted_posterior(self, offset: np.ndarray) -> VariationalPosterior:
        prior_type = "dirichlet_process" if isinstance(self.weight_concentration_, tuple) else "dirichlet_distribution"
        return VariationalPosterior(prior_type, self.weight_concentration_, self.mean_precision_, self.means_ - offset,
                                    self.degrees_of_freedom_, self.covariances_, self.precisions_cholesky_)

    def _posterior_map(self, X, function) -> np.ndarray:
        check_is_fitted(self)
        X = check_predict_data(self, X)
        engine, _ = self._prediction_engine(X)
        posterior = self._fitted_posterior(engine.offset)
        structure = self._structure
        return engine.map(lambda chunk, weights: function(chunk, posterior, structure))

    # ------------------------------------------------------------------------------------ prediction
    def score_samples(self, X, predictive: bool = False) -> np.ndarray:
        """Log-density of each row, shape (n_samples,).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        predictive : bool, default=False
            False: scikit-learn's value, ``log sum_k exp(E[log pi_k] + E[log N(x | mu_k, Lambda_k)])``
            (a lower bound on the predictive, not a normalised density). True: the posterior predictive
            ``log sum_k E[pi_k] St(x | ...)``, a mixture of Student-t (see :mod:`gaussmix.predictive`).
        """
        if predictive:
            return self._posterior_map(X, predictive_log_density)
        return self._posterior_map(X, lambda chunk, posterior, structure: _log_normaliser(
            variational_log_density(chunk, posterior, structure)))

    def predict_proba(self, X) -> np.ndarray:
        """Responsibilities ``r_nk`` proportional to ``exp(E[log pi_k] + E[log N(x_n | ...)])`` (as scikit-learn)."""
        def responsibilities(chunk, posterior, structure):
            rho = variational_log_density(chunk, posterior, structure)
            return np.exp(rho - _log_normaliser(rho)[:, None])

        return self._posterior_map(X, responsibilities)

    def predict(self, X) -> np.ndarray:
        """Most probable component of each row, shape (n_samples,)."""
        return self._posterior_map(X, lambda chunk, posterior, structure:
                                   variational_log_density(chunk, posterior, structure).argmax(axis=1))

    def weight_credible_intervals(self, level: float = 0.95, *, n_draws: int = 20000, random_state=None) -> np.ndarray:
        """Equal-tailed posterior credible intervals of the weights, shape (n_components_, 2).

        Exact (Beta marginals) for 'dirichlet_distribution'; Monte Carlo with ``n_draws`` draws seeded by
        ``random_state`` for 'dirichlet_process' (see :mod:`gaussmix.predictive`).
        """
        check_is_fitted(self)
        return weight_credible_intervals(self._fitted_posterior(np.zeros(self.means_.shape[1])), level,
                                         n_draws=n_draws, random_state=random_state)

# ------------------------------------------------------------------------------------------ helpers
def _log_normaliser(rho: np.ndarray) -> np.ndarray:
    return logsumexp(rho, axis=1)


def _kept_components(weights: np.ndarray, threshold: float) -> np.ndarray:
    """Indices of components with weight >= threshold (the heaviest one always survives)."""
    keep = np.flatnonzero(weights >= threshold)
    return keep if keep.size else np.array([int(np.argmax(weights))])


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)


def _is_positive_number(value) -> bool:
    return _is_real(value) and value > 0


def _checked_array(name: str, value, shape: tuple) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers") from None
    if array.shape != tuple(shape):
        raise ValueError(f"The parameter '{name}' should have the shape of {tuple(shape)}, but got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinity")
    return array


def _check_covariance_prior(value, covariance_type: str, n_features: int) -> None:
    name = "covariance_prior"
    if covariance_type in ("full", "tied"):
        matrix = _checked_array(name, value, (n_features, n_features))
        if not np.allclose(matrix, matrix.T, rtol=1e-10, atol=1e-14 * np.abs(matrix).max()):
            raise ValueError(f"'{covariance_type} covariance_prior' should be symmetric, positive-definite")
        try:
            np.linalg.cholesky(matrix)
        except np.linalg.LinAlgError:
            raise ValueError(f"'{covariance_type} covariance_prior' should be symmetric, positive-definite") from None
    elif covariance_type == "diag":
        vector = _checked_array(name, value, (n_features,))
        if np.any(vector <= 0):
            raise ValueError("'diag covariance_prior' should be positive")
    elif not _is_positive_number(value):
        raise ValueError(f"The parameter 'covariance_prior' must be a strictly positive number for 'spherical', "
                         f"got {value!r}")


def _as_prior_shape(value, covariance_type: str):
    return float(value) if covariance_type == "spherical" else np.asarray(value, dtype=np.float64)


def _weighted_mean(engine) -> np.ndarray:
    """Weighted mean of the data in centred coordinates, shape (n_features,)."""
    moments = engine.reduce(lambda chunk, w: np.concatenate([[w.sum()], w @ np.asarray(chunk, dtype=np.float64)]))
    return moments[1:] / moments[0]


def _default_covariance_prior(engine, structure, reg_covar: float):
    """The unbiased weighted covariance of the data in the prior's shape (scikit-learn's default).

    Taken about the data mean (not ``mean_prior``) with frequency weights, ``scatter / (W - 1)``, so an
    integer weight equals a repeated row. The structure's own scatter and M-step give the shape. When
    that is not positive definite, ``reg_covar`` is added to its diagonal.
    """
    n_features = engine.n_features
    data_mean = _weighted_mean(engine)[None, :]
    scatter = engine.reduce(lambda chunk, w: structure.scatter(chunk, np.ones((chunk.shape[0], 1), dtype=chunk.dtype),
                                                               w, data_mean.astype(chunk.dtype)))
    total = engine.weight_sum
    if total <= 1.0:
        raise ValueError("the default covariance_prior needs sample weights summing to more than one; "
                         "pass covariance_prior")
    covariance = structure.estimate_covariances(scatter, np.array([total - 1.0]), np.zeros((1, n_features)), 0.0)
    covariance = covariance if structure.shared else covariance[0]
    if not _positive_definite_prior(covariance, structure):
        # Constant or collinear features, or fewer samples than features: scikit-learn's prior would be
        # singular and components without data would have no valid posterior. Regularise like the M-step.
        covariance = structure.estimate_covariances(scatter, np.array([total - 1.0]), np.zeros((1, n_features)),
                                                    reg_covar)
        covariance = covariance if structure.shared else covariance[0]
        if reg_covar == 0 or not _positive_definite_prior(covariance, structure):
            raise ValueError("the data's covariance is singular (a constant or collinear feature, or fewer samples "
                             "than features), so the default covariance_prior is not positive definite; pass "
                             "covariance_prior or a positive reg_covar")
    return float(covariance) if structure.name == "spherical" else covariance


def _positive_definite_prior(covariance, structure) -> bool:
    if structure.name in ("full", "tied"):
        try:
            np.linalg.cholesky(covariance)
        except np.linalg.LinAlgError:
            return False
        return True
    return bool(np.all(np.asarray(covariance) > 0))
