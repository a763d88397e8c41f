"""BayesianGaussianMixture: variational Dirichlet and Dirichlet-process mixtures, a drop-in for scikit-learn's.

The model and the fitting loop are scikit-learn's (see :mod:`gaussmix.families.variational`); on top come
sample weights, every engine, the trace of the bound, the effective number of components with optional
pruning, weight credible intervals and the Student-t posterior predictive density
(:mod:`gaussmix.families.predictive`).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.special import logsumexp
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._floating import as_float64, data_dtype, fitted
from .._sources import fit_engine
from .._validation import check_shared_settings
from ..covariance import VARIATIONAL_NAMES, get_structure
from ..covariance._variational import checked_array, is_positive_number, is_real
from ..engines import initialisation_engine, make_engine
from ..exceptions import ConvergenceWarning, PruningWarning
from ..families.em import statistics_from_responsibilities
from ..families.missing import check_missing_pattern, initialisation_data, observed_summary
from ..families.predictive import predictive_log_density, weight_credible_intervals
from ..families.variational import (PRIOR_TYPES, VariationalPosterior, VariationalPrior, expected_weights,
                                    lower_bound_constant, run_variational, update_posterior,
                                    variational_expect_with_missing, variational_log_density_with_missing)
from ..fitting.init import INIT_METHODS, initial_statistics
from ..fitting.starts import best_of_starts
from ..stats import SufficientStatistics
from ._base import BaseMixture, progress_callback

__all__ = ["BayesianGaussianMixture"]


class BayesianGaussianMixture(BaseMixture):
    """Variational Bayesian Gaussian mixture (finite Dirichlet or truncated Dirichlet process).

    Parameters, fitted attributes and results are scikit-learn's
    (``sklearn.mixture.BayesianGaussianMixture``; with the same initial responsibilities the bound
    trace and every fitted attribute agree to rounding), plus ``sample_weight`` in :meth:`fit`, every
    data source :class:`~gaussmix.GaussianMixture` accepts (arrays in memory, ``.npy``/Parquet/CSV files
    and :func:`~gaussmix.open_dataset` out of core, dask arrays on Dask's workers; for fitting and
    prediction), pruning of unused components and posterior summaries.

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
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data', 'hc'}, default='kmeans'
        How the starting responsibilities are drawn (see :class:`~gaussmix.GaussianMixture`): hard
        assignments to centres ('kmeans', 'k-means++', 'random_from_data'), random responsibilities
        ('random'), or mclust's hierarchical partition of at most 1000 rows ('hc', whose statistics are
        scaled to the total weight; see :func:`gaussmix.fitting.init.initial_statistics`).
    weight_concentration_prior_type : {'dirichlet_process', 'dirichlet_distribution'}, default='dirichlet_process'
    weight_concentration_prior : float > 0 or None, default=None
        ``alpha_0``; None means ``1 / n_components``.
    mean_precision_prior : float > 0 or None, default=None
        ``beta_0``; None means 1.
    mean_prior : array of shape (n_features,) or None, default=None
        ``m_0``; None means the (weighted) mean of the data.
    degrees_of_freedom_prior : float > n_features - 1 or None, default=None
        ``nu_0``; None means ``n_features``. Any value above ``n_features - 1`` is valid, as in
        scikit-learn: that is where the Wishart distribution is defined (its normaliser has
        ``Gamma((nu_0 - d + 1) / 2)``), so ``nu_0 = d - 0.5`` is allowed; values at or below
        ``n_features - 1`` raise a ValueError saying so.
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
        iterations with the others until convergence. scikit-learn keeps every component. Dropping
        components that hold almost no data raises the ELBO (their KL cost goes; ``elbos_`` show it).
        It is not guaranteed to: when the converged ELBO ends below its value before pruning, the dropped
        components explained data, and a :class:`~gaussmix.PruningWarning` says so.
    responsibilities_init : array of shape (n_samples, n_components) or None, default=None
        Explicit starting responsibilities (rows sum to one) instead of ``init_params``.
    chunk_size, n_jobs, callback
        As in :class:`~gaussmix.GaussianMixture`; ``callback(iteration, lower_bound, change)``.
    engine : {'auto', 'memory', 'ooc', 'dask'}, default='auto'
        Where the data live, as in :class:`~gaussmix.GaussianMixture` ('auto' decides from the type of
        ``X``). Out-of-core and Dask fits choose their start on a uniform sample of at most 100,000 rows
        (:func:`gaussmix.engines.initialisation_engine`; all rows below that, so small sources fit exactly
        like arrays) and iterate on all rows, one pass per iteration. ``responsibilities_init`` is read
        along the rows in one pass.
    missing : {'error', 'em'}, default='error'
        'error': NaN in X is an error. 'em': NaN entries are values missing at random, as in
        :class:`~gaussmix.GaussianMixture`: the variational E-step scores each row with NaN on its observed
        features and completes it, under each component, with the conditional expectation of the missing
        features given the observed ones (plus their conditional covariance in the scatter; see
        :func:`gaussmix.families.variational.variational_expect_with_missing`); ``predict``, ``predict_proba`` and
        ``score_samples`` accept rows with NaN. The start is chosen on the complete rows (or, with too few of
        them, the column-mean-imputed rows; :func:`gaussmix.families.missing.initialisation_data`), which also give the
        default ``covariance_prior``; the default ``mean_prior`` is the mean of the observed values. Without NaN
        in the data the fit is exactly that of 'error'. Not with ``responsibilities_init``.

    Attributes
    ----------
    The fitted arrays are float32 when ``X`` is float32, else float64, as in :class:`~gaussmix.GaussianMixture`
    (scikit-learn's BayesianGaussianMixture returns float64 for float32 data); the variational updates run
    in float64 either way.

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
        scikit-learn omits (:func:`gaussmix.families.variational.lower_bound_constant`). For ``n_components=1``,
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
                 chunk_size=None, n_jobs=None, callback=None, engine="auto", missing="error"):
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
        self.engine = engine
        self.missing = missing

    # ------------------------------------------------------------------------------------ validation
    def _check_parameters(self):
        check_shared_settings(self, INIT_METHODS)
        if self.covariance_type not in VARIATIONAL_NAMES:
            raise ValueError(f"covariance_type must be one of {list(VARIATIONAL_NAMES)}, "
                             f"got {self.covariance_type!r}")
        if self.weight_concentration_prior_type not in PRIOR_TYPES:
            raise ValueError(f"weight_concentration_prior_type must be one of {list(PRIOR_TYPES)}, "
                             f"got {self.weight_concentration_prior_type!r}")
        for name in ("weight_concentration_prior", "mean_precision_prior"):
            value = getattr(self, name)
            if value is not None and not is_positive_number(value):
                raise ValueError(f"The parameter '{name}' must be a strictly positive number or None, got {value!r}")
        threshold = self.weight_threshold
        if not (is_real(threshold) and 0.0 <= threshold < 1.0):
            raise ValueError(f"weight_threshold must be a number in [0, 1), got {threshold!r}")
        if not isinstance(self.prune, (bool, np.bool_)):
            raise ValueError(f"prune must be True or False, got {self.prune!r}")

    def _check_shape(self, n_samples: int, n_features: int):
        """The checks that need the data's shape, run before any pass over the data."""
        self._check_prior_parameters(n_features)
        self._check_responsibilities(n_samples)

    def _check_prior_parameters(self, n_features: int):
        """Validate the user-given hyper-parameters that depend on the data's dimension."""
        dof = self.degrees_of_freedom_prior
        if dof is not None and not (is_real(dof) and dof > n_features - 1.0):
            raise ValueError(f"The parameter 'degrees_of_freedom_prior' should be greater than n_features - 1 = "
                             f"{n_features - 1}, but got {dof!r}: the Wishart prior on the precisions is defined "
                             f"only for degrees of freedom > n_features - 1 (any such value is valid, as in "
                             f"scikit-learn; None means n_features)")
        if self.mean_prior is not None:
            checked_array("mean_prior", self.mean_prior, (n_features,))
        if self.covariance_prior is not None:
            get_structure(self.covariance_type).checked_covariance_prior(self.covariance_prior, n_features)

    def _check_responsibilities(self, n_samples: int):
        if self.responsibilities_init is None:
            return
        responsibilities = checked_array("responsibilities_init", self.responsibilities_init,
                                         (n_samples, self.n_components))
        if np.any(responsibilities < 0) or not np.allclose(responsibilities.sum(axis=1), 1.0, rtol=0, atol=1e-8):
            raise ValueError("responsibilities_init must be non-negative with rows summing to one")

    # ------------------------------------------------------------------------------------------- fit
    def _fit(self, X, sample_weight):
        self._check_parameters()
        warm = self.warm_start and hasattr(self, "converged_")
        given = self.responsibilities_init is not None
        allow_missing = self.missing == "em"
        # Two weighted rows at least: the default covariance_prior is the data's covariance.
        engine, X, _ = fit_engine(self, X, sample_weight, n_components=self.n_components,
                                  min_positive=2 if given else max(2, self.n_components), engine=self.engine,
                                  chunk_size=self.chunk_size, n_jobs=self.n_jobs, allow_missing=allow_missing,
                                  check_shape=self._check_shape)
        if X is not None and allow_missing:
            check_missing_pattern(X)  # rows or columns with nothing observed
        # One pass tells whether there are missing values at all (a source is not looked at before).
        summary = observed_summary(engine) if allow_missing else None
        has_missing = summary is not None and summary.has_missing
        if has_missing and given:
            raise ValueError("responsibilities_init is not available with missing values (NaN) yet; "
                             "use init_params")
        n_features = engine.n_features
        responsibilities = np.asarray(self.responsibilities_init, dtype=np.float64) if given else None

        structure = get_structure(self.covariance_type)
        callback = progress_callback(self.callback, self.verbose, self.verbose_interval, "lower bound")
        rng = check_random_state(self.random_state)
        # Out-of-core and Dask data: the start is chosen on a sample (all rows up to INIT_SAMPLE_SIZE).
        sample = None if warm or given else initialisation_engine(engine, rng)
        expect = None
        if has_missing:
            # Rows with NaN have no place in k-means or the data's covariance: the start and the default
            # covariance_prior come from the complete rows of the sample (or its mean-imputed rows).
            expect = variational_expect_with_missing
            sample = sample if sample is not None else initialisation_engine(engine, rng)
            rows, weights = initialisation_data(sample.X, sample.sample_weight, self.n_components)
            sample = make_engine(rows, weights, offset=engine.offset, chunk_size=self.chunk_size, n_jobs=self.n_jobs,
                                 n_components=self.n_components)
        prior = self._prior(engine, structure, summary.means if has_missing else None,
                            sample if has_missing else None)

        def fit_start(init, best):
            if warm:
                start, previous = self._fitted_posterior(engine.offset), self.lower_bound_
            else:
                # With missing values every statistic of the start is taken on the complete sample rows.
                stats, reference = self._initial_statistics(sample if has_missing else engine, sample, structure,
                                                            responsibilities, rng)
                if has_missing and stats.weight_sum != engine.weight_sum:  # as if the other rows were like them
                    stats = stats.scaled(engine.weight_sum / stats.weight_sum)
                start, previous = update_posterior(stats, reference, prior, structure, self.reg_covar), -np.inf
            result = run_variational(engine, start, prior, structure, tol=self.tol, max_iter=self.max_iter,
                                     reg_covar=self.reg_covar, previous_bound=previous, callback=callback,
                                     expect=expect)
            if self.verbose:
                print(f"Initialization {init}: converged={result.converged} after {result.n_iter} iterations, "
                      f"lower bound {result.lower_bound:.6f}")
            return result

        best = best_of_starts(range(1 if warm else self.n_init), fit_start, lambda result: result.lower_bound)

        def constant(n_components):
            return lower_bound_constant(prior, n_components, n_features, engine.weight_sum, structure)

        posterior, trace, n_iter, converged = best.posterior, list(best.trace), best.n_iter, best.converged
        elbos = [bound + constant(posterior.n_components) for bound in trace]
        if self.prune and self.max_iter > 0:
            weights = expected_weights(posterior)
            keep = _kept_components(weights, self.weight_threshold)
            if keep.size < posterior.n_components:
                result = run_variational(engine, posterior.subset(keep, structure), prior, structure, tol=self.tol,
                                         max_iter=self.max_iter, reg_covar=self.reg_covar, callback=callback,
                                         expect=expect)
                posterior, converged, n_iter = result.posterior, result.converged, n_iter + result.n_iter
                trace += result.trace
                before = elbos[-1]
                elbos += [bound + constant(keep.size) for bound in result.trace]
                _warn_if_pruning_lowered_the_elbo(before, elbos[-1], np.delete(weights, keep), self.tol)
                best = result
        if not converged and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init parameters, or increase "
                "max_iter, tol, or check for degenerate data.",
                ConvergenceWarning,
            )
        dtype = data_dtype(engine.dtype)  # float32 data: float32 fitted arrays
        self._set_prior(prior, engine.offset, dtype)
        self._set_posterior(posterior, engine.offset, structure, dtype)
        self.converged_ = converged
        self.n_iter_ = n_iter
        self.lower_bound_ = best.lower_bound
        self.lower_bounds_ = trace
        self.elbo_ = best.lower_bound + constant(posterior.n_components)
        self.elbos_ = elbos
        return self

    def _initial_statistics(self, engine, sample, structure, responsibilities,
                            rng) -> tuple[SufficientStatistics, np.ndarray]:
        if responsibilities is None:
            return initial_statistics(engine, structure, self.n_components, self.init_params, rng, sample=sample)
        return _statistics_of_responsibilities(engine, responsibilities, structure)

    # ----------------------------------------------------------------------------------------- prior
    def _prior(self, engine, structure, observed_mean: np.ndarray | None = None,
               complete_rows=None) -> VariationalPrior:
        """The prior in centred coordinates; defaults from the (weighted) data.

        With missing values, ``observed_mean`` (n_features,) is the weighted mean of the observed values and
        ``complete_rows`` the engine (in memory) whose covariance, about its own mean, is the default
        ``covariance_prior``; both None otherwise (the data's mean and covariance).
        """
        n_features = engine.n_features
        given_mean, given_covariance = self.mean_prior is not None, self.covariance_prior is not None
        data_mean = None
        if not (given_mean and given_covariance):
            data_mean = _weighted_mean(engine) if observed_mean is None else observed_mean  # one pass
        mean = np.asarray(self.mean_prior, dtype=np.float64) - engine.offset if given_mean else data_mean
        if given_covariance:
            covariance = structure.checked_covariance_prior(self.covariance_prior, n_features)
        elif complete_rows is None:
            covariance = _default_covariance_prior(engine, structure, self.reg_covar, data_mean)
        else:
            covariance = _default_covariance_prior(complete_rows, structure, self.reg_covar,
                                                   _weighted_mean(complete_rows))
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

    def _set_prior(self, prior: VariationalPrior, offset: np.ndarray, dtype):
        self.weight_concentration_prior_ = prior.weight_concentration
        self.mean_precision_prior_ = prior.mean_precision
        self.mean_prior_ = fitted(prior.mean + offset, dtype)
        self.degrees_of_freedom_prior_ = prior.degrees_of_freedom
        self.covariance_prior_ = fitted(prior.covariance, dtype)

    # ------------------------------------------------------------------------------------- posterior
    def _set_posterior(self, posterior: VariationalPosterior, offset: np.ndarray, structure, dtype):
        """The fitted attributes from the float64 ``posterior``, in ``dtype`` (float32 for float32 data)."""
        weights = expected_weights(posterior)
        self.weight_concentration_ = fitted(posterior.weight_concentration, dtype)
        self.mean_precision_ = fitted(posterior.mean_precision, dtype)
        self.means_ = fitted(posterior.means + offset, dtype)
        self.degrees_of_freedom_ = fitted(posterior.degrees_of_freedom, dtype)
        self.covariances_ = fitted(posterior.covariances, dtype)
        self.precisions_cholesky_ = fitted(posterior.precisions_cholesky, dtype)
        self.precisions_ = fitted(structure.precisions_from_precisions_cholesky(posterior.precisions_cholesky), dtype)
        self.weights_ = fitted(weights, dtype)
        self.n_components_ = posterior.n_components
        self.n_effective_components_ = int(np.count_nonzero(weights >= self.weight_threshold))

    def _fitted_posterior(self, offset: np.ndarray) -> VariationalPosterior:
        """The fitted posterior about ``offset``, in float64 whatever the model's dtype."""
        prior_type = "dirichlet_process" if isinstance(self.weight_concentration_, tuple) else "dirichlet_distribution"
        return VariationalPosterior(prior_type, as_float64(self.weight_concentration_),
                                    as_float64(self.mean_precision_), as_float64(self.means_) - offset, as_float64(self.degrees_of_freedom_),
                                    as_float64(self.covariances_), as_float64(self.precisions_cholesky_))

    # ------------------------------------------------------------------------------------ prediction
    # BaseMixture's predict, predict_proba, score_samples, score and icl run on any source the fit
    # accepts; these hooks hand them the posterior and scikit-learn's variational responsibilities.
    def _prediction_model(self, offset: np.ndarray) -> VariationalPosterior:
        return self._fitted_posterior(offset)

    # Rows with NaN (missing='em') are scored on their observed features; chunks without NaN get exactly
    # variational_log_density.
    def _weighted_log_density(self):
        return variational_log_density_with_missing

    def _log_responsibilities(self):
        def log_responsibilities(chunk, posterior, structure):
            rho = variational_log_density_with_missing(chunk, posterior, structure)
            log_norm = logsumexp(rho, axis=1)
            return log_norm, np.exp(rho - log_norm[:, None])

        return log_responsibilities

    def score_samples(self, X, predictive: bool = False) -> np.ndarray:
        """Log-density of each row, shape (n_samples,).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or any source :meth:`fit` accepts
        predictive : bool, default=False
            False: scikit-learn's value, ``log sum_k exp(E[log pi_k] + E[log N(x | mu_k, Lambda_k)])``
            (a lower bound on the predictive, not a normalised density). True: the posterior predictive
            ``log sum_k E[pi_k] St(x | ...)``, a mixture of Student-t (see :mod:`gaussmix.families.predictive`).
        """
        if predictive:
            return self._map(X, _complete_rows_only(predictive_log_density), output=True)
        return super().score_samples(X)

    def predict_proba(self, X) -> np.ndarray:
        """Responsibilities ``r_nk`` proportional to ``exp(E[log pi_k] + E[log N(x_n | ...)])`` (as scikit-learn),
        shape (n_samples, n_components_); ``X`` may be any source :meth:`fit` accepts."""
        return super().predict_proba(X)

    def predict(self, X) -> np.ndarray:
        """Component of largest responsibility for each row, shape (n_samples,); ``X`` may be any source
        :meth:`fit` accepts."""
        return super().predict(X)

    def weight_credible_intervals(self, level: float = 0.95, *, n_draws: int = 20000, random_state=None) -> np.ndarray:
        """Equal-tailed posterior credible intervals of the weights, shape (n_components_, 2).

        Exact (Beta marginals) for 'dirichlet_distribution'; Monte Carlo with ``n_draws`` draws seeded by
        ``random_state`` for 'dirichlet_process' (see :mod:`gaussmix.families.predictive`).
        """
        check_is_fitted(self)
        return fitted(weight_credible_intervals(self._fitted_posterior(np.zeros(self.means_.shape[1])), level,
                                                n_draws=n_draws, random_state=random_state), self._model_dtype)


# ------------------------------------------------------------------------------------------ helpers
def _statistics_of_responsibilities(engine, responsibilities: np.ndarray,
                                    structure) -> tuple[SufficientStatistics, np.ndarray]:
    """Statistics of given starting responsibilities (one row each), about zero reference means.

    The rows must meet their own responsibilities, so the chunks are visited in row order on this thread
    (a Dask engine brings its blocks to the client one at a time); one pass, never all rows at once.
    """
    reference = np.zeros((responsibilities.shape[1], engine.n_features))
    total, start = None, 0
    for chunk, weights in engine.chunks():
        stop = start + chunk.shape[0]
        stats = statistics_from_responsibilities(chunk, weights, responsibilities[start:stop], reference, structure)
        total, start = (stats if total is None else total + stats), stop
    return total, reference


def _complete_rows_only(function):
    """``function(chunk, posterior, structure)`` refusing rows with NaN (they have no predictive density yet)."""
    def checked(chunk, posterior, structure):
        if np.isnan(chunk).any():
            raise ValueError("score_samples(predictive=True) needs rows without missing values (NaN); "
                             "use predictive=False")
        return function(chunk, posterior, structure)

    return checked


def _warn_if_pruning_lowered_the_elbo(before: float, after: float, dropped_weights: np.ndarray, tol: float) -> None:
    """Components with nearly no data cost ELBO (their KL terms), so dropping them raises it; a lower
    converged ELBO after pruning means the dropped components explained data the others now fit worse."""
    if before - after > max(tol, 1e-10 * abs(before)):
        warnings.warn(
            f"Pruning lowered the evidence lower bound from {before:.6g} to {after:.6g}: the {dropped_weights.size} "
            f"dropped components (largest expected weight {dropped_weights.max():.3g}) explained data that the "
            "remaining ones fit worse. Lower weight_threshold below that weight, or use prune=False.",
            PruningWarning,
        )


def _kept_components(weights: np.ndarray, threshold: float) -> np.ndarray:
    """Indices of components with weight >= threshold (the heaviest one always survives)."""
    keep = np.flatnonzero(weights >= threshold)
    return keep if keep.size else np.array([int(np.argmax(weights))])


def _check_covariance_prior(value, covariance_type: str, n_features: int) -> None:
    """Validate a ``covariance_prior`` for ``covariance_type`` (the structure checks it; kept for model files)."""
    get_structure(covariance_type).checked_covariance_prior(value, n_features)


def _weighted_mean(engine) -> np.ndarray:
    """Weighted mean of the data in centred coordinates, shape (n_features,)."""
    moments = engine.reduce(lambda chunk, w: np.concatenate([[w.sum()], w @ np.asarray(chunk, dtype=np.float64)]))
    return moments[1:] / moments[0]


def _default_covariance_prior(engine, structure, reg_covar: float, data_mean: np.ndarray):
    """The unbiased weighted covariance of the data in the prior's shape (scikit-learn's default).

    Taken about ``data_mean`` (the weighted mean in centred coordinates, shape (n_features,); not
    ``mean_prior``) with frequency weights, ``scatter / (W - 1)``, so an integer weight equals a repeated
    row. The structure's own scatter and M-step give the shape. When that is not positive definite,
    ``reg_covar`` is added to its diagonal.
    """
    n_features = engine.n_features
    about = data_mean[None, :]
    scatter = engine.reduce(lambda chunk, w: structure.scatter(chunk, np.ones((chunk.shape[0], 1), dtype=chunk.dtype),
                                                               w, about.astype(chunk.dtype)))
    total = engine.weight_sum
    if total <= 1.0:
        raise ValueError("the default covariance_prior needs sample weights summing to more than one; "
                         "pass covariance_prior")
    covariance = structure.estimate_covariances(scatter, np.array([total - 1.0]), np.zeros((1, n_features)), 0.0)
    covariance = covariance if structure.shared else covariance[0]
    if not _positive_definite_prior(covariance, structure, n_features):
        # Constant or collinear features, or fewer samples than features: scikit-learn's prior would be
        # singular and components without data would have no valid posterior. Regularise like the M-step.
        covariance = structure.estimate_covariances(scatter, np.array([total - 1.0]), np.zeros((1, n_features)),
                                                    reg_covar)
        covariance = covariance if structure.shared else covariance[0]
        if reg_covar == 0 or not _positive_definite_prior(covariance, structure, n_features):
            raise ValueError("the data's covariance is singular (a constant or collinear feature, or fewer samples "
                             "than features), so the default covariance_prior is not positive definite; pass "
                             "covariance_prior or a positive reg_covar")
    # One component's covariance is a number for a structure storing one variance per component.
    return float(covariance) if np.ndim(covariance) == 0 else covariance


def _positive_definite_prior(covariance, structure, n_features: int) -> bool:
    """Whether one component's covariance (in the structure's shape) is positive definite.

    Tested on the dense matrix by LAPACK's Cholesky factorisation, which for a diagonal matrix fails exactly
    when some variance is not positive: one test for every structure.
    """
    stacked = np.reshape(covariance, structure.covariance_shape(1, n_features))
    try:
        np.linalg.cholesky(structure.dense_covariances(stacked, 1, n_features))
    except np.linalg.LinAlgError:
        return False
    return True
