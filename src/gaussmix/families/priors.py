"""Conjugate priors for maximum a posteriori (MAP) estimation, after mclust's ``priorControl``.

The prior (Fraley & Raftery 2007, "Bayesian regularization for normal mixture estimation and model-based
clustering", J. Classification 24:155-181) is, for every component ``k``,

    pi ~ Dirichlet(alpha, ..., alpha)
    Sigma_k ~ inverse-Wishart(dof, scale)                      (density ∝ |Sigma|^{-(dof+d+1)/2} e^{-tr(scale Sigma^{-1})/2})
    mu_k | Sigma_k ~ Normal(mean, Sigma_k / shrinkage)

restricted to the covariance structure's constrained set (for shared-covariance structures such as
'tied'/EEE the factor of every component applies to the one shared matrix). The posterior mode then has
the same form as the maximum-likelihood M-step with prior-augmented statistics:

    mu_k = (N_k xbar_k + shrinkage mean) / (N_k + shrinkage)
    Sigma: minimise sum_k [a_k log det Sigma_k + tr(B_k Sigma_k^{-1})],
        a_k = N_k + dof + d + 2,
        B_k = scale + W_k + shrinkage N_k / (N_k + shrinkage) (xbar_k - mean)(xbar_k - mean)^T
    pi_k = (N_k + alpha - 1) / (N + K (alpha - 1))

so every covariance structure's own M-step finds the mode when handed ``B_k`` (in its scatter shape) and
``a_k``. For the unconstrained model (VVV, 'full') this is exactly mclust's posterior mode; for constrained
models mclust uses specialised priors (and supports fewer models), so MAP fits agree with mclust's only
for VVV.

EM then increases the log-posterior ``log p(X | theta) + log p(theta)``; :meth:`ConjugatePrior.log_density`
evaluates ``log p(theta)`` with the normalised densities above at the structure's dense covariances (for
constrained structures the restricted prior's normalising constant differs by a constant, which does not
affect monotonicity or the mode).

With values missing at random (``missing='em'``) the statistics ``N_k``, ``xbar_k`` and ``W_k`` are the
expected complete-data ones (:mod:`gaussmix.families.missing`), so the M-step above is unchanged and EM increases the
observed-data log-posterior ``sum_n log p(x_o,n | theta) + log p(theta)`` (the MAP version of Dempster, Laird &
Rubin 1977, sec. 4.4: the prior is a term of the Q function that does not involve the missing data).
"""

from __future__ import annotations

from dataclasses import dataclass

import numbers

import numpy as np
from scipy import linalg
from scipy.special import gammaln, multigammaln

from ..covariance import CovarianceStructure
from ..covariance._base import LOG_2PI
from ..params import MixtureParams
from ..stats import SufficientStatistics

__all__ = ["ConjugatePrior", "default_prior", "resolve_prior"]


@dataclass(frozen=True, eq=False)
class ConjugatePrior:
    """Dirichlet weights and normal-inverse-Wishart means and covariances.

    Parameters
    ----------
    shrinkage : float
        ``kappa > 0``: the prior on each mean is worth this many observations (mclust: 0.01).
    mean : ndarray of shape (n_features,)
        Prior mean of the component means, in the data's coordinates.
    dof : float
        Inverse-Wishart degrees of freedom, ``> n_features - 1`` (mclust: ``n_features + 2``).
    scale : ndarray of shape (n_features, n_features)
        Inverse-Wishart scale matrix, symmetric positive definite.
    dirichlet : float, default=1.0
        Symmetric Dirichlet concentration ``alpha >= 1`` on the weights (1: flat, mclust's choice).
    """

    shrinkage: float
    mean: np.ndarray
    dof: float
    scale: np.ndarray
    dirichlet: float = 1.0

    def check(self, n_features: int) -> None:
        """Raise ValueError naming the first invalid hyper-parameter for data with ``n_features`` columns."""
        if not (np.isfinite(self.shrinkage) and self.shrinkage > 0):
            raise ValueError(f"prior shrinkage must be positive and finite, got {self.shrinkage!r}")
        if not (np.isfinite(self.dirichlet) and self.dirichlet >= 1):
            raise ValueError(f"prior dirichlet concentration must be >= 1 (a posterior mode exists), got {self.dirichlet!r}")
        if not (np.isfinite(self.dof) and self.dof > n_features - 1):
            raise ValueError(f"prior dof must exceed n_features - 1 = {n_features - 1}, got {self.dof!r}")
        mean = np.asarray(self.mean, dtype=np.float64)
        if mean.shape != (n_features,) or not np.all(np.isfinite(mean)):
            raise ValueError(f"prior mean must be a finite vector of shape ({n_features},), got shape {mean.shape}")
        scale = np.asarray(self.scale, dtype=np.float64)
        if scale.shape != (n_features, n_features) or not np.all(np.isfinite(scale)):
            raise ValueError(f"prior scale must be a finite ({n_features}, {n_features}) matrix, got shape {scale.shape}")
        if not np.allclose(scale, scale.T) or np.linalg.eigvalsh(scale)[0] <= 0:
            raise ValueError("prior scale must be symmetric positive definite")

    # ------------------------------------------------------------------------------------- density
    def log_density(self, params: MixtureParams, structure: CovarianceStructure) -> float:
        """``log p(theta)``: Dirichlet on the weights plus, per component, normal and inverse-Wishart."""
        n_components, n_features = params.means.shape
        alpha = float(self.dirichlet)
        log_prior = gammaln(n_components * alpha) - n_components * gammaln(alpha)
        if alpha != 1.0:
            log_prior += (alpha - 1.0) * float(np.log(params.weights).sum())
        dense = structure.dense_covariances(params.covariances, n_components, n_features)
        deviations = params.means - (np.asarray(self.mean) - params.offset)
        scale = np.asarray(self.scale, dtype=np.float64)
        scale_factor = np.linalg.cholesky(scale)
        nu, kappa = float(self.dof), float(self.shrinkage)
        log_normaliser = (0.5 * nu * np.linalg.slogdet(scale)[1] - 0.5 * nu * n_features * np.log(2.0)
                          - multigammaln(0.5 * nu, n_features))
        for covariance, deviation in zip(dense, deviations):
            lower = np.linalg.cholesky(covariance)
            log_det = 2.0 * np.log(np.diagonal(lower)).sum()
            trace = np.sum(linalg.solve_triangular(lower, scale_factor, lower=True) ** 2)
            mahalanobis = np.sum(linalg.solve_triangular(lower, deviation, lower=True) ** 2)
            log_prior += log_normaliser - 0.5 * (nu + n_features + 1) * log_det - 0.5 * trace
            log_prior += 0.5 * n_features * (np.log(kappa) - LOG_2PI) - 0.5 * log_det - 0.5 * kappa * mahalanobis
        return float(log_prior)

    # -------------------------------------------------------------------------------------- M-step
    def maximize(self, stats: SufficientStatistics, params: MixtureParams, structure: CovarianceStructure,
                 reg_covar: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Posterior-mode weights, means (centred coordinates) and covariances (structure shape)."""
        counts, sums = stats.counts, stats.sums
        n_components, n_features = sums.shape
        kappa, alpha = float(self.shrinkage), float(self.dirichlet)
        prior_mean = np.asarray(self.mean, dtype=np.float64) - params.offset
        safe_counts = np.where(counts > 0, counts, 1.0)
        shifts = np.where(counts[:, None] > 0, sums / safe_counts[:, None], 0.0)  # xbar_k - m_k
        sample_means = params.means + shifts
        means = (counts[:, None] * sample_means + kappa * prior_mean) / (counts + kappa)[:, None]
        gap = sample_means - prior_mean
        # S_k - N_k delta delta^T is W_k (the structures' own shift correction); add the prior's terms.
        extra = (kappa * counts / (counts + kappa))[:, None, None] * gap[:, :, None] * gap[:, None, :]
        extra -= counts[:, None, None] * shifts[:, :, None] * shifts[:, None, :]
        extra += np.asarray(self.scale, dtype=np.float64)
        augmented = stats.scatter + _in_scatter_shape(structure, extra)
        pseudo_counts = counts + self.dof + n_features + 2.0
        covariances = structure.estimate_covariances(augmented, pseudo_counts, np.zeros_like(shifts), reg_covar)
        weights = (counts + alpha - 1.0) / (counts.sum() + n_components * (alpha - 1.0))
        return weights, means, covariances


def _in_scatter_shape(structure: CovarianceStructure, dense: np.ndarray) -> np.ndarray:
    """Per-component matrices (K, d, d) reduced to the structure's scatter statistic."""
    n_components, n_features, _ = dense.shape
    shape = tuple(structure.scatter_shape(n_components, n_features))
    if shape == dense.shape:
        return dense
    if structure.shared and shape == (n_features, n_features):
        return dense.sum(axis=0)
    if shape == (n_components, n_features):
        return np.diagonal(dense, axis1=1, axis2=2).copy()
    if shape == (n_components,):
        return np.trace(dense, axis1=1, axis2=2)
    raise NotImplementedError(f"the conjugate prior does not support covariance structure {structure!r}")


def default_prior(X, n_components: int, sample_weight=None) -> ConjugatePrior:
    """mclust's ``priorControl()`` default: shrinkage 0.01, mean the data mean, dof ``d + 2``,
    scale ``cov(X) / n_components^(2/d)``, flat Dirichlet.

    With missing values (NaN) the mean is each feature's mean over its observed values and ``cov(X)`` the
    pairwise-complete covariance (R's ``cov(use = "pairwise.complete.obs")``), or its diagonal where that is not
    positive definite (pairwise estimates need not be).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    n_components : int
    sample_weight : ndarray of shape (n_samples,), optional
        Weights for the mean and covariance (frequency weights).
    """
    X = np.asarray(X, dtype=np.float64)
    n_features = X.shape[1]
    weights = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if np.isnan(X).any():
        mean, covariance = _pairwise_complete_moments(X, weights)
    else:
        mean = np.average(X, axis=0, weights=weights)
        covariance = np.atleast_2d(np.cov(X, rowvar=False, fweights=None, aweights=weights, ddof=1))
    return ConjugatePrior(shrinkage=0.01, mean=mean, dof=n_features + 2.0,
                          scale=covariance / n_components ** (2.0 / n_features), dirichlet=1.0)


def resolve_prior(prior, X, n_components: int, sample_weight=None) -> ConjugatePrior | None:
    """The prior an estimator's ``prior`` parameter names: None, ``'default'`` or a ConjugatePrior (checked).

    ``X`` is an array (``'default'`` is computed from it) or, for data that are not in memory, an int:
    the number of features, which is enough to check a given ConjugatePrior.
    """
    if prior is None:
        return None
    in_memory = not isinstance(X, numbers.Integral)
    if isinstance(prior, str) and prior == "default":
        if not in_memory:
            raise ValueError("prior='default' is computed from data in memory; for out-of-core or Dask data "
                             "give a ConjugatePrior (e.g. gaussmix.families.priors.default_prior on a sample)")
        prior = default_prior(X, n_components, sample_weight)
    if not isinstance(prior, ConjugatePrior):
        raise ValueError(f"prior must be None, 'default' or a ConjugatePrior, got {prior!r}")
    prior.check(np.asarray(X).shape[1] if in_memory else int(X))
    return prior


def _pairwise_complete_moments(X: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Observed-value means (n_features,) and the pairwise-complete weighted covariance (n_features, n_features)
    of ``X`` with NaN: for each pair, ``np.cov``'s ``aweights``/``ddof=1`` formula on the rows observing both,
    ``sum w (x - xbar)(y - ybar) / (sum w - sum w^2 / sum w)``; its diagonal if that is not positive definite."""
    mask = ~np.isnan(X)
    present = mask.astype(np.float64)
    mean = (weights @ np.where(mask, X, 0.0)) / (weights @ present)
    centred = np.where(mask, X - mean, 0.0)  # about the observed means first: no raw moments of offset data
    weighted = present * weights[:, None]
    total = weighted.T @ present  # W_ij = sum_n w_n [i and j observed]
    sums = (weighted * centred).T @ present  # sum over rows observing both of w x_i: (i, j)
    products = (weighted * centred).T @ centred  # sum w x_i x_j (zero where either is missing)
    squares = (weighted * weights[:, None]).T @ present  # sum w^2 over rows observing both
    usable = (present.T @ present >= 2) & (total > 0)  # a pair never (or once) seen together: no correlation
    safe = np.where(usable, total, 1.0)
    covariance = np.where(usable, (products - sums * sums.T / safe) / (safe - squares / safe), 0.0)
    if np.linalg.eigvalsh(covariance)[0] <= 0:
        covariance = np.diag(np.diagonal(covariance))
    return mean, covariance
