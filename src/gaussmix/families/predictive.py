"""Posterior summaries of a variational Gaussian mixture: the predictive density and weight intervals.

Posterior predictive
--------------------
Integrating a component's Gaussian over ``q(mu_k, Lambda_k)`` gives a Student-t (PRML 10.81;
Murphy 2007, "Conjugate Bayesian analysis of the Gaussian distribution", section 8), so

    p(x | data) ~= sum_k E[pi_k] St(x | m_k, Sigma_k^t, f_k),

with ``E[pi_k]`` the normalised expected weights (``weights_``). Each structure evaluates its own
(:meth:`~gaussmix.covariance.CovarianceStructure.predictive_log_density`); per covariance type, with
``C_k = W_k^{-1} / nu_k`` (scikit-learn's ``covariances_``):

- 'full' and 'tied' (Normal-Wishart): a multivariate t with ``f_k = nu_k + 1 - d`` degrees of freedom
  and scale ``Sigma_k^t = (1 + beta_k) nu_k / (beta_k f_k) C_k`` (the standard result; 'tied' shares
  ``nu`` and ``W`` but keeps each ``beta_k``).
- 'spherical': a single precision ``lambda_k ~ Gamma(nu_k / 2, rate nu_k C_k / 2)`` (mean ``1 / C_k``)
  with ``mu_k | lambda_k ~ N(m_k, I / (beta_k lambda_k))``: a multivariate t with ``f_k = nu_k`` and
  scale ``(1 + beta_k) / beta_k C_k I``.
- 'diag': the Wishart with diagonal scale is not closed under the structure, so each feature's
  precision gets the Wishart's diagonal marginal ``Gamma(nu_k / 2, rate nu_k C_kj / 2)``, independent
  across features: the predictive is a *product* of univariate t's with ``nu_k`` degrees of freedom and
  scales ``(1 + beta_k) / beta_k C_kj`` (closed form, but not a multivariate t).

Weight credible intervals
-------------------------
Dirichlet posterior: the marginal of ``pi_k`` is ``Beta(alpha_k, sum alpha - alpha_k)``; intervals are its
exact quantiles. Stick-breaking posterior: ``pi_k = v_k prod_{j<k} (1 - v_j)`` with independent
``v_k ~ Beta(a_k, b_k)`` has no closed-form marginal; intervals are Monte-Carlo quantiles (seeded), with
every draw normalised over the ``K`` components like ``weights_``.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as scipy_stats
from scipy.special import logsumexp
from sklearn.utils import check_random_state

from ..covariance import CovarianceStructure
from .variational import VariationalPosterior, expected_weights

__all__ = ["component_predictive_log_density", "predictive_log_density", "weight_credible_intervals"]


def component_predictive_log_density(chunk: np.ndarray, posterior: VariationalPosterior,
                                     structure: CovarianceStructure) -> np.ndarray:
    """``log St(x_n | m_k, Sigma_k^t, f_k)`` for every row and component, shape (n_rows, n_components).

    The structure knows its predictive (:meth:`~gaussmix.covariance.CovarianceStructure.predictive_log_density`);
    here the posterior's hyper-parameters are handed over, ``nu`` once per component even where it is shared.
    """
    nu = np.broadcast_to(np.asarray(posterior.degrees_of_freedom, dtype=np.float64), (posterior.n_components,))
    return structure.predictive_log_density(chunk, posterior.means, posterior.precisions_cholesky,
                                            posterior.mean_precision, nu)


def predictive_log_density(chunk: np.ndarray, posterior: VariationalPosterior,
                           structure: CovarianceStructure) -> np.ndarray:
    """``log sum_k E[pi_k] St(x_n | ...)``, shape (n_rows,): the posterior predictive log-density."""
    log_density = component_predictive_log_density(chunk, posterior, structure)
    with np.errstate(divide="ignore"):
        log_density += np.log(expected_weights(posterior))
    return logsumexp(log_density, axis=1)


def weight_credible_intervals(posterior: VariationalPosterior, level: float = 0.95, *, n_draws: int = 20000,
                              random_state=None) -> np.ndarray:
    """Equal-tailed credible intervals of the mixture weights, shape (n_components, 2).

    Exact Beta quantiles for the Dirichlet posterior; Monte Carlo with ``n_draws`` draws seeded by
    ``random_state`` for the stick-breaking posterior.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    tails = np.array([(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    concentration = posterior.weight_concentration
    if posterior.prior_type == "dirichlet_distribution":
        alpha = np.asarray(concentration, dtype=np.float64)
        return scipy_stats.beta.ppf(tails[None, :], alpha[:, None], (alpha.sum() - alpha)[:, None])
    rng = check_random_state(random_state)
    a, b = concentration
    sticks = rng.beta(a, b, size=(n_draws, a.shape[0]))
    remaining = np.cumprod(np.concatenate([np.ones((n_draws, 1)), 1.0 - sticks[:, :-1]], axis=1), axis=1)
    weights = sticks * remaining
    weights /= weights.sum(axis=1, keepdims=True)
    return np.quantile(weights, tails, axis=0).T
