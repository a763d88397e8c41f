"""Variational Bayes for Gaussian mixtures: the variational E-step, the posterior update and the bound.

The model is scikit-learn's ``BayesianGaussianMixture`` (Bishop, PRML section 10.2; Blei & Jordan 2006
for the Dirichlet process): weights with a Dirichlet or truncated stick-breaking prior, and for every
component a Normal-Wishart prior on mean and precision. Variational EM is EM with different pieces::

    vstats    = sum(variational_expect(chunk, weights, posterior, structure) for chunk in engine)
    posterior = update_posterior(vstats.statistics, posterior.means, prior, structure, reg_covar)
    bound     = lower_bound(vstats.entropy, posterior, structure)

The E-step replaces ``log pi_k + log N(x | mu_k, Sigma_k)`` by its expectation under the posterior,
``E[log pi_k] + E[log N(x | mu_k, Lambda_k)]`` (expected log weights, expected log determinants, plus
``d / beta_k`` for the uncertainty of the mean), and turns the normalised responsibilities into the
*same* :class:`~gaussmix.stats.SufficientStatistics` as EM (counts, sums and scatter in the structure's
shape, via :func:`gaussmix.families.em.statistics_from_responsibilities`). The update turns those statistics into
posterior hyper-parameters. Everything is additive over chunks, so every engine runs it unchanged.

All arrays are in the engine's centred coordinates (``x - offset``); estimators add the offset back.

The bound
---------
:func:`lower_bound` is scikit-learn's ``lower_bound_``, reproduced term by term so traces agree:
right after the update (when ``q(theta)`` is optimal for the responsibilities ``r``), the ELBO reduces to

    - sum_n w_n sum_k r_nk log r_nk  -  sum_k log B(W_k, nu_k)  -  log C(alpha)  -  d/2 sum_k log beta_k
    + constant,

where ``log B`` is the Wishart log-normaliser (scikit-learn's, which drops ``d(d-1)/4 log pi``), ``log C``
the Dirichlet log-normaliser (``-sum_k log Beta(a_k, b_k)`` for the stick-breaking prior). The omitted
constant, :func:`lower_bound_constant`, depends on the prior, ``K``, ``d`` and the weight sum ``W`` only:

    log C(alpha_0) + K log B(W_0, nu_0) + K d(d-1)/4 log pi + K d/2 log beta_0 - W d/2 log 2 pi

(``log C(alpha_0) = -K log Beta(1, alpha_0)`` for the stick-breaking prior). It changes neither the
monotonicity nor the convergence test; adding it gives the ELBO itself, which for ``K = 1`` and
``reg_covar = 0`` equals the exact log marginal likelihood of the Normal-Wishart model. The identity
holds when ``reg_covar == 0``; ``reg_covar`` perturbs the update (as in scikit-learn) by
``N_k reg_covar`` on the scale matrix's diagonal.

The 'tied', 'diag' and 'spherical' variants are scikit-learn's: one Wishart shared by all components
with ``nu = nu_0 + N / K`` for 'tied'; for 'diag' and 'spherical' the Wishart formulas applied to the
diagonal (respectively to the per-feature average) of the scale.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from typing import Callable, Optional, Union

import numpy as np
from scipy.special import betaln, digamma, gammaln, logsumexp

from ..covariance import CovarianceStructure
from ..exceptions import DegenerateComponentError
from ..fitting.driver import Step, change_below_tol, drive
from ..params import MixtureParams
from ..stats import SufficientStatistics
from .conditional import condition_components
from .em import statistics_from_responsibilities
from .missing import add_completed_moments, completed_patterns, incomplete_patterns

__all__ = [
    "PRIOR_TYPES", "VariationalPosterior", "VariationalPrior", "VariationalResult", "VariationalStatistics",
    "expected_log_weights", "expected_weights", "lower_bound", "lower_bound_constant", "run_variational", "update_posterior",
    "variational_expect", "variational_expect_with_missing", "variational_log_density",
    "variational_log_density_with_missing",
]

logger = logging.getLogger("gaussmix")

PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")

COUNT_FLOOR = 10 * np.finfo(np.float64).eps
"""Added to every count before the update (as scikit-learn does): an empty component gets the prior."""


@dataclass(frozen=True, eq=False)
class VariationalPrior:
    """Hyper-parameters of the prior, in centred coordinates.

    Attributes
    ----------
    prior_type : {'dirichlet_process', 'dirichlet_distribution'}
    weight_concentration : float
        ``alpha_0 > 0``: Dirichlet concentration, or the stick-breaking ``Beta(1, alpha_0)`` parameter.
    mean_precision : float
        ``beta_0 > 0``.
    mean : ndarray of shape (n_features,)
        ``m_0`` in centred coordinates.
    degrees_of_freedom : float
        ``nu_0 > n_features - 1``.
    covariance : ndarray
        ``W_0^{-1}``: (n_features, n_features) for 'full' and 'tied', (n_features,) for 'diag', a scalar
        for 'spherical'.
    """

    prior_type: str
    weight_concentration: float
    mean_precision: float
    mean: np.ndarray
    degrees_of_freedom: float
    covariance: Union[np.ndarray, float]


@dataclass(frozen=True, eq=False)
class VariationalPosterior:
    """Hyper-parameters of ``q(pi) q(mu, Lambda)``, in centred coordinates (scikit-learn's attributes).

    Attributes
    ----------
    prior_type : str
    weight_concentration : ndarray of shape (n_components,) or tuple of two such arrays
        Dirichlet ``alpha_k``, or the stick-breaking Beta parameters ``(a_k, b_k)``.
    mean_precision : ndarray of shape (n_components,)
        ``beta_k``.
    means : ndarray of shape (n_components, n_features)
        ``m_k``.
    degrees_of_freedom : ndarray of shape (n_components,), or float for 'tied'
        ``nu_k``.
    covariances : ndarray in the structure's covariance shape
        ``W_k^{-1} / nu_k``, the inverse of the expected precision ``E[Lambda_k] = nu_k W_k``.
    precisions_cholesky : ndarray in the structure's covariance shape
        Cholesky factors of ``nu_k W_k``.
    """

    prior_type: str
    weight_concentration: Union[np.ndarray, tuple]
    mean_precision: np.ndarray
    means: np.ndarray
    degrees_of_freedom: Union[np.ndarray, float]
    covariances: np.ndarray
    precisions_cholesky: np.ndarray

    @property
    def n_components(self) -> int:
        return self.means.shape[0]

    def subset(self, keep: np.ndarray, structure: CovarianceStructure) -> "VariationalPosterior":
        """The posterior of the components ``keep`` (indices, in order); used when pruning.

        A structure with one covariance for all components (:attr:`CovarianceStructure.shared`) keeps its
        single ``nu``, ``W`` and factor.
        """
        concentration = self.weight_concentration
        concentration = (tuple(c[keep] for c in concentration) if isinstance(concentration, tuple)
                         else concentration[keep])
        shared = structure.shared
        return VariationalPosterior(
            self.prior_type, concentration, self.mean_precision[keep], self.means[keep],
            self.degrees_of_freedom if shared else self.degrees_of_freedom[keep],
            self.covariances if shared else self.covariances[keep],
            self.precisions_cholesky if shared else self.precisions_cholesky[keep],
        )


@dataclass(frozen=True, eq=False)
class VariationalStatistics:
    """What one variational E-step adds up: EM's statistics plus the responsibilities' entropy.

    Attributes
    ----------
    statistics : SufficientStatistics
        Counts, sums and scatter about the posterior means; ``log_likelihood`` holds
        ``sum_n w_n log sum_k exp(rho_nk)`` (``rho`` = expected log weight + expected log density).
    entropy : float
        ``- sum_n w_n sum_k r_nk log r_nk``.
    """

    statistics: SufficientStatistics
    entropy: float

    def __add__(self, other: "VariationalStatistics") -> "VariationalStatistics":
        if not isinstance(other, VariationalStatistics):
            return NotImplemented
        return VariationalStatistics(self.statistics + other.statistics, self.entropy + other.entropy)


# --------------------------------------------------------------------------------------------- weights
def expected_log_weights(posterior: VariationalPosterior) -> np.ndarray:
    """``E[log pi_k]`` under ``q(pi)``, shape (n_components,).

    Dirichlet: ``psi(alpha_k) - psi(sum alpha)``. Stick-breaking: ``E[log v_k] + sum_{j<k} E[log(1 - v_j)]``.
    """
    concentration = posterior.weight_concentration
    if posterior.prior_type == "dirichlet_process":
        a, b = concentration
        digamma_sum = digamma(a + b)
        log_remainders = digamma(b) - digamma_sum
        return digamma(a) - digamma_sum + np.concatenate([[0.0], np.cumsum(log_remainders)[:-1]])
    return digamma(concentration) - digamma(np.sum(concentration))


def expected_weights(posterior: VariationalPosterior) -> np.ndarray:
    """``E[pi_k]`` normalised to sum to one (scikit-learn's ``weights_``), shape (n_components,).

    For the stick-breaking prior ``E[pi_k] = E[v_k] prod_{j<k} E[1 - v_j]``; the mass beyond the
    truncation is spread proportionally by the normalisation.
    """
    concentration = posterior.weight_concentration
    if posterior.prior_type == "dirichlet_process":
        a, b = concentration
        total = a + b
        weights = a / total * np.concatenate([[1.0], np.cumprod(b / total)[:-1]])
    else:
        weights = np.asarray(concentration, dtype=np.float64)
    return weights / weights.sum()


def _concentration_from_counts(prior: VariationalPrior, counts: np.ndarray):
    if prior.prior_type == "dirichlet_process":
        # b_k = alpha_0 + sum_{j > k} N_j
        later = np.concatenate([np.cumsum(counts[::-1])[-2::-1], [0.0]])
        return (1.0 + counts, prior.weight_concentration + later)
    return prior.weight_concentration + counts


def _log_weight_normaliser(posterior: VariationalPosterior) -> float:
    """``log C(alpha)`` of ``q(pi)``: Dirichlet, or the product of the stick-breaking Betas."""
    concentration = posterior.weight_concentration
    if posterior.prior_type == "dirichlet_process":
        return float(-np.sum(betaln(*concentration)))
    return float(gammaln(np.sum(concentration)) - np.sum(gammaln(concentration)))


# ------------------------------------------------------------------------------------------- E-step
def _expected_log_det_precision(degrees_of_freedom, n_features: int):
    """``E[log det Lambda] - log det(nu W)`` = ``d log 2 + sum_j psi((nu - j)/2) - d log nu``."""
    nu = np.asarray(degrees_of_freedom, dtype=np.float64)
    return (n_features * math.log(2.0) + np.sum(digamma(0.5 * (nu - np.arange(n_features)[:, None])), axis=0)
            - n_features * np.log(nu))


def variational_log_density(chunk: np.ndarray, posterior: VariationalPosterior,
                            structure: CovarianceStructure) -> np.ndarray:
    """``rho_nk = E[log pi_k] + E[log N(x_n | mu_k, Lambda_k^{-1})]``, shape (n_rows, n_components).

    ``E[log N] = log N(x | m_k, (nu_k W_k)^{-1}) + 1/2 (E[log det Lambda_k] - log det(nu_k W_k))
    - d / (2 beta_k)``.
    """
    n_features = chunk.shape[1]
    log_prob = structure.log_gaussian_density(chunk, posterior.means, posterior.precisions_cholesky)
    log_prob = np.asarray(log_prob, dtype=np.float64)
    log_prob += 0.5 * (_expected_log_det_precision(posterior.degrees_of_freedom, n_features)
                       - n_features / posterior.mean_precision)
    log_prob += expected_log_weights(posterior)
    return log_prob


def variational_expect(chunk: np.ndarray, sample_weight: np.ndarray, posterior: VariationalPosterior,
                       structure: CovarianceStructure) -> VariationalStatistics:
    """Variational E-step on one centred chunk.

    Parameters
    ----------
    chunk : ndarray of shape (n_rows, n_features)
    sample_weight : ndarray of shape (n_rows,)
    posterior : VariationalPosterior
    structure : CovarianceStructure

    Returns
    -------
    VariationalStatistics
        Statistics about ``posterior.means`` and the weighted entropy of the responsibilities.
    """
    log_norm, responsibilities, entropy = _normalised(variational_log_density(chunk, posterior, structure),
                                                      sample_weight)
    stats = statistics_from_responsibilities(chunk, sample_weight, responsibilities, posterior.means, structure,
                                             log_likelihood=float(sample_weight @ log_norm))
    return VariationalStatistics(stats, entropy)


def _normalised(rho: np.ndarray, sample_weight: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """``(log sum_k exp rho_nk, responsibilities r_nk, - sum_n w_n sum_k r_nk log r_nk)`` of ``rho`` (n_rows, K)."""
    log_norm = logsumexp(rho, axis=1)
    log_resp = rho - log_norm[:, None]
    responsibilities = np.exp(log_resp)
    # 0 log 0 = 0: a responsibility that underflowed contributes nothing (and must not give NaN).
    plogp = np.where(responsibilities > 0, responsibilities * log_resp, 0.0)
    return log_norm, responsibilities, -float(sample_weight @ plogp.sum(axis=1))


# ------------------------------------------------------------------------------ missing values (NaN)
def _observed_log_density(conditionals, n_features: int, posterior: VariationalPosterior) -> np.ndarray:
    """``rho_nk - E[log pi_k]`` of rows sharing one missingness pattern, shape (n_rows, n_components).

    The missing coordinates are latent, with a factor ``q(x_m | z = k)`` of the variational posterior. Given
    ``q(mu_k, Lambda_k)`` its optimum is Gaussian with precision ``E[Lambda_k]_mm``: the conditional
    distribution of ``x_m`` given ``x_o`` under ``N(m_k, C_k)``, ``C_k = E[Lambda_k]^{-1} = W_k^{-1} / nu_k``
    (the posterior's ``covariances``; ``conditionals`` hold it). Taking the expectation of
    :func:`variational_log_density`'s ``E[log N(x | mu_k, Lambda_k)]`` over it and adding its entropy leaves

        log N(x_o | m_ko, C_koo) + 1/2 (E[log det Lambda_k] - log det(nu_k W_k)) - d / (2 beta_k),

    the complete-row formula with the Gaussian term on the observed coordinates only (Bishop 2006, section
    10.2, with the missing block as one more latent variable; Ghahramani & Jordan 1994).
    """
    return conditionals.log_marginal + 0.5 * (_expected_log_det_precision(posterior.degrees_of_freedom, n_features)
                                              - n_features / posterior.mean_precision)


def _completion_entropy(conditionals) -> np.ndarray:
    """``H[q(x_m | z = k)] = 1/2 (m (1 + log 2 pi) + log det Cov[x_m | x_o, k])``, shape (n_components,)."""
    covariances = conditionals.covariances
    n_missing = covariances.shape[-1]
    half_log_det = np.log(np.diagonal(np.linalg.cholesky(covariances), axis1=1, axis2=2)).sum(axis=1)
    return 0.5 * n_missing * (1.0 + math.log(2.0 * math.pi)) + half_log_det


def _dense_posterior_covariances(posterior: VariationalPosterior, structure: CovarianceStructure) -> np.ndarray:
    """``C_k = W_k^{-1} / nu_k`` as full matrices (K, d, d), float64."""
    n_components, n_features = posterior.means.shape
    return np.asarray(structure.dense_covariances(posterior.covariances, n_components, n_features), dtype=np.float64)


def variational_log_density_with_missing(chunk: np.ndarray, posterior: VariationalPosterior,
                                         structure: CovarianceStructure) -> np.ndarray:
    """``rho_nk`` of :func:`variational_log_density` over each row's observed coordinates, shape (n_rows, K).

    A row with NaN entries gets the complete-row formula with the Gaussian density of its observed coordinates
    (the missing ones integrated out under their variational factor; see :func:`_observed_log_density`); a
    chunk without NaN gets exactly :func:`variational_log_density`.
    """
    missing = np.isnan(chunk)
    if not missing.any():
        return variational_log_density(chunk, posterior, structure)
    complete = ~missing.any(axis=1)
    result = np.empty((chunk.shape[0], posterior.n_components))
    if complete.any():
        result[complete] = variational_log_density(chunk[complete], posterior, structure)
    dense, log_weights = _dense_posterior_covariances(posterior, structure), expected_log_weights(posterior)
    for observed, rows in incomplete_patterns(missing):
        values = np.asarray(chunk[rows][:, observed], dtype=np.float64)
        conditionals = condition_components(posterior.means, dense, observed, values)
        result[rows] = _observed_log_density(conditionals, chunk.shape[1], posterior) + log_weights
    return result


def variational_expect_with_missing(chunk: np.ndarray, sample_weight: np.ndarray, posterior: VariationalPosterior,
                                   structure: CovarianceStructure) -> VariationalStatistics:
    """Variational E-step on a centred chunk whose NaN entries are missing at random.

    Drop-in for :func:`variational_expect` (identical on a chunk without NaN). Rows with NaN get
    responsibilities from :func:`variational_log_density_with_missing` and add the expected complete-data
    statistics of :mod:`gaussmix.families.missing`: each component completes the row with ``E[x_m | x_o, k]`` under
    ``N(m_k, C_k)`` (the posterior's means and ``W_k^{-1} / nu_k``) and adds ``Cov[x_m | x_o, k]`` to the
    scatter, so :func:`update_posterior` is unchanged. That completion is the optimal variational factor of
    the missing values (see :func:`_observed_log_density`); its entropy joins the responsibilities' in
    ``entropy``, so that :func:`lower_bound` stays the evidence lower bound (up to the same constant) and
    never decreases.
    """
    incomplete = np.isnan(chunk).any(axis=1)
    if not incomplete.any():
        return variational_expect(chunk, sample_weight, posterior, structure)
    n_components, n_features = posterior.means.shape
    # The completions of missing.py under the point N(m_k, C_k); its responsibilities are replaced below.
    point = MixtureParams(expected_weights(posterior), posterior.means, posterior.covariances,
                          posterior.precisions_cholesky, np.zeros(n_features))
    log_weights = expected_log_weights(posterior)
    counts, sums = np.zeros(n_components), np.zeros((n_components, n_features))
    scatter = np.zeros((n_components, n_features, n_features))
    log_likelihood = entropy = 0.0
    rows = chunk[incomplete]
    weights = sample_weight[incomplete]
    for pattern in completed_patterns(rows, weights, point, structure):
        rho = _observed_log_density(pattern.conditionals, n_features, posterior) + log_weights
        log_norm, responsibilities, pattern_entropy = _normalised(rho, pattern.weights)
        weighted = responsibilities * pattern.weights[:, None]
        log_likelihood += float(pattern.weights @ log_norm)
        entropy += pattern_entropy + float(weighted.sum(axis=0) @ _completion_entropy(pattern.conditionals))
        counts += weighted.sum(axis=0)
        add_completed_moments(replace(pattern, weighted=weighted), weighted, sums, scatter)
    stats = SufficientStatistics(weight_sum=float(weights.sum()), log_likelihood=log_likelihood, counts=counts,
                                 sums=sums, scatter=structure.scatter_from_dense(scatter))
    result = VariationalStatistics(stats, entropy)
    if not incomplete.all():
        result = variational_expect(chunk[~incomplete], sample_weight[~incomplete], posterior, structure) + result
    return result


# ------------------------------------------------------------------------------------------- update
def _per_component(values, like: np.ndarray, structure: CovarianceStructure):
    """Broadcast per-component ``values`` (K,) against an array in the covariance shape."""
    if structure.shared:
        return values
    return np.reshape(values, (-1,) + (1,) * (np.ndim(like) - 1))


def update_posterior(stats: SufficientStatistics, reference_means: np.ndarray, prior: VariationalPrior,
                     structure: CovarianceStructure, reg_covar: float = 0.0) -> VariationalPosterior:
    """Posterior hyper-parameters from statistics taken about ``reference_means`` (PRML 10.58-10.63).

    With ``N_k``, data means ``xbar_k`` and covariances ``S_k`` (plus ``reg_covar``) of the statistics:
    ``alpha_k = alpha_0 + N_k`` (or the stick-breaking Betas), ``beta_k = beta_0 + N_k``,
    ``m_k = (beta_0 m_0 + N_k xbar_k) / beta_k``, ``nu_k = nu_0 + N_k`` and
    ``W_k^{-1} = W_0^{-1} + N_k S_k + (beta_0 N_k / beta_k)(xbar_k - m_0)(xbar_k - m_0)^T``, stored
    normalised as ``W_k^{-1} / nu_k``. For 'tied', ``N_k`` in the last two becomes ``sum N / K``
    (scikit-learn's convention).

    The between-means term is added to the scatter as the structure's own scatter of the points
    ``xbar_k - m_0`` with weights ``beta_0 N_k / beta_k``, so no structure is special-cased.

    Raises
    ------
    DegenerateComponentError
        If a posterior scale is not positive definite (only possible with a singular prior scale).
    """
    n_components, n_features = stats.sums.shape
    counts = stats.counts + COUNT_FLOOR
    shifts = stats.sums / counts[:, None]
    data_means = reference_means + shifts
    mean_precision = prior.mean_precision + counts
    means = (prior.mean_precision * prior.mean + counts[:, None] * data_means) / mean_precision[:, None]

    between_weights = prior.mean_precision * counts / mean_precision
    between = structure.scatter(data_means - prior.mean, np.eye(n_components), between_weights,
                                np.zeros((n_components, n_features)))
    # (S + between - N delta delta^T) / N + reg_covar = S_k + between_k / N_k in the covariance shape.
    per_count = structure.estimate_covariances(stats.scatter + between, counts, shifts, reg_covar)
    effective_counts = counts.sum() / n_components if structure.shared else counts
    degrees_of_freedom = prior.degrees_of_freedom + effective_counts
    scale = prior.covariance + _per_component(effective_counts, per_count, structure) * per_count
    covariances = scale / _per_component(degrees_of_freedom, scale, structure)
    precisions_cholesky, singular = structure.cholesky_of_precisions(covariances)
    if np.any(singular):
        raise DegenerateComponentError(int(np.flatnonzero(singular)[0]), "singular",
                                       "the covariance_prior must be positive definite")
    return VariationalPosterior(prior.prior_type, _concentration_from_counts(prior, counts), mean_precision, means,
                                degrees_of_freedom, covariances, precisions_cholesky)


# -------------------------------------------------------------------------------------------- bound
def _log_wishart_normaliser(degrees_of_freedom, log_det_cholesky: np.ndarray, n_features: int) -> np.ndarray:
    """Wishart ``log B(W, nu)`` without ``d(d-1)/4 log pi``; ``log_det_cholesky = log det W^{1/2}``."""
    nu = np.asarray(degrees_of_freedom, dtype=np.float64)
    return -(nu * log_det_cholesky + nu * n_features * 0.5 * math.log(2.0)
             + np.sum(gammaln(0.5 * (nu - np.arange(n_features)[:, None])), axis=0))


def lower_bound(entropy: float, posterior: VariationalPosterior, structure: CovarianceStructure) -> float:
    """scikit-learn's ``lower_bound_``: the ELBO up to a constant (see the module docstring).

    Parameters
    ----------
    entropy : float
        ``- sum_n w_n sum_k r_nk log r_nk`` of the responsibilities the posterior was updated from.
    """
    n_components, n_features = posterior.means.shape
    log_det_cholesky = (structure.log_det_precision_cholesky(posterior.precisions_cholesky, n_components, n_features)
                        - 0.5 * n_features * np.log(posterior.degrees_of_freedom))
    log_wishart = np.sum(_log_wishart_normaliser(posterior.degrees_of_freedom, log_det_cholesky, n_features))
    return float(entropy - log_wishart - _log_weight_normaliser(posterior)
                 - 0.5 * n_features * np.sum(np.log(posterior.mean_precision)))


def lower_bound_constant(prior: VariationalPrior, n_components: int, n_features: int, weight_sum: float,
                         structure: CovarianceStructure) -> float:
    """What :func:`lower_bound` omits: add it to get the evidence lower bound itself.

    ``log C(alpha_0) + K [log B(W_0, nu_0) + d(d-1)/4 log pi] + K d/2 log beta_0 - W d/2 log 2 pi``
    (see the module docstring). ``log det W_0`` is taken in the structure's shape (the diagonal for
    'diag', ``d`` times the variance for 'spherical'), matching the bound's own Wishart terms.
    """
    alpha, nu, d = prior.weight_concentration, prior.degrees_of_freedom, n_features
    if prior.prior_type == "dirichlet_process":
        log_weight_normaliser = -n_components * float(betaln(1.0, alpha))
    else:
        log_weight_normaliser = float(gammaln(n_components * alpha) - n_components * gammaln(alpha))
    covariance = np.reshape(np.asarray(prior.covariance, dtype=np.float64), structure.covariance_shape(1, d))
    factor, singular = structure.cholesky_of_precisions(covariance)
    if np.any(singular):
        raise ValueError("covariance_prior is not positive definite")
    log_det_scale_cholesky = float(structure.log_det_precision_cholesky(factor, 1, d)[0])  # log det W_0^{1/2}
    log_wishart_prior = float(_log_wishart_normaliser(nu, np.array([log_det_scale_cholesky]), d)[0])
    return (log_weight_normaliser + n_components * (log_wishart_prior + 0.5 * d * math.log(prior.mean_precision))
            - 0.5 * weight_sum * d * math.log(2.0 * math.pi))


# --------------------------------------------------------------------------------------------- loop
@dataclass(frozen=True)
class VariationalResult:
    """What one run of variational EM returns.

    Attributes
    ----------
    posterior : VariationalPosterior
        After the last update.
    lower_bound : float
        The bound of ``posterior`` (the last entry of ``trace``; ``-inf`` when no iteration ran).
    trace : list of float
        The bound after every iteration (scikit-learn's ``lower_bounds_``).
    n_iter : int
    converged : bool
    """

    posterior: VariationalPosterior
    lower_bound: float
    trace: list
    n_iter: int
    converged: bool


Callback = Callable[[int, float, float], object]


def run_variational(engine, posterior: VariationalPosterior, prior: VariationalPrior, structure: CovarianceStructure,
                    *, tol: float, max_iter: int, reg_covar: float, previous_bound: float = -np.inf,
                    callback: Optional[Callback] = None, expect=None) -> VariationalResult:
    """Alternate variational E-steps and updates until the bound changes by less than ``tol``.

    Parameters
    ----------
    engine
        Supplies ``reduce(function)`` over centred chunks (any engine).
    posterior : VariationalPosterior
        Starting point (e.g. :func:`update_posterior` of initial responsibilities' statistics).
    previous_bound : float
        Bound of ``posterior`` when known (a warm start); the first change is measured from it.
    callback : callable, optional
        ``callback(iteration, bound, change)`` after every iteration.
    expect : callable, optional
        The per-chunk E-step, default :func:`variational_expect` (:func:`variational_expect_with_missing` for
        data with missing values).
    """

    family = VariationalFamily(prior, structure, reg_covar, expect)
    result = drive(family, engine, posterior, tol=tol, max_iter=max_iter, callback=callback,
                   previous_objective=previous_bound)
    return VariationalResult(result.state, result.objective, result.trace, result.n_iter, result.converged)


class VariationalFamily:
    """Variational Bayes for the Gaussian mixture as a :class:`~gaussmix.fitting.driver.Family`.

    The E-step is :func:`variational_expect` (responsibilities under the expected log-parameters, with their
    entropy), the update is :func:`update_posterior`, and the objective is the evidence lower bound of the
    updated posterior (:func:`lower_bound`), which coordinate ascent never lowers (Bishop 2006, section 10.2).
    """

    centred = True
    monotone = False  # the bound is evaluated after the update; nothing to undo
    final_e_step = False
    held_statistics = None
    converged = staticmethod(change_below_tol)

    def __init__(self, prior: VariationalPrior, structure: CovarianceStructure, reg_covar: float, expect=None):
        self.prior, self.structure, self.reg_covar = prior, structure, reg_covar
        self.chunk_expect = variational_expect if expect is None else expect  # or variational_expect_with_missing

    def expect(self, chunk: np.ndarray, weights: np.ndarray, posterior: VariationalPosterior) -> VariationalStatistics:
        return self.chunk_expect(chunk, weights, posterior, self.structure)

    def maximize(self, vstats: VariationalStatistics, posterior: VariationalPosterior) -> Step:
        updated = update_posterior(vstats.statistics, posterior.means, self.prior, self.structure, self.reg_covar)
        return Step(updated, objective=lower_bound(vstats.entropy, updated, self.structure))

    def objective(self, vstats: VariationalStatistics, posterior: VariationalPosterior) -> float:
        """The bound of the posterior updated from these statistics."""
        return self.maximize(vstats, posterior).objective

    def recover(self, step: Step, posterior: VariationalPosterior) -> VariationalPosterior:
        raise AssertionError("the variational update flags no component")  # prior terms keep every one proper


