"""Mixtures of multivariate Student-t distributions: robust components that shrug off outliers.

A t component is a Gaussian whose covariance is scaled, row by row, by a latent weight:
``x | z = k, u ~ N(mu_k, Sigma_k / u)`` with ``u ~ Gamma(nu_k / 2, nu_k / 2)``. EM adds the expected weights
to the E-step (Peel & McLachlan 2000, section 5):

    tau_nk  = pi_k t(x_n | mu_k, Sigma_k, nu_k) / p(x_n)                   responsibilities
    u_nk    = (nu_k + d) / (nu_k + delta_nk^2)                             expected scale weight
    E log u = log u_nk + psi((nu_k + d)/2) - log((nu_k + d)/2)

and the M-step is the Gaussian one on u-weighted statistics: ``mu_k = sum tau u x / sum tau u`` and
``Sigma_k`` from the u-weighted scatter divided by ``sum tau`` -- every covariance structure's own M-step, through
:func:`gaussmix.em.estimate_parameters` (``scale_counts``). The degrees of freedom are then a one-dimensional
root (a CM-step, so the log-likelihood never decreases: ECM, Meng & Rubin 1993):

    1 - psi(nu/2) + log(nu/2) + sum_n tau_nk (E log u_nk - u_nk) / sum_n tau_nk = 0

per component, or pooled over components with ``dof_shared``. Large outliers get small ``u`` and barely move
the means and covariances. As ``nu -> inf`` the t density tends to the Gaussian one, and the fit to
:class:`~gaussmix.GaussianMixture`'s.

Every density evaluation of a fitted model (``score_samples``, ``predict_proba``, BIC, re-seeding) follows the
parameters' ``dof`` (:func:`gaussmix.em.component_log_density`), so the estimator inherits them.

References
----------
Peel, D. and McLachlan, G. J. (2000). Robust mixture modelling using the t distribution. Statistics and
Computing 10, 339-348.
Liu, C. and Rubin, D. B. (1995). ML estimation of the t distribution using EM and its extensions, ECM and ECME.
Statistica Sinica 5, 19-39.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from .covariance import CovarianceStructure
from .em import ParameterEstimate, _normalise_rows, centre, statistics_from_responsibilities, weighted_log_density
from .gaussian_mixture import GaussianMixture
from .params import MixtureParams
from .stats import SufficientStatistics

__all__ = ["StudentTMixture", "StudentTStatistics", "expect_student_t", "incomplete_student_t_statistics",
           "update_dof"]

MIN_DOF = 1e-2
MAX_DOF = 1e4
"""Bounds of the degrees of freedom: below MIN_DOF a component has no finite moment worth the name; at MAX_DOF
it is Gaussian to within ~1e-4 in every density ratio (the root-finder returns MAX_DOF when the data ask for
more)."""

INITIAL_DOF = 10.0


@dataclass(frozen=True, eq=False)
class StudentTStatistics(SufficientStatistics):
    """:class:`~gaussmix.stats.SufficientStatistics` of t components: ``sums`` and ``scatter`` are u-weighted,
    ``counts`` are not; plus

    scale_counts : ndarray of shape (n_components,)
        ``a_k = sum_n w_n tau_nk u_nk``.
    dof_terms : ndarray of shape (n_components,)
        ``sum_n w_n tau_nk (log u_nk - u_nk)`` (with ``u`` under the parameters that produced them).
    """

    scale_counts: np.ndarray = None
    dof_terms: np.ndarray = None

    def __add__(self, other: "StudentTStatistics") -> "StudentTStatistics":
        total = SufficientStatistics.__add__(self, other)
        return StudentTStatistics(total.weight_sum, total.log_likelihood, total.counts, total.sums, total.scatter,
                                  self.scale_counts + other.scale_counts, self.dof_terms + other.dof_terms)


def expect_student_t(chunk: np.ndarray, sample_weight: np.ndarray, params: MixtureParams,
                     structure: CovarianceStructure, noise_log_density=None,
                     offset: np.ndarray | None = None) -> StudentTStatistics:
    """E-step of t components on one chunk (same signature as :func:`gaussmix.em.expect`).

    The u-weighted sums and scatter are computed by the structure from rows ``tau_nk u_nk / s_n`` that sum to
    one, with weights ``w_n s_n`` (``s_n = sum_k tau_nk u_nk``): the same statistics, in the form every
    structure's scatter accepts.
    """
    if noise_log_density is not None:
        raise ValueError("Student-t components with a noise component are not supported")
    if offset is not None:
        chunk = centre(chunk, offset)
    squared = structure.squared_mahalanobis(chunk, params.means, params.precisions_cholesky).astype(np.float64)
    responsibilities = weighted_log_density(chunk, params, structure).astype(np.float64)
    log_norm = _normalise_rows(responsibilities)
    n_features = chunk.shape[1]
    dof = params.dof
    scale = (dof + n_features) / (dof + squared)  # u_nk
    weighted_scale = responsibilities * scale
    share = weighted_scale.sum(axis=1)
    normalised = weighted_scale / share[:, None]
    stats = statistics_from_responsibilities(chunk, sample_weight * share, normalised.astype(chunk.dtype),
                                             params.means, structure, log_likelihood=float(sample_weight @ log_norm))
    weighted_responsibilities = responsibilities * sample_weight[:, None]
    return StudentTStatistics(float(sample_weight.sum()), stats.log_likelihood,
                              weighted_responsibilities.sum(axis=0), stats.sums, stats.scatter,
                              scale_counts=stats.counts,
                              dof_terms=(weighted_responsibilities * (np.log(scale) - scale)).sum(axis=0))


expect_student_t.accepts_offset = True


def incomplete_student_t_statistics(chunk: np.ndarray, sample_weight: np.ndarray, params: MixtureParams,
                                    structure: CovarianceStructure) -> StudentTStatistics:
    """Expected complete-data statistics of t components for rows that each have NaN (missing at random).

    Given the observed coordinates ``x_o`` (``p_o`` of them) a t component is t on them, with
    ``E[u | x_o] = (nu + p_o) / (nu + delta_o^2)`` and, given ``u``, ``x_m ~ N(E[x_m | x_o], Cov[x_m | x_o] / u)``.
    Hence the u-weighted moments are ``E[u x] = u (x_o, E[x_m | x_o])`` and
    ``E[u (x - m)(x - m)^T] = u r r^T + Cov[x_m | x_o]`` on the missing block (not scaled by u), with ``r`` the
    completed residual. ``E[log u | x_o]`` has ``psi((nu + p_o)/2) - log((nu + p_o)/2)`` in place of the complete
    rows' ``d``; the difference is folded into ``dof_terms`` so that :func:`update_dof` applies unchanged.
    """
    from scipy.special import digamma

    from .missing import add_completed_moments, completed_patterns

    dof = params.dof
    n_components, n_features = params.means.shape
    counts, scale_counts, dof_terms = np.zeros(n_components), np.zeros(n_components), np.zeros(n_components)
    sums = np.zeros((n_components, n_features))
    scatter = np.zeros((n_components, n_features, n_features))
    log_likelihood = 0.0
    full_correction = digamma(0.5 * (dof + n_features)) - np.log(0.5 * (dof + n_features))
    for pattern in completed_patterns(chunk, sample_weight, params, structure):
        n_observed = pattern.conditionals.n_observed
        scale = (dof + n_observed) / (dof + pattern.conditionals.squared_mahalanobis)  # E[u | x_o], (n, K)
        scaled = pattern.weighted * scale
        log_likelihood += float(pattern.weights @ pattern.log_density)
        counts += pattern.weighted.sum(axis=0)
        scale_counts += scaled.sum(axis=0)
        add_completed_moments(pattern, scaled, sums, scatter)  # the conditional covariance enters unscaled
        correction = digamma(0.5 * (dof + n_observed)) - np.log(0.5 * (dof + n_observed)) - full_correction
        dof_terms += (pattern.weighted * (np.log(scale) - scale + correction)).sum(axis=0)
    return StudentTStatistics(float(sample_weight.sum()), log_likelihood, counts, sums,
                              structure.scatter_from_dense(scatter, params.precisions_cholesky),
                              scale_counts=scale_counts, dof_terms=dof_terms)


def update_dof(dof: np.ndarray, counts: np.ndarray, dof_terms: np.ndarray, n_features: int,
               shared: bool = False) -> np.ndarray:
    """The CM-step for the degrees of freedom (Peel & McLachlan 2000, eq. 30), per component or pooled.

    Solves ``1 - psi(nu/2) + log(nu/2) + mean(log u - u) + psi((nu_old + d)/2) - log((nu_old + d)/2) = 0``
    for ``nu`` by Brent's method on ``[MIN_DOF, MAX_DOF]``; its left side decreases in ``nu``, so a positive
    value at ``MAX_DOF`` means the component is as Gaussian as the bounds allow.
    """
    from scipy.optimize import brentq
    from scipy.special import digamma

    dof = np.asarray(dof, dtype=np.float64)
    correction = digamma(0.5 * (dof + n_features)) - np.log(0.5 * (dof + n_features))
    if shared:
        constant = np.full(dof.shape, 1.0 + dof_terms.sum() / counts.sum() + correction[0])
    else:
        constant = 1.0 + dof_terms / np.maximum(counts, np.finfo(float).tiny) + correction
    new = np.empty_like(dof)
    for k, c in enumerate(constant):
        def equation(nu, c=c):
            return c - digamma(0.5 * nu) + np.log(0.5 * nu)

        if equation(MAX_DOF) >= 0:
            new[k] = MAX_DOF
        elif equation(MIN_DOF) <= 0:
            new[k] = MIN_DOF
        else:
            new[k] = brentq(equation, MIN_DOF, MAX_DOF, xtol=1e-10, rtol=1e-12)
    return new


def _fixed_dof(dof, n_components: int) -> np.ndarray | None:
    """``dof`` as one value per component when it is a number, None for 'learn'."""
    if isinstance(dof, str):
        return None
    return np.full(n_components, float(dof))


class StudentTMixture(GaussianMixture):
    """Mixture of multivariate Student-t distributions fitted by ECM: robust to outliers.

    Everything :class:`~gaussmix.GaussianMixture` does (every covariance structure -- scikit-learn's four and
    mclust's 14 --, sample weights, every engine, multiple starts, checkpoints, BIC/AIC/ICL, ``select_model``
    candidates) with t components; see :mod:`gaussmix.student_t` for the algorithm.

    Parameters
    ----------
    n_components : int, default=1
    covariance_type : str, default='full'
    dof : 'learn' or float, default='learn'
        Degrees of freedom ``nu``: estimated (a CM-step per iteration, starting from ``dof_init``), or fixed.
    dof_shared : bool, default=False
        One ``nu`` for all components (estimated from all of them) instead of one each.
    dof_init : float, default=10.0
        Starting value of learned degrees of freedom.
    init_params : default='trimmed-kmeans'
        As for GaussianMixture, but trimmed k-means by default (:func:`gaussmix.init.trimmed_kmeans`): k-means
        and the agglomeration put a centre among gross outliers, a local optimum EM does not leave (on the
        benchmark's data, ``benchmarks/bench_student_t.py``, every k-means or 'hc' start did).
    **kwargs
        :class:`~gaussmix.GaussianMixture`'s other parameters (``tol``, ``max_iter``, ``n_init``,
        ``init_params``, ``reg_covar``, ``random_state``, ``missing``, ``engine``, ...). A prior, a noise
        component, frozen parameters and hard assignment are not available for t components yet.
    missing : {'error', 'em'}, default='error'
        'em': NaN entries are missing at random; EM uses each row's observed coordinates, on which a t component
        is t with the same degrees of freedom (:func:`incomplete_student_t_statistics`).

    Attributes
    ----------
    dof_ : ndarray of shape (n_components,)
        Fitted (or fixed) degrees of freedom.
    weights_, means_, covariances_, precisions_, precisions_cholesky_
        As for GaussianMixture; ``covariances_`` are the t scale matrices (the covariance of component k is
        ``nu_k / (nu_k - 2)`` times it, for ``nu_k > 2``).
    lower_bound_, lower_bounds_
        Mean log-likelihood (of the t mixture) of the returned parameters and per iteration; never decreasing.
    """

    # GaussianMixture's options that t components do not offer yet (fit reads them).
    prior = None
    noise = None
    freeze = ()
    assignment = "soft"
    responsibilities_init = None

    def __init__(self, n_components=1, *, covariance_type="full", dof="learn", dof_shared=False, dof_init=INITIAL_DOF,
                 tol=1e-3, reg_covar=1e-6, max_iter=100, n_init=1, init_params="trimmed-kmeans", weights_init=None,
                 means_init=None, precisions_init=None, random_state=None, warm_start=False, verbose=0,
                 verbose_interval=10, on_degenerate="reseed", detect_collapse=True, chunk_size=None, n_jobs=None,
                 callback=None, checkpoint=None, missing="error", engine="auto"):
        super().__init__(n_components, covariance_type=covariance_type, tol=tol, reg_covar=reg_covar,
                         max_iter=max_iter, n_init=n_init, init_params=init_params, weights_init=weights_init,
                         means_init=means_init, precisions_init=precisions_init, random_state=random_state,
                         warm_start=warm_start, verbose=verbose, verbose_interval=verbose_interval,
                         on_degenerate=on_degenerate, detect_collapse=detect_collapse, chunk_size=chunk_size,
                         n_jobs=n_jobs, callback=callback, checkpoint=checkpoint, missing=missing, engine=engine)
        self.dof = dof
        self.dof_shared = dof_shared
        self.dof_init = dof_init

    def _check_parameters(self):
        super()._check_parameters()
        if isinstance(self.dof, str):
            if self.dof != "learn":
                raise ValueError(f"dof must be 'learn' or a positive number, got {self.dof!r}")
        elif not (isinstance(self.dof, numbers.Real) and MIN_DOF <= self.dof <= MAX_DOF):
            raise ValueError(f"dof must be 'learn' or a number in [{MIN_DOF}, {MAX_DOF}], got {self.dof!r}")
        if not (isinstance(self.dof_init, numbers.Real) and MIN_DOF <= self.dof_init <= MAX_DOF):
            raise ValueError(f"dof_init must be a number in [{MIN_DOF}, {MAX_DOF}], got {self.dof_init!r}")
        if not isinstance(self.dof_shared, (bool, np.bool_)):
            raise ValueError(f"dof_shared must be True or False, got {self.dof_shared!r}")

    # The hooks of GaussianMixture's fit: the E-step, the M-step's extra part and the start's dof.
    def _expect(self, has_missing: bool):
        if has_missing:
            from .missing import expect_with_missing

            return expect_with_missing  # t-aware through params.dof
        return expect_student_t

    def _start(self, params: MixtureParams) -> MixtureParams:
        fixed = _fixed_dof(self.dof, params.n_components)
        return params.replace(dof=np.full(params.n_components, float(self.dof_init)) if fixed is None else fixed)

    def _maximize_hook(self):
        if not isinstance(self.dof, str):
            return None  # fixed degrees of freedom: the mixture's M-step is the whole M-step

        def update(stats: StudentTStatistics, params: MixtureParams, estimate: ParameterEstimate) -> ParameterEstimate:
            dof = update_dof(params.dof, stats.counts, stats.dof_terms, params.n_features, self.dof_shared)
            return ParameterEstimate(estimate.weights, estimate.means, estimate.covariances,
                                     estimate.precisions_cholesky, estimate.offset, estimate.degenerate, dof)
        return update

    def _set_fitted(self, params: MixtureParams, structure, dtype):
        super()._set_fitted(params, structure, dtype)
        self.dof_ = np.asarray(params.dof, dtype=np.float64).copy()

    def _fitted_params(self, offset: np.ndarray) -> MixtureParams:
        return super()._fitted_params(offset).replace(dof=np.asarray(self.dof_, dtype=np.float64))

    def _n_parameters(self) -> int:
        learned = 0 if not isinstance(self.dof, str) else (1 if self.dof_shared else self.means_.shape[0])
        return super()._n_parameters() + learned

    def _draw(self, n_samples: int, rng, caller: str):
        """t draws: Gaussian draws divided by ``sqrt(u)``, ``u ~ Gamma(nu/2, rate nu/2)`` per draw."""
        draws, labels = super()._draw(n_samples, rng, caller)
        means = np.asarray(self.means_, dtype=np.float64)[labels]
        dof = self.dof_[labels]
        scale = rng.gamma(0.5 * dof, 2.0 / dof)
        return means + (draws - means) / np.sqrt(scale)[:, None], labels

    def outlier_scores(self, X, reference=None, n_samples: int = 100_000, random_state=None,
                       kind: str = "density") -> np.ndarray:
        """How much each row looks like an outlier, shape (n_samples,), in [0, 1]; near 1 for outliers.

        kind='density': the content of the smallest highest-density region through the row, as for every
        mixture (:meth:`gaussmix.GaussianMixture.outlier_scores`; ``reference``, ``n_samples`` and
        ``random_state`` are its). kind='mahalanobis': ``F_{d, nu}(delta^2 / d)``, the distribution function of the
        squared Mahalanobis distance to the row's most probable component, which is ``d F(d, nu)`` distributed
        under that t component: the share of that component's rows that lie closer to its centre.
        kind='weight': ``1 - sum_k tau_k min(u_k, 1)``: how much EM down-weights the row (``u_k`` its expected
        scale weight, ``tau_k`` its responsibilities).
        """
        from scipy.stats import f as f_distribution

        if kind == "density":
            return super().outlier_scores(X, reference, n_samples, random_state)
        if kind not in ("mahalanobis", "weight"):
            raise ValueError(f"kind must be 'density', 'mahalanobis' or 'weight', got {kind!r}")
        responsibilities = self.predict_proba(X)
        X = np.asarray(X, dtype=np.float64)
        params = self._fitted_params(np.zeros(X.shape[1]))
        squared = self._structure.squared_mahalanobis(X, params.means, params.precisions_cholesky)
        n_features = X.shape[1]
        if kind == "weight":
            scale = (self.dof_ + n_features) / (self.dof_ + squared)
            return 1.0 - np.sum(responsibilities * np.minimum(scale, 1.0), axis=1)
        nearest = responsibilities.argmax(axis=1)
        rows = np.arange(X.shape[0])
        return f_distribution.cdf(squared[rows, nearest] / n_features, n_features, self.dof_[nearest])

    def cdf(self, X) -> np.ndarray:
        """Cumulative distribution function of a one-dimensional t mixture, ``sum_k pi_k T_nu_k((x - mu_k) / s_k)``."""
        from scipy.stats import t as t_distribution

        weights, means, scales = self._check_one_dimensional("cdf")
        scalar = np.ndim(X) == 0
        x = np.reshape(np.asarray(X, dtype=np.float64), (-1, 1))
        values = t_distribution.cdf((x - means) / scales, self.dof_) @ weights
        return float(values[0]) if scalar else values

    def ppf(self, q) -> np.ndarray:
        """Quantiles of a one-dimensional t mixture, the inverse of :meth:`cdf`: for each ``q`` the root of
        ``F(x) = q`` by Brent's method between the smallest and largest component quantile (an exact bracket)."""
        from scipy.optimize import brentq
        from scipy.stats import t as t_distribution

        weights, means, scales = self._check_one_dimensional("ppf")
        q = np.asarray(q, dtype=np.float64)
        if np.any(np.isnan(q)) or np.any((q < 0) | (q > 1)):
            raise ValueError("ppf needs probabilities in [0, 1]")
        flat = q.ravel()
        result = np.empty_like(flat)
        for i, p in enumerate(flat):
            if p <= 0.0 or p >= 1.0:
                result[i] = -np.inf if p <= 0.0 else np.inf
                continue
            bounds = means + scales * t_distribution.ppf(p, self.dof_)
            low, high = bounds.min(), bounds.max()
            result[i] = low if low == high else brentq(lambda x: self.cdf(x) - p, low, high, xtol=1e-14, rtol=1e-14)
        return float(result[0]) if q.ndim == 0 else result.reshape(q.shape)
