"""Mixtures of multivariate Student-t distributions: robust components that shrug off outliers.

A t component is a Gaussian whose covariance is scaled, row by row, by a latent weight:
``x | z = k, u ~ N(mu_k, Sigma_k / u)`` with ``u ~ Gamma(nu_k / 2, nu_k / 2)``. EM adds the expected weights
to the E-step (Peel & McLachlan 2000, section 5):

    tau_nk  = pi_k t(x_n | mu_k, Sigma_k, nu_k) / p(x_n)                   responsibilities
    u_nk    = (nu_k + d) / (nu_k + delta_nk^2)                             expected scale weight
    E log u = log u_nk + psi((nu_k + d)/2) - log((nu_k + d)/2)

and the M-step is the Gaussian one on u-weighted statistics: ``mu_k = sum tau u x / sum tau u`` and
``Sigma_k`` from the u-weighted scatter divided by ``sum tau`` -- every covariance structure's own M-step, through
:func:`gaussmix.families.em.estimate_parameters` (``scale_counts``). The degrees of freedom are then a one-dimensional
root (a CM-step, so the log-likelihood never decreases: ECM, Meng & Rubin 1993):

    1 - psi(nu/2) + log(nu/2) + sum_n tau_nk (E log u_nk - u_nk) / sum_n tau_nk = 0

per component, or pooled over components with ``dof_shared``. Large outliers get small ``u`` and barely move
the means and covariances. As ``nu -> inf`` the t density tends to the Gaussian one, and the fit to
:class:`~gaussmix.GaussianMixture`'s.

Every density evaluation of a fitted model (``score_samples``, ``predict_proba``, BIC, re-seeding) follows the
parameters' ``dof`` (:func:`gaussmix.families.em.component_log_density`), so the estimator inherits them.

References
----------
Peel, D. and McLachlan, G. J. (2000). Robust mixture modelling using the t distribution. Statistics and
Computing 10, 339-348.
Liu, C. and Rubin, D. B. (1995). ML estimation of the t distribution using EM and its extensions, ECM and ECME.
Statistica Sinica 5, 19-39.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..covariance import CovarianceStructure
from ..params import MixtureParams
from ..stats import SufficientStatistics
from .em import _normalise_rows, centre, statistics_from_responsibilities, weighted_log_density
from .missing import add_completed_moments, completed_patterns, expect_completed

__all__ = ["StudentTStatistics", "expect_student_t", "expect_student_t_with_missing", "incomplete_student_t_statistics",
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
    """E-step of t components on one chunk (same signature as :func:`gaussmix.families.em.expect`).

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


def expect_student_t_with_missing(chunk: np.ndarray, sample_weight: np.ndarray, params: MixtureParams,
                                  structure: CovarianceStructure, noise_log_density=None) -> StudentTStatistics:
    """The Student-t E-step on a centred chunk whose NaN entries are missing at random: :func:`expect_student_t`
    on the complete rows, :func:`incomplete_student_t_statistics` on the others
    (:func:`gaussmix.families.missing.expect_completed`)."""
    return expect_completed(chunk, sample_weight, params, structure, noise_log_density, expect_student_t,
                            _incomplete_rows)


def _incomplete_rows(chunk, sample_weight, params, structure, noise=None) -> StudentTStatistics:
    if noise is not None:
        raise ValueError("Student-t components with a noise component are not supported")
    return incomplete_student_t_statistics(chunk, sample_weight, params, structure)


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


